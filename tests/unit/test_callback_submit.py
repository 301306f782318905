"""A submit's callbackUrl: checked before anything is sent or stored (422 and no change),
kept on the job, and shown by GET /jobs/{id} with its deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudqueue.handlers import api
from tests.fakes import (
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakeWorkflow,
    answer_of,
    http_event,
)

PUBLIC = "93.184.215.14"


class Stack:
    def __init__(self) -> None:
        self.store, self.queue = FakeJobStore(), FakeJobQueue()
        self.dns: dict[str, list[str]] = {"hooks.example.com": [PUBLIC], "sneaky.example.com": ["10.1.2.3"]}

    def resolve(self, host: str, port: int) -> list[str]:
        if host not in self.dns:
            raise OSError(host)
        return self.dns[host]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        event = http_event(method, path, body=body) if body is not None else http_event(method, path)
        return answer_of(
            api.handler(
                event,
                FakeLambdaContext(),
                store=self.store,
                queue=self.queue,
                log=FakeExecutionLog(),
                workflow=FakeWorkflow(),
                resolver=self.resolve,
            )
        )


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    monkeypatch.delenv("CALLBACK_ALLOW_LOOPBACK", raising=False)
    monkeypatch.setenv("WEBHOOKS", "on")  # the template's Webhooks parameter
    api.settings.cache_clear()
    yield Stack()
    api.settings.cache_clear()


def job_with(url: str) -> dict[str, Any]:
    return {"type": "text.transform", "payload": {"text": "hi"}, "callbackUrl": url}


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/in",
        "http://hooks.example.com/in",  # deployed: https only
        "https://127.0.0.1/in",
        "https://[::1]/in",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/",
        "https://10.0.0.8/in",
        "https://[fd12::1]/in",
        "https://[fe80::1]/in",
        "https://0.0.0.0/in",
        "https://sneaky.example.com/in",  # a name that resolves to a private address
        "https://unknown.example.com/in",  # a name that does not resolve
    ],
)
def test_a_callback_url_that_is_refused_is_a_422_and_nothing_is_kept_or_sent(stack: Stack, url: str) -> None:
    status, body = stack.call("POST", "/jobs", job_with(url))
    assert status == 422, body
    assert body["error"]["code"] == "callback_url_refused"
    assert stack.queue.sent == []
    assert stack.call("GET", "/jobs")[1]["jobs"] == []


def test_a_public_https_callback_is_kept_and_shown_with_no_deliveries_yet(stack: Stack) -> None:
    status, submitted = stack.call("POST", "/jobs", job_with("https://hooks.example.com/in"))
    assert status == 202, submitted
    status, job = stack.call("GET", f"/jobs/{submitted['jobId']}")
    assert job["callbackUrl"] == "https://hooks.example.com/in"
    assert (job["deliveries"], job["deliveryAttempts"]) == ([], 0)


def test_the_local_stack_may_call_back_127_0_0_1_over_http(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBACK_ALLOW_LOOPBACK", "true")
    api.settings.cache_clear()
    assert stack.call("POST", "/jobs", job_with("http://127.0.0.1:8080/hook"))[0] == 202
    assert stack.call("POST", "/jobs", job_with("http://10.0.0.1:8080/hook"))[0] == 422


@pytest.mark.parametrize("webhooks", ["off", None])  # None: the variable unset, as by default
def test_a_callback_url_on_a_stack_without_webhooks_is_a_422_that_says_so_and_changes_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, webhooks: str | None
) -> None:
    # Given a stack deployed with Webhooks=off (the template's default)
    if webhooks is None:
        monkeypatch.delenv("WEBHOOKS")
    else:
        monkeypatch.setenv("WEBHOOKS", webhooks)
    api.settings.cache_clear()

    # When a job with a public https callbackUrl is submitted
    status, body = stack.call("POST", "/jobs", job_with("https://hooks.example.com/in"))

    # Then it is refused, saying webhooks are not enabled, and nothing is sent or kept
    assert status == 422, body
    assert body["error"]["code"] == "webhooks_disabled"
    assert "webhooks are not enabled on this stack" in body["error"]["message"]
    assert stack.queue.sent == []
    assert stack.call("GET", "/jobs")[1]["jobs"] == []

    # And a job without one is accepted as ever
    status, _ = stack.call("POST", "/jobs", {"type": "text.transform", "payload": {"text": "hi"}})
    assert status == 202
