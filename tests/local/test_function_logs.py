"""The functions' logs where AWS keeps them (/aws/lambda/<FunctionName> on the local AWS
endpoint), `cloudqueue logs`, and the dev console's one line per job event."""

from __future__ import annotations

import json
import math
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from cloudqueue_local.client.logs import Source, parse_since, read
from cloudqueue_local.devtools.console import JobEvents
from cloudqueue_local.devtools.stack import LocalStack
from cloudqueue_local.ops import cost
from tests.local.test_cli import cloudqueue, no_traceback, start_cloudqueue, wait_until_succeeded
from tests.local.test_end_to_end import aws

STREAM_NAME = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


def platform_event(line: str, kind: str) -> dict[str, Any] | None:
    """The record of Lambda's JSON ``platform.<kind>`` line (LogFormat JSON), else None."""
    if not line.startswith('{"time":'):
        return None
    event = json.loads(line)
    if event.get("type") != f"platform.{kind}":
        return None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"]), event
    record: dict[str, Any] = event["record"]
    return record


def is_platform(line: str, kind: str, request_id: str) -> bool:
    record = platform_event(line, kind)
    return record is not None and record["requestId"] == request_id


@pytest.fixture
def logs(local_stack: LocalStack) -> Any:
    return aws(local_stack, "logs")


def group_of(stack: LocalStack, logical_id: str) -> str:
    return f"/aws/lambda/{stack.template.functions[logical_id].name}"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"still no {what} after {timeout}s"
        time.sleep(0.1)
    return value


def submit(api: httpx.Client, text: str) -> str:
    response = api.post("/jobs", json={"type": "text.transform", "payload": {"text": text}})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


def stream_lines(logs: Any, group: str, stream: str) -> list[str]:
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]


def invocation_of(logs: Any, group: str, job_id: str) -> tuple[str, str, list[str]]:
    """The stream, request id and lines (START..REPORT) of the invocation that logged ``job_id``
    as its Powertools correlation id."""

    def found() -> tuple[str, str, list[str]] | None:
        events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{job_id}"')["events"]
        mine = [event for event in events if f'"correlation_id":"{job_id}"' in event["message"]]
        if not mine:
            return None
        stream = mine[0]["logStreamName"]
        request_id = json.loads(mine[0]["message"])["function_request_id"]
        lines = stream_lines(logs, group, stream)
        starts = [i for i, line in enumerate(lines) if is_platform(line, "start", request_id)]
        reports = [i for i, line in enumerate(lines) if is_platform(line, "report", request_id)]
        if not starts or not reports:
            return None  # its REPORT line is not written yet
        return stream, request_id, lines[starts[0] : reports[0] + 1]

    result: tuple[str, str, list[str]] = wait_for(found, f"invocation logging {job_id} in {group}")
    return result


def run_job(api: httpx.Client, logs: Any, group: str, text: str) -> tuple[str, tuple[str, str, list[str]]]:
    """Submit a job; once it SUCCEEDED and its invocation's lines are in ``group``, its id and them."""
    job_id = submit(api, text)
    wait_until_succeeded(api, job_id)
    return job_id, invocation_of(logs, group, job_id)


def logged_bytes(invocation: list[str]) -> int:
    """What CloudWatch Logs ingests for these lines: each message and its event's metadata."""
    return sum(len(line.encode()) + cost.EVENT_METADATA_BYTES for line in invocation)


def last_invocation_of(logs: Any, group: str, job_id: str) -> list[str]:
    """The lines (platform.start..platform.report) of the last invocation in ``group`` that
    logged ``job_id``, read as `cloudqueue logs --job-id` reads them."""

    def found() -> list[str] | None:
        lines = list(read(Source(logs, group), since_seconds=600, job_id=job_id))
        reports = [i for i, line in enumerate(lines) if platform_event(line.message, "report")]
        if not reports:
            return None
        starts = [i for i, line in enumerate(lines[: reports[-1]]) if platform_event(line.message, "start")]
        return [line.message for line in lines[starts[-1] : reports[-1] + 1]]

    invocation: list[str] = wait_for(found, f"an invocation logging {job_id} in {group}")
    return invocation


def test_the_cost_models_function_log_bytes_per_job_are_within_a_tenth_of_what_a_job_logs(
    local_stack: LocalStack, api: httpx.Client, logs: Any
) -> None:
    # Given one job run end to end on warm environments (the model counts a job's steady-state
    # lines, not an environment's first: with LogFormat JSON the SDK's INFO lines as it starts
    # are logged too), and the invocations that logged it: its submit, and the claim, process
    # and finalize that ran it (a claim retried before the API's write is logged too, so the last)
    wait_until_succeeded(api, submit(api, "warm up"))
    job_id = submit(api, "hello cloudqueue")
    wait_until_succeeded(api, job_id)
    functions = ("ApiFunction", "ClaimFunction", "ProcessFunction", "FinalizeFunction")
    logged = sum(
        logged_bytes(last_invocation_of(logs, group_of(local_stack, name), job_id)) for name in functions
    )

    # When the cost model estimates the same job's function logs, with the stack's parameters
    # (the reads are the test's own)
    stack = cost.Stack.read(local_stack.template.path, local_stack.template.parameters)
    estimate = cost.function_log_bytes(stack, reads_per_job=0)

    # Then it is near what was logged (the lines differ by a few digits of duration, and a cold
    # start's Init Duration; the uncalibrated estimate was 1.16 times this)
    assert 0.9 * logged <= estimate <= 1.1 * logged, (estimate, logged)


def test_the_claim_functions_log_group_has_lambdas_json_lines_around_its_powertools_lines(
    local_stack: LocalStack, api: httpx.Client, logs: Any
) -> None:
    group = group_of(local_stack, "ClaimFunction")

    job_id, (stream, request_id, lines) = run_job(api, logs, group, "logged where AWS keeps it")

    # (LogFormat JSON: Lambda's lines are platform.start and platform.report, and no END line)
    assert STREAM_NAME.fullmatch(stream)
    assert platform_event(lines[0], "start") == {"requestId": request_id, "version": "$LATEST"}
    report = platform_event(lines[-1], "report")
    assert report is not None
    assert (report["requestId"], report["status"]) == (request_id, "success")
    metrics = report["metrics"]
    memory = local_stack.template.functions["ClaimFunction"].memory
    assert metrics["memorySizeMB"] == memory
    assert metrics["billedDurationMs"] == math.ceil(metrics["durationMs"])
    assert 0 < metrics["maxMemoryUsedMB"] < memory
    between = [json.loads(line) for line in lines[1:-1]]  # Powertools: Logger's lines, Metrics' EMF
    logged = [line for line in between if "level" in line]
    assert logged, f"no Powertools Logger lines between START and END: {lines}"
    assert all(line["function_request_id"] == request_id for line in logged)
    assert any(line["message"] == "claim" and line.get("correlation_id") == job_id for line in logged)
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [each.get("retentionInDays") for each in described] == [14]  # FunctionLogRetentionDays


def test_init_duration_is_on_the_first_report_of_each_environment_only(
    local_stack: LocalStack, api: httpx.Client, logs: Any
) -> None:
    group = group_of(local_stack, "ClaimFunction")
    run_job(api, logs, group, "an environment's reports")  # its environment's stream is written

    for each in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        reports = [
            record
            for line in stream_lines(logs, group, each["logStreamName"])
            if (record := platform_event(line, "report")) is not None
        ]
        if not reports:
            continue
        assert "initDurationMs" in reports[0]["metrics"], each["logStreamName"]
        assert not [report for report in reports[1:] if "initDurationMs" in report["metrics"]]


def test_cloudqueue_logs_job_id_prints_that_jobs_invocations_and_not_anothers(
    local_stack: LocalStack, api: httpx.Client, logs: Any
) -> None:
    group = group_of(local_stack, "ClaimFunction")
    mine, _ = run_job(api, logs, group, "mine")
    other, _ = run_job(api, logs, group, "another")

    result = cloudqueue(local_stack, "logs", "ClaimFunction", "--job-id", mine)

    assert result.returncode == 0, result.stderr
    assert mine in result.stdout
    assert other not in result.stdout
    assert '"type":"platform.start"' in result.stdout
    assert '"type":"platform.report"' in result.stdout


def test_cloudqueue_logs_prints_the_functions_lines_of_the_last_minutes(
    local_stack: LocalStack, api: httpx.Client, logs: Any
) -> None:
    job_id, _ = run_job(api, logs, group_of(local_stack, "ProcessFunction"), "the process step's logs")

    result = cloudqueue(local_stack, "logs", "ProcessFunction", "--since", "5m")

    assert result.returncode == 0, result.stderr
    assert job_id in result.stdout
    assert '"type":"platform.report"' in result.stdout


def test_logs_follow_shows_new_lines_as_they_come_and_ctrl_c_ends_it_cleanly(
    local_stack: LocalStack, api: httpx.Client
) -> None:
    process = start_cloudqueue(local_stack, "logs", "ClaimFunction", "--follow", "--since", "1s")
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
    try:
        # Given a follower, when a job runs after it started,
        wait_for(lambda: any(line.startswith("following ") for line in lines), "following line")
        job_id = submit(api, "followed")
        # then its claim's lines show up, up to the REPORT line,
        wait_for(lambda: any(job_id in line for line in lines), f"a line of {job_id}")
        wait_for(lambda: any('"type":"platform.report"' in line for line in lines), "a platform.report line")
        # and Ctrl-C ends it with no error.
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)  # a generous deadline: a busy machine exits slowly
    finally:
        if process.poll() is None:
            process.kill()

    # (The followed lines may hold the functions' own tracebacks, e.g. a claim that retried
    # JobNotYetWritten: only a frame of the command itself, or the interrupt, would be a fault.)
    output = "".join(lines)
    assert code == 0, output[-3000:]
    assert "cloudqueue_local" not in output and "KeyboardInterrupt" not in output, output[-3000:]


@pytest.mark.parametrize("since", ["tenminutes", "10x", "0m", "m10", "-5m"])
def test_logs_since_with_a_bad_value_is_refused_clearly(since: str) -> None:
    result = cloudqueue(None, "logs", "ClaimFunction", f"--since={since}")

    assert result.returncode == 2
    assert "--since" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize(("since", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400)])
def test_since_reads_seconds_minutes_hours_and_days(since: str, seconds: float) -> None:
    assert parse_since(since) == seconds


def test_logs_of_an_unknown_function_names_the_known_ones(local_stack: LocalStack) -> None:
    result = cloudqueue(local_stack, "logs", "NoSuchFunction")

    assert result.returncode == 1
    assert "no function 'NoSuchFunction'" in result.stderr
    assert "ClaimFunction" in result.stderr
    no_traceback(result)


def test_logs_with_no_stack_running_says_so_in_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    result = cloudqueue(None, "logs", "ClaimFunction", "--aws-url", f"http://127.0.0.1:{free_port}")

    assert result.returncode == 2
    assert "cannot reach the AWS endpoint" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


@pytest.fixture
def job_lines(local_stack: LocalStack) -> Iterator[list[str]]:
    """The dev console's job-event lines while the test runs."""
    lines: list[str] = []
    events = JobEvents(lines.append)
    local_stack.runtime.observers.append(events.observe)
    yield lines
    local_stack.runtime.observers.remove(events.observe)


def lines_of(lines: list[str], job_id: str) -> list[str]:
    """The job's lines, without their time."""
    return [line.split(" ", 1)[1] for line in lines if f" {job_id} " in line]


def once_shown(lines: list[str], job_id: str, word: str) -> list[str] | None:
    """The job's lines, once one of them says ``word``."""
    shown = lines_of(lines, job_id)
    return shown if any(word in line for line in shown) else None


def test_the_console_shows_each_event_of_a_job_once(api: httpx.Client, job_lines: list[str]) -> None:
    job_id = submit(api, "console")

    shown = wait_for(lambda: once_shown(job_lines, job_id, "SUCCEEDED"), f"SUCCEEDED line for {job_id}")

    assert [line.split(maxsplit=2)[2] for line in shown[:2]] == ["QUEUED", "QUEUED → IN_PROGRESS"]
    assert re.fullmatch(rf"{job_id} text\.transform +IN_PROGRESS → SUCCEEDED \d+\.\ds", shown[2])
    assert len(shown) == 3


def test_the_console_shows_a_failed_jobs_error(api: httpx.Client, job_lines: list[str]) -> None:
    response = api.post("/jobs", json={"type": "demo.fail", "payload": {"reason": "nope"}})
    job_id = response.json()["jobId"]

    shown = wait_for(lambda: once_shown(job_lines, job_id, "→ FAILED"), f"FAILED line for {job_id}")

    assert shown[-1] == f"{job_id} demo.fail        IN_PROGRESS → FAILED PermanentJobError: nope"


def test_logs_stack_name_finds_the_deployed_functions_group_through_cloudformation(
    local_stack: LocalStack,
) -> None:
    # The session's moto answers boto3 in this process, as AWS would answer `--stack-name`.
    from typer.testing import CliRunner

    from cloudqueue_local.cli.app import app

    stack_name, function_name = f"deployed-{id(local_stack)}", f"deployed-claim-{id(local_stack)}"
    boto3.client("cloudformation").create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "ClaimFunction": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "FunctionName": function_name,
                            "Runtime": "python3.12",
                            "Handler": "index.handler",
                            "Role": f"arn:aws:iam::{local_stack.account}:role/cloudqueue-local-role",
                            "Code": {"ZipFile": "def handler(event, context): pass"},
                        },
                    }
                }
            }
        ),
    )
    logs = boto3.client("logs")
    group, stream = f"/aws/lambda/{function_name}", "2026/01/01/[$LATEST]" + "0" * 32
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    mine = [
        "START RequestId: r1 Version: $LATEST",
        '{"correlation_id":"deployed-job"}',
        "END RequestId: r1",
        "REPORT RequestId: r1\tDuration: 1.00 ms",
    ]
    another = [line.replace("r1", "r2").replace("deployed-job", "another-job") for line in mine]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": message} for message in [*mine, *another]],
    )

    result = CliRunner().invoke(
        app, ["logs", "ClaimFunction", "--stack-name", stack_name, "--job-id", "deployed-job"]
    )

    assert result.exit_code == 0, result.output
    assert [line.split(" ", 3)[3] for line in result.output.splitlines()] == mine


def test_the_console_shows_a_cancel_and_a_rerun(
    local_stack: LocalStack, api: httpx.Client, job_lines: list[str]
) -> None:
    local_stack.pause()  # the job stays QUEUED until cancelled
    try:
        cancelled = submit(api, "cancel me")
        assert api.delete(f"/jobs/{cancelled}").status_code == 200
    finally:
        local_stack.resume()
    failed = api.post("/jobs", json={"type": "demo.fail", "payload": {"reason": "again"}}).json()["jobId"]
    wait_for(lambda: once_shown(job_lines, failed, "→ FAILED"), f"FAILED line for {failed}")

    assert api.post(f"/jobs/{failed}/rerun").status_code == 202

    events = [line.split(maxsplit=2)[2] for line in lines_of(job_lines, cancelled)]
    # (its message, delivered after the resume, is skipped: a line of its own, maybe not yet)
    assert [event for event in events if not event.startswith("skipped: ")] == [
        "QUEUED",
        "QUEUED → CANCELLED",
    ]

    def failures() -> list[str]:
        return [line for line in lines_of(job_lines, failed) if "→ FAILED" in line]

    wait_for(lambda: len(failures()) >= 2, f"the rerun's FAILED line for {failed}")
    assert len(failures()) == 2
    assert lines_of(job_lines, failed).count(f"{failed} demo.fail        FAILED → QUEUED (rerun)") == 1
