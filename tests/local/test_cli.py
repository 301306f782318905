"""The `cloudqueue` CLI, run as a user runs it (a subprocess), against the session's local stack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.models import Job, JobStatus, utc_now
from cloudqueue_local.devtools.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def cli_environment(stack: LocalStack | None) -> dict[str, str]:
    """This process's variables, pointing the CLI at ``stack`` (None: at no stack given)."""
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    if stack is not None:
        env |= {"CLOUDQUEUE_API_URL": stack.api_url, "CLOUDQUEUE_AWS_URL": str(stack.aws_url)}
    return env


def cloudqueue(
    stack: LocalStack | None, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudqueue_local.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_environment(stack),
        cwd=ROOT,
        check=False,
    )


def start_cloudqueue(stack: LocalStack | None, *args: str) -> subprocess.Popen[str]:
    """``cloudqueue ARGS`` running in the background, its stderr merged into its stdout."""
    return subprocess.Popen(
        [sys.executable, "-m", "cloudqueue_local.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=cli_environment(stack),
    )


def wait_until_succeeded(api: httpx.Client, job_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (status := api.get(f"/jobs/{job_id}").json()["status"]) != "SUCCEEDED":
        assert time.monotonic() < deadline, f"job {job_id} is still {status} after {timeout}s"
        time.sleep(0.1)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_submit_wait_prints_the_result(local_stack: LocalStack) -> None:
    result = cloudqueue(local_stack, "submit", "text.transform", '{"text": "hello cloudqueue"}', "--wait")

    assert result.returncode == 0, result.stderr
    assert "SUCCEEDED" in result.stdout
    assert "HELLO CLOUDQUEUE" in result.stdout
    assert re.search(r"\d\d:\d\d:\d\d SUCCEEDED \(attempts 1\)", result.stderr)  # progress is shown


def test_submit_wait_exits_nonzero_when_the_job_failed(local_stack: LocalStack) -> None:
    result = cloudqueue(local_stack, "submit", "demo.fail", '{"reason": "nope"}', "--wait")

    assert result.returncode == 1
    assert "FAILED" in result.stdout and "PermanentJobError: nope" in result.stdout


def test_submit_prints_the_id_at_once_and_status_list_history_follow(
    local_stack: LocalStack, api: httpx.Client
) -> None:
    submitted = cloudqueue(
        local_stack, "submit", "text.transform", '{"text": "cli"}', "--idempotency-key", "cli-1"
    )
    job_id = submitted.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", job_id), submitted.stdout
    replay = cloudqueue(
        local_stack, "submit", "text.transform", '{"text": "cli"}', "--idempotency-key", "cli-1"
    )
    assert replay.stdout.strip() == job_id

    wait_until_succeeded(api, job_id)

    status = cloudqueue(local_stack, "status", job_id, "--json")
    assert json.loads(status.stdout)["result"]["uppercase"] == "CLI"
    listed = cloudqueue(local_stack, "list", "--status", "succeeded", "--limit", "100", "--json")
    assert job_id in {job["jobId"] for job in json.loads(listed.stdout)["jobs"]}
    table = cloudqueue(local_stack, "list", "--status", "succeeded", "--limit", "100")
    (row,) = [line for line in table.stdout.splitlines() if job_id in line]
    assert re.search(r"text\.transform\s*│\s*SUCCEEDED\s*│\s*1\s*│", row), table.stdout
    history = cloudqueue(local_stack, "history", job_id)
    assert history.returncode == 0
    steps = [line.split("│")[1].strip() for line in history.stdout.splitlines() if line.count("│") > 2]
    assert steps == ["ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordSuccess", "Done"]


def test_cancel_and_types(local_stack: LocalStack) -> None:
    local_stack.pause()
    try:
        job_id = cloudqueue(local_stack, "submit", "demo.sleep", '{"seconds": 1}').stdout.strip()
        cancelled = cloudqueue(local_stack, "cancel", job_id)
        again = cloudqueue(local_stack, "cancel", job_id)
    finally:
        local_stack.resume()
    types = cloudqueue(local_stack, "types")

    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout
    assert again.returncode == 1 and "job_not_cancellable" in again.stderr
    for name in ("text.transform", "demo.flaky", "demo.fail", "demo.sleep"):
        assert name in types.stdout


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("submit", "text.transform", "{not json"), 2, "not valid JSON"),
        (("submit", "no.such.type", "{}"), 1, "unknown_job_type"),
        (("submit", "text.transform", '{"text": ""}'), 1, "validation_error"),
        (("status", "01900000-0000-7000-8000-000000000000"), 1, "job_not_found"),
        (("list", "--status", "DONE"), 1, "validation_error"),
        (
            ("invoke", "NoSuchFunction", "--event", "events/ApiFunction.json"),
            1,
            "no function 'NoSuchFunction'",
        ),
        (("invoke", "ApiFunction", "--event", "events/missing.json"), 2, "no file"),
        (("execute",), 2, "exactly one of"),
        (("dev", "--param", "NoSuchParameter=1", "--port", "0", "--aws-port", "0"), 2, "NoSuchParameter"),
        (
            ("dev", "--param", "LeaseSeconds=1", "--port", "0", "--aws-port", "0"),
            2,
            "timing rule broken: WorkflowTimeoutSeconds (240) <= LeaseSeconds (1)",
        ),
        (("dlq", "delete", "no-such-message"), 1, "no message no-such-message"),
    ],
)
def test_bad_input_gets_a_clear_message_and_a_nonzero_exit(
    local_stack: LocalStack, args: tuple[str, ...], code: int, says: str
) -> None:
    result = cloudqueue(local_stack, *args)

    assert result.returncode == code, (result.stdout, result.stderr)
    assert says in result.stdout + result.stderr
    no_traceback(result)


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("status", "x", "--api-url", "http://127.0.0.1:9"), "the API at http://127.0.0.1:9"),
        (("rerun", "x", "--api-url", "http://127.0.0.1:9"), "the API at http://127.0.0.1:9"),
        (
            (
                "invoke",
                "ClaimFunction",
                "--event",
                "events/ClaimFunction.json",
                "--aws-url",
                "http://127.0.0.1:9",
            ),
            "the AWS endpoint at http://127.0.0.1:9",
        ),
        (
            ("invoke", "ClaimFunction", "--job-id", "x", "--aws-url", "http://127.0.0.1:9"),
            "the AWS endpoint at http://127.0.0.1:9",
        ),
        (("dlq", "list", "--aws-url", "http://127.0.0.1:9"), "the AWS endpoint at http://127.0.0.1:9"),
    ],
)
def test_no_stack_running_is_said_in_one_line_with_how_to_start_it(args: tuple[str, ...], what: str) -> None:
    result = cloudqueue(None, *args)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"cannot reach {what}" in line and "make dev" in line
    assert result.stdout == ""
    no_traceback(result)


def test_rerun_wait_follows_the_failed_job_through_its_second_run(local_stack: LocalStack) -> None:
    failed = cloudqueue(local_stack, "submit", "demo.fail", '{"reason": "twice"}', "--wait", "--json")
    job_id = json.loads(failed.stdout)["jobId"]

    rerun = cloudqueue(local_stack, "rerun", job_id, "--wait")

    assert rerun.returncode == 1, rerun.stderr  # FAILED again
    assert f"rerun {job_id}" in rerun.stderr
    assert "attempts 2" in rerun.stdout
    assert "run 1  FAILED  attempts 1-1: PermanentJobError: twice" in rerun.stdout
    again = cloudqueue(local_stack, "rerun", "01900000-0000-7000-8000-000000000000")
    assert again.returncode == 1 and "job_not_found" in again.stderr


def test_dlq_list_and_redrive(local_stack: LocalStack, api: httpx.Client) -> None:
    # Given a dead-lettered message whose job never ran (the dead-letter function paused),
    store = DynamoJobStore(local_stack.table_name())
    now = utc_now()
    job = Job(
        job_id="01900000-0000-7000-8000-00000000dead",
        type="text.transform",
        payload={"text": "back again"},
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
    )
    local_stack.pause()
    try:
        store.create_job(job)
        import boto3

        boto3.client("sqs", region_name="us-east-1").send_message(
            QueueUrl=local_stack.queue_url("DeadLetterQueue"), MessageBody=json.dumps({"jobId": job.job_id})
        )
        listed = cloudqueue(local_stack, "dlq", "list", "--json")
        listed_again = cloudqueue(local_stack, "dlq", "list", "--json")
        redriven = cloudqueue(local_stack, "dlq", "redrive")
    finally:
        local_stack.resume()

    # then `dlq list` shows it without consuming it, and `dlq redrive` sends it back to run
    # (this job's message only: other tests' dead letters share the stack's queues).
    def this_jobs(listing: subprocess.CompletedProcess[str]) -> list[str]:
        return [
            message["queue"] for message in json.loads(listing.stdout) if job.job_id in message["firstBytes"]
        ]

    assert this_jobs(listed) == ["dead-letter"]
    assert this_jobs(listed_again) == ["dead-letter"]
    assert re.search(r"moved [1-9]\d* message", redriven.stdout), redriven.stdout
    wait_until_succeeded(api, job.job_id)
    assert this_jobs(cloudqueue(local_stack, "dlq", "list", "--json")) == []


def test_dlq_list_shows_a_poison_message_and_delete_and_purge_remove_them(local_stack: LocalStack) -> None:
    # Given two messages that name no job, sent to the job queue
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies = [f"poison {n} " + "x" * 200 for n in range(2)]
    for body in bodies:
        sqs.send_message(QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=body)

    # When their first delivery has kept them (no redelivery, no dead-letter queue),
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(cloudqueue(local_stack, "dlq", "list", "--json").stdout)
        poison = [
            message for message in listed if message["firstBytes"].split(" x")[0] in {"poison 0", "poison 1"}
        ]
        if len(poison) == 2:
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.5)

    # then `dlq list` shows each with its receive count (one) and its first bytes,
    assert {message["queue"] for message in poison} == {"poison"}
    assert [message["receiveCount"] for message in poison] == [1, 1]
    assert sorted(message["firstBytes"] for message in poison) == [body[:80] for body in bodies]
    assert all(message["reason"].startswith("queue message is not a job message") for message in poison)
    # each with the job queue's id of its message, by which copies of one message are told
    assert len({message["originalMessageId"] for message in poison}) == 2
    assert {message["originalMessageId"] for message in poison}.isdisjoint(m["messageId"] for m in poison)
    # the job queue is empty (each execution succeeded, and the Pipe deleted its message),
    counts = sqs.get_queue_attributes(
        QueueUrl=local_stack.queue_url("JobQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    # `dlq delete ID` removes one, and `dlq purge` the rest.
    deleted = cloudqueue(local_stack, "dlq", "delete", poison[0]["messageId"])
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    remaining = json.loads(cloudqueue(local_stack, "dlq", "list", "--json").stdout)
    assert poison[0]["messageId"] not in {message["messageId"] for message in remaining}
    purged = cloudqueue(local_stack, "dlq", "purge")
    assert purged.returncode == 0 and "deleted" in purged.stdout
    assert [
        m
        for m in json.loads(cloudqueue(local_stack, "dlq", "list", "--json").stdout)
        if m["queue"] == "poison"
    ] == []


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def test_invoke_runs_every_function_with_its_sample_event(local_stack: LocalStack) -> None:
    # Given the sample events' job in the local table, QUEUED (the pipe paused, so we drive it).
    claim_event = _sample("ClaimFunction")
    job_id = json.loads(claim_event["message"]["body"])["jobId"]
    store = DynamoJobStore(local_stack.table_name())
    now = utc_now()
    local_stack.pause()
    try:
        store.create_job(
            Job(
                job_id=job_id,
                type="text.transform",
                payload={"text": "hello cloudqueue"},
                status=JobStatus.QUEUED,
                created_at=now,
                updated_at=now,
            )
        )
        results = {}
        for name in ("ApiFunction", "ClaimFunction", "ProcessFunction"):
            results[name] = cloudqueue(local_stack, "invoke", name, "--event", f"events/{name}.json")
        # The finalize sample carries its own lease token: give the claimed job that token.
        finalize_event = _sample("FinalizeFunction")
        store.client.update_item(
            TableName=store.table_name,
            Key={"jobId": {"S": job_id}},
            UpdateExpression="SET leaseToken = :token",
            ExpressionAttributeValues={":token": {"S": finalize_event["leaseToken"]}},
        )
        for name in ("FinalizeFunction", "DeadLetterFunction", "RequeueFunction"):
            results[name] = cloudqueue(local_stack, "invoke", name, "--event", f"events/{name}.json")
    finally:
        local_stack.resume()

    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr[-2000:])
    assert json.loads(results["ApiFunction"].stdout)["statusCode"] == 202
    assert json.loads(results["ClaimFunction"].stdout)["outcome"] == "CLAIMED"
    assert json.loads(results["ProcessFunction"].stdout)["uppercase"] == "HELLO CLOUDQUEUE"
    assert json.loads(results["FinalizeFunction"].stdout)["status"] == "SUCCEEDED"
    assert json.loads(results["DeadLetterFunction"].stdout) == {"batchItemFailures": []}
    assert "sent" in json.loads(results["RequeueFunction"].stdout)
    finished = store.get_job(job_id, consistent=True)
    assert finished is not None and finished.status is JobStatus.SUCCEEDED


def test_execute_runs_the_state_machine_once_and_prints_its_history(
    local_stack: LocalStack, api: httpx.Client, tmp_path: Path
) -> None:
    job_id = api.post("/jobs", json={"type": "text.transform", "payload": {"text": "x"}}).json()["jobId"]
    wait_until_succeeded(api, job_id)

    again = cloudqueue(local_stack, "execute", "--job-id", job_id)
    unknown = tmp_path / "input.json"
    unknown.write_text(
        json.dumps(
            [
                {
                    "messageId": "m",
                    "body": json.dumps({"jobId": "nope"}),
                    "attributes": {"ApproximateReceiveCount": "1"},
                }
            ]
        )
    )
    unknown_run = cloudqueue(local_stack, "execute", "--input", str(unknown))

    assert again.returncode == 0, again.stderr
    assert "AlreadyHandled" in again.stdout and "ExecutionSucceeded" in again.stdout
    # A message that names no job is kept as poison, and its execution succeeds.
    assert unknown_run.returncode == 0, unknown_run.stderr
    assert "PoisonMessageKept" in unknown_run.stdout and "ExecutionSucceeded" in unknown_run.stdout
    assert cloudqueue(local_stack, "dlq", "purge").returncode == 0


def test_dev_starts_serves_and_stops_cleanly_on_sigint() -> None:
    process = start_cloudqueue(None, "dev", "--port", "0", "--aws-port", "0")
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C to stop"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(120), "".join(lines)  # a generous deadline: the machine may be busy
        api_url = next(
            re.search(r"API\s+(\S+)", line).group(1) for line in lines if line.strip().startswith("API")
        )
        assert any(line.strip().startswith("AWS") for line in lines)
        with httpx.Client(base_url=api_url, timeout=10) as client:
            job = client.post("/jobs", json={"type": "demo.sleep", "payload": {"seconds": 1}}).json()
            deadline = time.monotonic() + 60
            while (status := client.get(f"/jobs/{job['jobId']}").json()["status"]) != "IN_PROGRESS":
                assert status == "QUEUED" and time.monotonic() < deadline, f"the job is {status}"
                time.sleep(0.05)

        # When Ctrl-C arrives with an execution in flight,
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)  # a drain of at most 10 s, then shutdown; a busy machine
    finally:
        if process.poll() is None:
            process.kill()

    # then it lets the job's execution finish (it is the only one) and exits 0.
    output = "".join(lines)
    assert code == 0, output[-3000:]
    assert "in flight when stopping: 1 execution(s) succeeded, 0 failed\n" in output, output[-3000:]
    assert output.endswith("\nstopped\n"), output[-3000:]
    # The console showed the job's events, and not the functions' logs (those need --verbose).
    assert re.search(rf"{job['jobId']} demo\.sleep +QUEUED → IN_PROGRESS\n", output), output[-3000:]
    assert "START RequestId" not in output


def test_invoking_the_claim_with_an_event_for_no_job_says_how_to_use_a_real_one(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    event = _sample("ClaimFunction")
    event["message"]["body"] = json.dumps({"jobId": "01900000-0000-7000-8000-00000000beef"})
    (tmp_path / "claim.json").write_text(json.dumps(event))

    result = cloudqueue(local_stack, "invoke", "ClaimFunction", "--event", str(tmp_path / "claim.json"))

    # The sample's message is older than the submit grace: the claim keeps it as poison without
    # work (a tombstone makes sure such a job is never written later), and says how to use a
    # real job.
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["outcome"], answer["jobId"]) == ("POISON", "01900000-0000-7000-8000-00000000beef")
    assert answer["reason"].startswith("no such job")
    assert "--job-id ID" in result.stderr
    kept = json.loads(cloudqueue(local_stack, "dlq", "list", "--json").stdout)
    assert [m["reason"] for m in kept if m["queue"] == "poison"] == [answer["reason"]]
    assert cloudqueue(local_stack, "dlq", "purge").returncode == 0
