"""The in-process Lambda runtime behaves as Lambda does where the handlers can tell."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from cloudqueue_local.lambda_runtime import LambdaRuntime
from cloudqueue_local.stack import LocalStack
from cloudqueue_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


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


def test_concurrent_api_invocations_each_answer_their_own_request(local_stack: LocalStack) -> None:
    # Powertools' resolver keeps the current request on a class: sharing a process between two
    # invocations at once would answer one request with the other's job.
    texts = [f"request {index}" for index in range(48)]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda text: local_stack.runtime.invoke("ApiFunction", api_event(text)), texts)
        )

    for text, answer in zip(texts, answers, strict=True):
        assert json.loads(answer.json()["body"])["payload"]["text"] == text
    assert local_stack.runtime.functions["ApiFunction"].max_environments == 1


def test_handlers_with_process_wide_state_run_one_at_a_time(local_stack: LocalStack) -> None:
    # Powertools Metrics share one metric set per process: concurrent flushes would lose
    # metrics or fail the invocation ("Must contain at least one metric").
    local_stack.runtime.invoke(
        "ProcessFunction", {"jobId": "j", "type": "text.transform", "payload": {"text": "a"}}
    )
    local_stack.runtime.invoke(
        "FinalizeFunction", {"jobId": "none", "leaseToken": "t", "outcome": "SUCCEEDED"}
    )

    assert local_stack.runtime.functions["FinalizeFunction"].max_environments == 1
    assert local_stack.runtime.functions["ProcessFunction"].max_environments > 1  # Logger only


def test_environments_are_reused_not_cold_started_per_call(local_stack: LocalStack) -> None:
    function = local_stack.runtime.functions["ProcessFunction"]
    event = {"jobId": "j", "type": "text.transform", "payload": {"text": "warm"}}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: local_stack.runtime.invoke("ProcessFunction", event), range(40)))

    assert all(result.json()["uppercase"] == "WARM" for result in results)
    assert 1 <= function.cold_starts <= function.max_environments


def test_a_handler_past_its_timeout_fails_as_on_lambda() -> None:
    template = load_template(ROOT / "template.yaml")
    template.functions["ProcessFunction"] = replace(template.functions["ProcessFunction"], timeout=1)
    runtime = LambdaRuntime(template)
    try:
        result = runtime.invoke(
            "ProcessFunction", {"jobId": "j", "type": "demo.sleep", "payload": {"seconds": 1.5}}
        )
    finally:
        runtime.close()

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1.00 seconds" in result.json()["errorMessage"]
