"""The local Lambda runtime behaves as Lambda does where a function can tell: one process per
execution environment, its own variables, timeouts and crashes, cold starts, and chaos faults.

Most tests run ``probe_function/probe.py`` (a function that reports on its environment and
misbehaves on request) in a runtime of their own; the rest use the session's local stack.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from cloudqueue_local.devtools.stack import LocalStack
from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.invocation import InjectedCrash, ServiceFault
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.endpoint import is_function_key
from cloudqueue_local.emulator.faults import AwsFaultMiddleware, Chaos, parse_fault_rates
from cloudqueue_local.template import FunctionSpec, LocalTemplate, LoggingSpec

ROOT = Path(__file__).resolve().parents[2]
PROBE_CODE = str(Path(__file__).parent.relative_to(ROOT) / "probe_function")


def probe(logical_id: str, colour: str, *, timeout: int = 1, reserved: int | None = None) -> FunctionSpec:
    name = f"probe-{logical_id.lower()}"
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler="probe.handler",
        environment={"COLOUR": colour},
        timeout=timeout,
        memory=128,
        code_uri=PROBE_CODE,
        events={},
        reserved_concurrency=reserved,
    )


def probe_runtime(*, endpoint_url: str | None = None, chaos: Chaos | None = None) -> LambdaRuntime:
    functions = {
        "Red": probe("Red", "red"),
        "Blue": probe("Blue", "blue"),
        "Single": probe("Single", "grey", timeout=30, reserved=1),
    }
    template = LocalTemplate(path=ROOT / "template.yaml", parameters={}, functions=functions)
    return LambdaRuntime(template, RuntimeSettings(root=ROOT, endpoint_url=endpoint_url), chaos=chaos)


@pytest.fixture
def probes() -> Iterator[LambdaRuntime]:
    runtime = probe_runtime()
    try:
        yield runtime
    finally:
        runtime.close()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- execution environments ------------------------------------------------------------


def test_a_handler_past_its_timeout_is_stopped_and_its_environment_replaced(probes: LambdaRuntime) -> None:
    before = probes.invoke("Red", {}).json()["pid"]

    result = probes.invoke("Red", {"action": "sleep", "seconds": 60})
    after = probes.invoke("Red", {}).json()

    # What Step Functions sees from Lambda for a timeout: FunctionError, Sandbox.Timedout.
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Sandbox.Timedout"
    assert result.json()["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert after["pid"] != before
    assert after["invocations"] == 1  # a fresh environment: a cold start
    assert not process_exists(before)


def test_a_crashing_environment_fails_its_invocation_and_the_next_gets_a_fresh_one(
    probes: LambdaRuntime,
) -> None:
    before = probes.invoke("Red", {}).json()["pid"]

    crashed = probes.invoke("Red", {"action": "exit", "code": 3})
    after = probes.invoke("Red", {}).json()

    assert crashed.function_error == "Unhandled"
    assert crashed.json()["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in crashed.json()["errorMessage"]
    assert after["pid"] != before
    assert after["invocations"] == 1


def test_an_environment_killed_mid_invocation_answers_at_once_and_is_replaced_every_time(
    probes: LambdaRuntime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a function of one environment whose handler waits 30 s, killed three times running
    caplog.set_level(logging.INFO, logger="cloudqueue.local.functions.Single")
    killed: list[int] = []
    answers = []
    with ThreadPoolExecutor(1) as pool:
        for round_ in range(3):
            pid_file = tmp_path / f"pid-{round_}"
            event = {"action": "wait_for", "path": str(tmp_path / "never"), "pid_file": str(pid_file)}
            pending = pool.submit(probes.invoke, "Single", event)
            wait_until(pid_file.exists)
            killed.append(int(pid_file.read_text()))
            os.kill(killed[-1], signal.SIGKILL)
            # When the sandbox dies, the invocation is answered then, not at the handler's end
            answers.append(pending.result(timeout=20))

    # Then each answer is Lambda's own, the pool is back to full strength, the next is fresh
    after = probes.invoke("Single", {}).json()
    for answer in answers:
        assert answer.function_error == "Unhandled"
        assert answer.json()["errorType"] == "Runtime.ExitError"
        assert "Runtime exited with error: signal: killed" in answer.json()["errorMessage"]
    assert after["pid"] not in killed
    assert after["invocations"] == 1
    assert probes.function("Single").environments == 1
    assert probes.function("Single").crashes == 3
    reports = [record.getMessage() for record in caplog.records if record.getMessage().startswith("REPORT")]
    crashed = [
        line for line in reports if "Status: error" in line and "Error Type: Runtime.ExitError" in line
    ]
    assert len(crashed) == 3


def test_an_injected_crash_kills_the_environment_mid_invocation(probes: LambdaRuntime) -> None:
    before = probes.invoke("Red", {}).json()["pid"]

    def crash(event: dict[str, Any]) -> None:
        raise InjectedCrash

    probes.faults["Red"] = crash
    crashed = probes.invoke("Red", {})
    del probes.faults["Red"]
    after = probes.invoke("Red", {}).json()

    assert crashed.json()["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in crashed.json()["errorMessage"]
    assert not process_exists(before)
    assert after["pid"] != before
    assert after["invocations"] == 1


def test_chaos_crashes_kill_that_fraction_of_environments_and_the_pool_recovers() -> None:
    chaos = Chaos({"crash": 0.3}, seed=4)
    runtime = probe_runtime(chaos=chaos)
    try:
        outcomes = [runtime.invoke("Single", {}).json() for _ in range(30)]
        function = runtime.function("Single")
        crashes, environments = function.crashes, function.environments
    finally:
        runtime.close()

    crashed = [outcome for outcome in outcomes if outcome.get("errorType") == "Runtime.ExitError"]
    assert len(crashed) == chaos.injected["crash.Runtime.ExitError"] == crashes
    assert 3 <= len(crashed) <= 16
    assert all(outcome.get("colour") == "grey" for outcome in outcomes if outcome not in crashed)
    assert environments <= 1  # one reserved environment, never leaked by a crash


def test_each_function_has_its_own_variables_in_its_own_processes(probes: LambdaRuntime) -> None:
    functions = ["Red", "Blue"] * 8

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda name: probes.invoke(name, {}).json(), functions))

    reds = [answer for name, answer in zip(functions, answers, strict=True) if name == "Red"]
    blues = [answer for name, answer in zip(functions, answers, strict=True) if name == "Blue"]
    assert {answer["colour"] for answer in reds} == {"red"}
    assert {answer["colour"] for answer in blues} == {"blue"}
    assert not {answer["pid"] for answer in reds} & {answer["pid"] for answer in blues}
    assert "COLOUR" not in os.environ  # nothing set in the stack's own process


def test_init_duration_is_reported_on_an_environments_first_invocation_only(
    probes: LambdaRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloudqueue.local.functions.Red")

    first = probes.invoke("Red", {})
    second = probes.invoke("Red", {})

    assert first.init_duration_ms is not None
    assert first.init_duration_ms > 0
    assert second.init_duration_ms is None
    reports = [record.getMessage() for record in caplog.records if record.getMessage().startswith("REPORT")]
    assert len(reports) == 2
    assert reports[0].startswith(f"REPORT RequestId: {first.json()['requestId']}\tDuration: ")
    assert "\tInit Duration: " in reports[0]
    assert "Init Duration" not in reports[1]


@pytest.mark.parametrize(
    "holder_ends",
    [
        pytest.param({}, id="the busy environment is handed on"),
        pytest.param({"then_exit": 3}, id="the room its crash leaves is handed on"),
    ],
)
def test_invocations_waiting_for_an_environment_are_served_first_come_first_served(
    probes: LambdaRuntime, tmp_path: Path, holder_ends: dict[str, int]
) -> None:
    release, order = tmp_path / "release", tmp_path / "order"
    single = probes.functions["Single"]  # ReservedConcurrentExecutions: 1

    with ThreadPoolExecutor(max_workers=6) as pool:
        holder = pool.submit(
            probes.invoke, "Single", {"action": "wait_for", "path": str(release), **holder_ends}
        )
        wait_until(lambda: single.environments == 1)
        waiters = []
        for n in range(5):
            waiters.append(
                pool.submit(probes.invoke, "Single", {"action": "append", "path": str(order), "n": n})
            )
            wait_until(lambda n=n: single.waiting == n + 1)
        release.touch()
        results = [holder.result(), *(waiter.result() for waiter in waiters)]

    assert results[0].function_error == ("Unhandled" if holder_ends else None)
    assert all(result.function_error is None for result in results[1:])
    assert order.read_text().split() == ["0", "1", "2", "3", "4"]


def test_concurrent_api_requests_are_served_by_separate_environments(local_stack: LocalStack) -> None:
    texts = [f"request {index}" for index in range(48)]
    api = local_stack.runtime.functions["ApiFunction"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda text: local_stack.runtime.invoke("ApiFunction", api_event(text)), texts)
        )

    for text, answer in zip(texts, answers, strict=True):
        assert json.loads(answer.json()["body"])["payload"]["text"] == text
    assert 2 <= api.environments <= api.max_environments


def api_event(text: str) -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "POST /jobs",
        "rawPath": "/jobs",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/jobs", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": text,
            "routeKey": "POST /jobs",
            "stage": "$default",
        },
        "body": json.dumps({"type": "text.transform", "payload": {"text": text}}),
        "isBase64Encoded": False,
    }


# --- chaos ---------------------------------------------------------------------------------


def test_fault_specs_are_read_and_bad_ones_refused_with_a_reason() -> None:
    assert parse_fault_rates("lambda=0.05, dynamodb=0.02,sqs=0") == {
        "lambda": 0.05,
        "dynamodb": 0.02,
        "sqs": 0.0,
    }
    assert parse_fault_rates("crash=0.02") == {"crash": 0.02}
    with pytest.raises(ValueError, match="the services are lambda, dynamodb, sqs, crash"):
        parse_fault_rates("s3=0.1")
    with pytest.raises(ValueError, match="from 0 to 1"):
        parse_fault_rates("lambda=5")
    with pytest.raises(ValueError, match="not a number"):
        parse_fault_rates("lambda=often")


def test_lambda_faults_are_drawn_at_about_the_given_rate_and_repeat_with_a_seed() -> None:
    chaos, again = Chaos({"lambda": 0.05}, seed=7), Chaos({"lambda": 0.05}, seed=7)

    draws = [chaos.lambda_fault() for _ in range(4000)]
    repeated = [again.lambda_fault() for _ in range(4000)]

    faults = [draw for draw in draws if draw is not None]
    assert 0.035 <= len(faults) / len(draws) <= 0.065
    assert {fault.service_error[0] if fault.service_error else "timeout" for fault in faults} == {
        "TooManyRequestsException",
        "ServiceException",
        "timeout",
    }
    assert draws == repeated


def test_aws_faults_hit_only_the_calls_of_function_environments() -> None:
    chaos = Chaos({"dynamodb": 0.2, "sqs": 0.2}, seed=5)
    endpoint = Client(AwsFaultMiddleware(Response("{}", status=200), chaos, is_function_key))

    def status(access_key: str, target: str) -> int:
        credential = (
            f"Credential={access_key}/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0"
        )
        headers = {"Authorization": f"AWS4-HMAC-SHA256 {credential}", "X-Amz-Target": target}
        return endpoint.post("/", headers=headers, data="{}").status_code

    function_writes = [status("LOCALENV0123456789AB", "DynamoDB_20120810.UpdateItem") for _ in range(500)]
    function_sends = [status("LOCALENV0123456789AB", "AmazonSQS.SendMessage") for _ in range(500)]
    function_receives = [status("LOCALENV0123456789AB", "AmazonSQS.ReceiveMessage") for _ in range(200)]
    stack_writes = [status("local", "DynamoDB_20120810.UpdateItem") for _ in range(200)]

    failed_writes = [code for code in function_writes if code != 200]
    assert 0.14 <= len(failed_writes) / 500 <= 0.26
    assert set(failed_writes) == {400, 500}  # ThrottlingException, InternalServerError
    assert 0.14 <= sum(code == 500 for code in function_sends) / 500 <= 0.26
    assert set(function_receives) == {200}
    assert set(stack_writes) == {200}


def test_lambda_faults_fail_invocations_as_the_lambda_service_does() -> None:
    chaos = Chaos({"lambda": 0.3}, seed=2)
    runtime = probe_runtime(chaos=chaos)
    outcomes: list[str] = []
    try:
        for _ in range(30):
            try:
                result = runtime.invoke("Red", {})
            except ServiceFault as fault:
                outcomes.append(f"{fault.status} {fault.code}")
                continue
            outcomes.append(result.json().get("errorType") or result.json()["colour"])
    finally:
        runtime.close()

    faults = [outcome for outcome in outcomes if outcome != "red"]
    assert len(faults) == sum(chaos.injected.values())
    assert 3 <= len(faults) <= 16
    assert set(faults) <= {"429 TooManyRequestsException", "500 ServiceException", "Sandbox.Timedout"}


def test_sqs_faults_reach_a_functions_sends_and_no_other_client(local_stack: LocalStack) -> None:
    queue_url = boto3.client("sqs", region_name=local_stack.region).create_queue(QueueName="chaos-probe")[
        "QueueUrl"
    ]
    other_client = boto3.client(
        "sqs",
        endpoint_url=local_stack.aws_url,
        region_name=local_stack.region,
        aws_access_key_id="someone",
        aws_secret_access_key="else",
    )
    runtime = probe_runtime(endpoint_url=local_stack.aws_url)
    local_stack.chaos.set_rates({"sqs": 1.0})
    try:
        from_function = runtime.invoke("Single", {"action": "send", "queueUrl": queue_url}).json()
        other_client.send_message(QueueUrl=queue_url, MessageBody="not a function")
    finally:
        local_stack.chaos.set_rates({})
        runtime.close()

    assert from_function == {"error": "InternalFailure"}
    received: dict[str, Any] = other_client.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    assert [message["Body"] for message in received["Messages"]] == ["not a function"]


# --- LoggingConfig -------------------------------------------------------------------------

PRINTED = ['{"level":"DEBUG","message":"verbose"}', '{"level":"WARNING","message":"kept"}', "plain"]


def logged_lines(
    logging_spec: LoggingSpec, caplog: pytest.LogCaptureFixture
) -> tuple[list[str], dict[str, Any]]:
    """What one invocation of a probe with ``logging_spec`` logs, and its answer."""
    spec = replace(probe("Logged", "green"), logging=logging_spec)
    template = LocalTemplate(path=ROOT / "template.yaml", parameters={}, functions={"Logged": spec})
    runtime = LambdaRuntime(template, RuntimeSettings(root=ROOT))
    caplog.set_level(logging.INFO, logger="cloudqueue.local.functions.Logged")
    try:
        answer = runtime.invoke("Logged", {"action": "print", "lines": PRINTED}).json()
    finally:
        runtime.close()
    return [record.getMessage() for record in caplog.records], answer


def test_json_format_at_system_level_warn_writes_only_the_functions_own_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines, answer = logged_lines(LoggingSpec("JSON", "WARN"), caplog)

    # No platform.start nor platform.report, and the DEBUG line is dropped at the default INFO
    assert lines == PRINTED[1:]
    assert answer["colour"] == "green"


def test_json_format_at_system_level_info_writes_platform_events_around_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines, answer = logged_lines(LoggingSpec("JSON", "INFO"), caplog)

    start, *between, report = lines
    assert json.loads(start)["type"] == "platform.start"
    assert json.loads(report)["type"] == "platform.report"
    assert json.loads(report)["record"]["requestId"] == answer["requestId"]
    assert between == PRINTED[1:]


def test_text_format_writes_start_end_and_report_and_every_line(caplog: pytest.LogCaptureFixture) -> None:
    lines, answer = logged_lines(LoggingSpec("Text", "WARN"), caplog)

    assert lines[0] == f"START RequestId: {answer['requestId']} Version: $LATEST"
    assert lines[1:4] == PRINTED
    assert lines[4] == f"END RequestId: {answer['requestId']}"
    assert lines[5].startswith(f"REPORT RequestId: {answer['requestId']}\tDuration: ")


def test_json_format_tells_the_runtime_its_format_and_level() -> None:
    spec = replace(probe("Told", "white"), logging=LoggingSpec("JSON", "WARN", "ERROR"))
    template = LocalTemplate(path=ROOT / "template.yaml", parameters={}, functions={"Told": spec})
    runtime = LambdaRuntime(template, RuntimeSettings(root=ROOT))
    try:
        answer = runtime.invoke(
            "Told", {"action": "env", "names": ["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL"]}
        )
    finally:
        runtime.close()

    assert answer.json()["env"] == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR"}
