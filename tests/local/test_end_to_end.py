"""The whole system on the local stack: HTTP API → DynamoDB + SQS → Pipe → Express state
machine → Lambdas → DynamoDB, with redelivery, dead-lettering and recovery as SQS does them.

The stack (tests/conftest.py) runs with a 4 s visibility timeout, a 3 s lease and
maxReceiveCount 3, so recovery paths take seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.jobs import new_job_id
from cloudqueue.models import Job, JobStatus, utc_now
from cloudqueue_local.stack import LocalStack

HAPPY_PATH = ["ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordSuccess", "Done"]


def wait_for(check: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)


def submit(api: httpx.Client, job_type: str, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = api.post("/jobs", json={"type": job_type, "payload": payload}, headers=headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def finished(api: httpx.Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = api.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    return dict(wait_for(done, timeout))


def aws(stack: LocalStack, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_concurrent_submits_all_succeed_with_correct_results(api: httpx.Client) -> None:
    texts = [f"hello cloudqueue number {index}" for index in range(40)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        jobs = list(pool.map(lambda text: submit(api, "text.transform", {"text": text}), texts))

    assert len({job["jobId"] for job in jobs}) == len(texts)
    for job, text in zip(jobs, texts, strict=True):
        done = finished(api, job["jobId"])
        assert done["status"] == "SUCCEEDED"
        expected = {"originalLength": len(text), "uppercase": text.upper(), "wordCount": 4}
        assert done["result"] == expected, done
        assert done["attempts"] == 1, done
        # and it ran once, first time: no execution of it failed and had to be redelivered.
        assert len(done["executions"]) == 1, done


def test_submit_answers_at_once_with_location(api: httpx.Client) -> None:
    response = api.post("/jobs", json={"type": "text.transform", "payload": {"text": "hi"}})

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "QUEUED"
    assert response.headers["location"] == f"/jobs/{job['jobId']}"
    assert api.get(response.headers["location"]).status_code == 200


def test_history_lists_each_step_with_timings(api: httpx.Client) -> None:
    job = submit(api, "text.transform", {"text": "history please"})
    finished(api, job["jobId"])

    history = api.get(f"/jobs/{job['jobId']}/history").json()

    assert history["status"] == "SUCCEEDED"
    (execution,) = history["executions"]
    assert execution["status"] == "SUCCEEDED"
    assert [step["name"] for step in execution["steps"]] == HAPPY_PATH
    assert all(step["enteredAt"] and step["durationMs"] is not None for step in execution["steps"])
    assert execution["events"][0]["type"] == "ExecutionStarted"
    assert execution["events"][-1]["type"] == "ExecutionSucceeded"


def test_retries_and_failures_show_in_the_history(api: httpx.Client) -> None:
    flaky = submit(api, "demo.flaky", {"failTimes": 1})
    failing = submit(api, "demo.fail", {"reason": "no such thing"})

    assert finished(api, flaky["jobId"])["status"] == "SUCCEEDED"
    failed = finished(api, failing["jobId"])

    assert failed["error"] == {"type": "PermanentJobError", "message": "no such thing"}
    process = next(
        step
        for step in api.get(f"/jobs/{flaky['jobId']}/history").json()["executions"][0]["steps"]
        if step["name"] == "ProcessJob"
    )
    assert process["retries"] == 1
    assert process["failures"][0]["message"] == "simulated transient failure 1 of 1"


def test_duplicate_message_for_a_finished_job_changes_nothing_and_is_consumed(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    job = submit(api, "text.transform", {"text": "only once"})
    before = finished(api, job["jobId"])

    # SQS delivers at least once: the same message again, straight onto the queue.
    aws(local_stack, "sqs").send_message(
        QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=json.dumps({"jobId": job["jobId"]})
    )

    def duplicate_handled() -> dict[str, Any] | None:
        """The duplicate's execution, once it ended (the Pipe deletes the message of an execution
        that SUCCEEDED)."""
        executions = api.get(f"/jobs/{job['jobId']}/history").json()["executions"]
        ended = len(executions) == 2 and executions[1]["status"] != "RUNNING"
        return executions[1] if ended else None

    duplicate = wait_for(duplicate_handled)
    assert duplicate["status"] == "SUCCEEDED"
    assert duplicate["steps"][-1]["name"] == "AlreadyHandled"
    after = api.get(f"/jobs/{job['jobId']}").json()
    assert {key: after[key] for key in ("status", "attempts", "result", "finishedAt", "updatedAt")} == {
        key: before[key] for key in ("status", "attempts", "result", "finishedAt", "updatedAt")
    }
    assert "ProcessJob" not in [step["name"] for step in duplicate["steps"]], "the job ran again"


def test_poison_message_is_dead_lettered_and_its_job_ends_failed(
    api: httpx.Client, local_stack: LocalStack, faults: dict[str, Any]
) -> None:
    # Given a job whose claim always fails (its message is poison for the workflow),
    local_stack.pause()  # so that the fault is in place before its first delivery
    job = submit(api, "text.transform", {"text": "poison"})
    claims: dict[str, list[str]] = {}  # message id → the receive counts its claims saw
    dead_letters: list[dict[str, Any]] = []

    def outage_for_this_job(event: dict[str, Any]) -> None:
        message = event["message"]
        if job["jobId"] in message["body"]:
            claims.setdefault(message["messageId"], []).append(message["receiveCount"])
            raise ConnectionError("the table is unreachable for this job")

    def spy(event: dict[str, Any]) -> None:
        dead_letters.extend(event["Records"])

    faults["ClaimFunction"] = outage_for_this_job
    faults["DeadLetterFunction"] = spy
    local_stack.resume()

    # then after maxReceiveCount (3) receives SQS moves it to the dead-letter queue,
    failed = finished(api, job["jobId"], timeout=40)
    record = next(record for record in dead_letters if job["jobId"] in record["body"])
    assert record["eventSourceARN"].endswith("-dlq")
    assert claims[record["messageId"]] == ["1", "2", "3"]
    # and the dead-letter function marks the job FAILED with a reason that says so.
    assert failed["status"] == "FAILED"
    assert failed["error"]["type"] == "DeadLettered"
    assert "dead-letter queue" in failed["error"]["message"]


def test_unreadable_message_is_tried_max_receive_count_times_then_dead_lettered(
    local_stack: LocalStack, faults: dict[str, Any]
) -> None:
    body = f"{{not json {new_job_id()}"  # this test's own message, among whatever else is queued
    tries: list[str] = []  # the receive count each claim of it saw
    dead_letters: list[dict[str, Any]] = []

    def count_tries(event: dict[str, Any]) -> None:
        if event["message"]["body"] == body:
            tries.append(event["message"]["receiveCount"])  # then the real claim refuses it

    faults["ClaimFunction"] = count_tries
    faults["DeadLetterFunction"] = lambda event: dead_letters.extend(event["Records"])

    aws(local_stack, "sqs").send_message(QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=body)

    # It does not loop: after maxReceiveCount (3) failed executions SQS moves it to the
    # dead-letter queue, where the dead-letter function gets it.
    record = wait_for(lambda: [record for record in dead_letters if record["body"] == body], timeout=40)[0]
    assert record["eventSourceARN"].endswith("-dlq")
    assert tries == ["1", "2", "3"]


def test_worker_killed_mid_job_is_completed_after_its_lease(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job whose worker is running,
    job = submit(api, "demo.sleep", {"seconds": 1.5})
    running = wait_for(
        lambda: (
            api.get(f"/jobs/{job['jobId']}").json()["status"] == "IN_PROGRESS"
            and api.get(f"/jobs/{job['jobId']}").json()
        )
    )
    first_execution = running["executions"][0]

    # when its execution is killed (the worker dies and never records anything),
    aws(local_stack, "stepfunctions").stop_execution(executionArn=first_execution, error="WorkerKilled")

    # then SQS redelivers the message, the job is re-claimed once its lease expired, and finished.
    done = finished(api, job["jobId"], timeout=40)
    assert done["status"] == "SUCCEEDED"
    assert done["result"] == {"sleptSeconds": 1.5}
    assert done["attempts"] == 2
    executions = api.get(f"/jobs/{job['jobId']}/history").json()["executions"]
    assert [execution["status"] for execution in executions] == ["ABORTED", "SUCCEEDED"]


def test_cancel_only_while_queued(api: httpx.Client, local_stack: LocalStack) -> None:
    local_stack.pause()  # nothing takes the job while we cancel it
    try:
        job = submit(api, "text.transform", {"text": "changed my mind"})
        cancelled = api.delete(f"/jobs/{job['jobId']}")
        again = api.delete(f"/jobs/{job['jobId']}")
    finally:
        local_stack.resume()

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancellable"
    # Its message is still delivered, and skipped: the job stays CANCELLED.
    wait_for(lambda: len(api.get(f"/jobs/{job['jobId']}").json()["executions"]) == 1)
    assert api.get(f"/jobs/{job['jobId']}").json()["status"] == "CANCELLED"

    finished_job = submit(api, "text.transform", {"text": "too late"})
    finished(api, finished_job["jobId"])
    assert api.delete(f"/jobs/{finished_job['jobId']}").status_code == 409


def test_idempotency_key_returns_the_same_job_and_refuses_another_body(api: httpx.Client) -> None:
    body = {"type": "text.transform", "payload": {"text": "exactly once"}}
    key = f"order-{new_job_id()}"  # a key of this test's own in the shared stack

    first = api.post("/jobs", json=body, headers={"Idempotency-Key": key})
    retry = api.post("/jobs", json=body, headers={"Idempotency-Key": key})
    other = api.post(
        "/jobs",
        json={"type": "text.transform", "payload": {"text": "else"}},
        headers={"Idempotency-Key": key},
    )

    assert first.status_code == 202
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["jobId"] == first.json()["jobId"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    listed = api.get("/jobs", params={"limit": 100}).json()["jobs"]
    assert [job["jobId"] for job in listed if job.get("idempotencyKey") == key] == [first.json()["jobId"]]


def test_stranded_queued_job_is_reenqueued(api: httpx.Client, local_stack: LocalStack) -> None:
    # Given a job written QUEUED whose message was never sent (the API died in between),
    store = DynamoJobStore(local_stack.table_name(), shards=4)
    now = utc_now()
    job = Job(
        job_id=new_job_id(),
        type="text.transform",
        payload={"text": "stranded"},
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
    )
    store.create_job(job)

    # then the sweeper (StaleQueuedSeconds 5, every 2 s in the tests) sends it again and it runs.
    done = finished(api, job.job_id, timeout=30)
    assert done["status"] == "SUCCEEDED"
    assert done["result"]["uppercase"] == "STRANDED"


def test_bad_requests_get_clear_errors_and_change_nothing(api: httpx.Client) -> None:
    # Job ids sort by creation time: a job made by these requests would sort after this one.
    started = new_job_id()

    cases = [
        (
            api.post("/jobs", content=b"{nope", headers={"content-type": "application/json"}),
            400,
            "malformed_json",
        ),
        (api.post("/jobs", json={"type": "no.such", "payload": {}}), 422, "unknown_job_type"),
        (
            api.post("/jobs", json={"type": "text.transform", "payload": {"text": ""}}),
            422,
            "validation_error",
        ),
        (
            api.post("/jobs", json={"type": "text.transform", "payload": {"text": "x" * 70_000}}),
            413,
            "request_too_large",
        ),
        (api.get("/jobs/not-a-job"), 404, "job_not_found"),
        (api.get("/jobs", params={"status": "DONE"}), 422, "validation_error"),
        (api.get("/jobs", params={"nextToken": "garbage"}), 400, "invalid_next_token"),
    ]

    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    newest = api.get("/jobs", params={"limit": 1}).json()["jobs"]
    assert [job["jobId"] for job in newest if job["jobId"] > started] == []


def test_aws_endpoint_serves_the_local_resources(local_stack: LocalStack) -> None:
    queues = aws(local_stack, "sqs").list_queues()["QueueUrls"]
    tables = aws(local_stack, "dynamodb").list_tables()["TableNames"]
    machines = aws(local_stack, "stepfunctions").list_state_machines()["stateMachines"]
    functions = {
        function["FunctionName"] for function in aws(local_stack, "lambda").list_functions()["Functions"]
    }

    assert {url.rsplit("/", 1)[-1] for url in queues} >= {
        "cloudqueue-local-jobs",
        "cloudqueue-local-jobs-dlq",
    }
    assert "cloudqueue-local-jobs" in tables
    assert [machine["type"] for machine in machines if machine["name"] == "cloudqueue-local-jobs"] == [
        "EXPRESS"
    ]
    assert {
        f"cloudqueue-local-{name}Function" for name in ("Api", "Claim", "Process", "Finalize")
    } <= functions


def test_lambda_invoke_on_the_aws_endpoint_runs_the_real_handler(local_stack: LocalStack) -> None:
    response = aws(local_stack, "lambda").invoke(
        FunctionName="cloudqueue-local-ProcessFunction",
        Payload=json.dumps({"jobId": "j", "type": "text.transform", "payload": {"text": "via moto"}}),
    )

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "originalLength": 8,
        "uppercase": "VIA MOTO",
        "wordCount": 2,
    }
