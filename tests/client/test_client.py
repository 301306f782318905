"""``Client``: what each method sends, how answers and refusals are read, and the retries that
never make a second job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cloudqueue_client import (
    Client,
    CloudQueueError,
    Conflict,
    Forbidden,
    Job,
    JobStatus,
    NotFound,
    PayloadTooLarge,
    Retries,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
    ValidationError,
    WaitTimeout,
)
from tests.client.fake_api import FakeApi, bad_gateway, job_json, read_timeout, refused

NO_WAIT = Retries(backoff=0)
Handler = Callable[[httpx.Request], httpx.Response]


def client_of(handler: Handler, **options: Any) -> Client:
    options.setdefault("retries", NO_WAIT)
    return Client("http://api.test/", transport=httpx.MockTransport(handler), **options)


def answering(status: int, body: Any, seen: list[httpx.Request] | None = None) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body)

    return answer


# --- submit and its idempotency key -----------------------------------------------------------


def test_submit_posts_the_type_and_payload_and_answers_a_typed_job() -> None:
    api = FakeApi()

    with client_of(api) as client:
        job = client.submit("text.transform", {"text": "hello"})

    [request] = api.requests
    assert (request.method, request.url.path) == ("POST", "/jobs")
    assert json.loads(request.content) == {"type": "text.transform", "payload": {"text": "hello"}}
    assert isinstance(job, Job) and job.status is JobStatus.QUEUED
    assert job.payload == {"text": "hello"}


def test_each_submit_without_a_key_sends_a_new_generated_key() -> None:
    api = FakeApi()

    with client_of(api) as client:
        first = client.submit("text.transform", {"text": "a"})
        second = client.submit("text.transform", {"text": "a"})

    keys = [request.headers["Idempotency-Key"] for request in api.requests]
    assert len(set(keys)) == 2 and all(uuid.UUID(key).version == 4 for key in keys)
    assert first.job_id != second.job_id  # two logical submits are two jobs


def test_a_key_given_by_the_caller_is_the_one_sent() -> None:
    api = FakeApi()

    with client_of(api) as client:
        client.submit("text.transform", {"text": "a"}, idempotency_key="order-7")

    assert api.requests[0].headers["Idempotency-Key"] == "order-7"


@pytest.mark.parametrize("loss", [bad_gateway, read_timeout], ids=["502", "read-timeout"])
def test_a_submit_whose_answer_was_lost_is_retried_under_its_key_and_makes_one_job(
    loss: Callable[[httpx.Request], httpx.Response],
) -> None:
    # Given an API that accepts the first attempt, but whose answer is lost on the way back
    api = FakeApi(lose=[loss])

    # When the client submits
    with client_of(api) as client:
        job = client.submit("text.transform", {"text": "once"})

    # Then it retried with the same key, and the API made one job: the one answered
    assert len(api.requests) == 2
    assert api.requests[0].headers["Idempotency-Key"] == api.requests[1].headers["Idempotency-Key"]
    assert list(api.jobs) == [job.job_id]


def test_a_rerun_whose_answer_was_lost_is_retried_under_one_key() -> None:
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(503, json={"error": {"code": "x", "message": "busy"}})])

    def rerun(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers, httpx.Response(202, json=job_json("j-1")))

    with client_of(rerun) as client:
        job = client.rerun("j-1")

    assert [request.url.path for request in seen] == ["/jobs/j-1/rerun"] * 2
    assert seen[0].headers["Idempotency-Key"] == seen[1].headers["Idempotency-Key"]
    assert job.job_id == "j-1"


def test_a_cancel_is_not_repeated_after_a_5xx_the_server_may_have_acted_on() -> None:
    seen: list[httpx.Request] = []

    client = client_of(answering(502, {"message": "Internal Server Error"}, seen))
    with client, pytest.raises(ServerError):
        client.cancel("j-1")

    assert len(seen) == 1


def test_a_cancel_that_never_reached_the_server_is_sent_again() -> None:
    api_calls: list[httpx.Request] = []
    answers: list[Handler] = [refused, answering(200, job_json("j-1", "CANCELLED"))]

    def flaky(request: httpx.Request) -> httpx.Response:
        api_calls.append(request)
        return answers.pop(0)(request)

    with client_of(flaky) as client:
        job = client.cancel("j-1")

    assert job.status is JobStatus.CANCELLED and len(api_calls) == 2


def test_a_throttled_request_is_retried_whatever_its_method() -> None:
    answers = [
        httpx.Response(429, json={"message": "Too Many Requests"}),
        httpx.Response(200, json=job_json("j")),
    ]

    with client_of(lambda request: answers.pop(0)) as client:
        job = client.cancel("j")

    assert job.job_id == "j" and answers == []


def test_reads_are_retried_up_to_the_attempts_then_the_error_is_raised() -> None:
    seen: list[httpx.Request] = []

    client = client_of(answering(503, {"error": {"code": "store_busy", "message": "busy"}}, seen))
    with client, pytest.raises(ServerError) as raised:
        client.get("j-1")

    assert len(seen) == NO_WAIT.attempts
    assert (raised.value.status, raised.value.code) == (503, "store_busy")


def test_an_api_that_never_answers_is_unreachable_after_the_retries() -> None:
    seen: list[httpx.Request] = []

    def nobody(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return refused(request)

    with client_of(nobody) as client, pytest.raises(Unreachable) as raised:
        client.job_types()

    assert len(seen) == NO_WAIT.attempts
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_no_retry_at_all_with_one_attempt() -> None:
    api = FakeApi(lose=[bad_gateway])

    with client_of(api, retries=Retries(attempts=1)) as client, pytest.raises(ServerError):
        client.submit("text.transform", {"text": "once"})

    assert len(api.requests) == 1


def test_the_backoff_grows_within_its_bounds_and_honours_retry_after() -> None:
    retries = Retries(backoff=0.2, max_backoff=5.0)

    assert all(0 <= retries.delay(0) <= 0.2 for _ in range(50))
    assert all(0 <= retries.delay(3) <= 1.6 for _ in range(50))
    assert all(retries.delay(10) <= 5.0 for _ in range(50))
    assert retries.delay(0, httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert retries.delay(0, httpx.Response(429, headers={"Retry-After": "60"})) == 5.0


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ValidationError),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, PayloadTooLarge),
        (422, ValidationError),
        (429, TooManyRequests),
        (500, ServerError),
        (418, CloudQueueError),
    ],
)
def test_each_refusal_is_its_typed_exception_with_the_apis_error(status: int, kind: type[Exception]) -> None:
    body = {"error": {"code": "some_code", "message": "said why", "details": [{"loc": ["payload"]}]}}

    with client_of(answering(status, body)) as client, pytest.raises(CloudQueueError) as raised:
        client.get("j-1")

    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.code, raised.value.message) == (status, "some_code", "said why")
    assert raised.value.details == [{"loc": ["payload"]}]
    assert str(raised.value) == f"{status} some_code: said why"


def test_the_gateways_own_refusal_is_read_from_its_message() -> None:
    with (
        client_of(answering(401, {"message": "Unauthorized"})) as client,
        pytest.raises(Unauthorized) as raised,
    ):
        client.get("j-1")

    assert (raised.value.code, raised.value.message, str(raised.value)) == (
        None,
        "Unauthorized",
        "401 Unauthorized",
    )


def test_a_refusal_that_is_not_json_carries_its_first_characters() -> None:
    client = client_of(lambda request: httpx.Response(400, text="Bad Request"))
    with client, pytest.raises(ValidationError) as raised:
        client.get("j-1")

    assert (raised.value.code, raised.value.message) == ("unexpected_response", "Bad Request")


# --- wait, list, and the other routes -------------------------------------------------------


def test_wait_polls_with_backoff_shows_each_status_once_and_answers_the_ended_job() -> None:
    statuses = iter(["QUEUED", "QUEUED", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"])
    pauses: list[float] = []
    shown: list[JobStatus] = []

    def poll(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=job_json("j-1", next(statuses), result={"ok": True}))

    with client_of(poll) as client:
        job = client.wait(
            "j-1",
            timeout=600,
            on_status=lambda seen: shown.append(seen.status),
            clock=lambda: sum(pauses),
            sleep=pauses.append,
        )

    assert shown == [JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.SUCCEEDED]
    assert job.status is JobStatus.SUCCEEDED and job.result == {"ok": True}
    assert pauses == [0.2, 0.4, 0.8, 1.6, 3.0]


def test_wait_looks_a_last_time_at_the_deadline_not_after_it() -> None:
    pauses: list[float] = []

    client = client_of(answering(200, job_json("j-1", "QUEUED")))
    with client, pytest.raises(WaitTimeout):
        client.wait("j-1", timeout=10, clock=lambda: sum(pauses), sleep=pauses.append)

    assert sum(pauses) == pytest.approx(10)
    assert pauses[-1] < 3.0  # cut short at the deadline


def test_wait_gives_up_with_a_timeout_error_holding_the_job_as_last_seen() -> None:
    client = client_of(answering(200, job_json("j-1", "IN_PROGRESS")))
    with client, pytest.raises(WaitTimeout) as raised:
        client.wait("j-1", timeout=0)

    assert isinstance(raised.value, TimeoutError)
    assert raised.value.job.status is JobStatus.IN_PROGRESS


def test_list_follows_next_token_across_pages_and_asks_only_when_reached() -> None:
    pages = {
        None: {"jobs": [job_json("a"), job_json("b")], "nextToken": "t1"},
        "t1": {"jobs": [job_json("c")], "nextToken": "t2"},
        "t2": {"jobs": []},
    }
    seen: list[httpx.Request] = []

    def page(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[request.url.params.get("nextToken")])

    with client_of(page) as client:
        jobs = client.list("failed", page_size=2)
        first = next(jobs)
        asked_before_the_rest = len(seen)
        rest = [job.job_id for job in jobs]

    assert first.job_id == "a" and asked_before_the_rest == 1
    assert rest == ["b", "c"]
    assert dict(seen[0].url.params) == {"limit": "2", "status": "FAILED"}
    assert [request.url.params.get("nextToken") for request in seen] == [None, "t1", "t2"]


def test_admin_uses_the_admin_routes_and_may_name_an_owner() -> None:
    seen: list[httpx.Request] = []

    with client_of(answering(200, {"jobs": []}, seen), admin=True) as client:
        list(client.list(owner="alice"))
    with client_of(answering(200, job_json("j-1"), seen), admin=True) as client:
        client.get("j-1")
        client.cancel("j-1")
        client.submit("text.transform", {"text": "mine"})

    assert [(request.method, request.url.path) for request in seen] == [
        ("GET", "/admin/jobs"),
        ("GET", "/admin/jobs/j-1"),
        ("DELETE", "/admin/jobs/j-1"),
        ("POST", "/jobs"),  # submitting is always the caller's own
    ]
    assert seen[0].url.params["owner"] == "alice"


def test_a_job_id_is_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    client = client_of(answering(404, {"error": {"code": "job_not_found", "message": "no"}}, seen))
    with client, pytest.raises(NotFound):
        client.get("../job-types")

    assert seen[0].url.raw_path == b"/jobs/..%2Fjob-types"


def test_job_types_and_history_are_read() -> None:
    types = {
        "jobTypes": [{"name": "t", "description": "d", "example": {}, "payloadSchema": {"type": "object"}}]
    }
    history = {"jobId": "j-1", "status": "SUCCEEDED", "executions": [{"executionArn": "arn:x"}]}

    with client_of(answering(200, types)) as client:
        [job_type] = client.job_types().job_types
    with client_of(answering(200, history)) as client:
        seen_history = client.history("j-1")

    assert (job_type.name, job_type.payload_schema) == ("t", {"type": "object"})
    assert seen_history == history


def test_an_answer_of_another_shape_is_a_clear_error_not_a_crash() -> None:
    client = client_of(answering(200, {"jobId": "j-1"}))
    with client, pytest.raises(CloudQueueError) as raised:
        client.get("j-1")

    assert raised.value.code == "unexpected_response"
    assert "is not a Job" in str(raised.value)


# --- delayed jobs ------------------------------------------------------------------------------


def test_a_delayed_submit_sends_its_timing_and_reads_a_scheduled_job_with_its_run_at() -> None:
    seen: list[httpx.Request] = []
    answer = job_json("j-1", "SCHEDULED", runAt="2026-12-06T13:00:05.000Z")
    with client_of(answering(202, answer, seen)) as client:
        job = client.submit("text.transform", {"text": "later"}, delay_seconds=5)
        at = client.submit("text.transform", {"text": "later"}, run_at="2026-12-06T14:00:00+01:00")

    assert json.loads(seen[0].content) == {
        "type": "text.transform",
        "payload": {"text": "later"},
        "delaySeconds": 5,
    }
    assert json.loads(seen[1].content)["runAt"] == "2026-12-06T14:00:00+01:00"
    assert "delaySeconds" not in json.loads(seen[1].content)
    assert job.status is JobStatus.SCHEDULED
    assert not job.status.terminal
    assert job.run_at is not None
    assert at.to_json()["runAt"] == "2026-12-06T13:00:05.000Z"


# --- webhooks ----------------------------------------------------------------------------------


def test_a_submit_with_a_callback_url_sends_it_and_reads_the_deliveries_of_the_job() -> None:
    # Given an API that answers a job with a delivered webhook
    seen: list[httpx.Request] = []
    delivery = {
        "webhookId": "msg_j-1_1",
        "attempt": 1,
        "at": "2026-12-06T13:00:05.000Z",
        "statusCode": 204,
        "outcome": "DELIVERED",
    }
    answer = job_json(
        "j-1",
        "SUCCEEDED",
        callbackUrl="https://hooks.example.com/in",
        deliveries=[delivery],
        deliveryAttempts=1,
    )
    with client_of(answering(202, answer, seen)) as client:
        # When a job is submitted with a callback URL, and one without
        job = client.submit("text.transform", {"text": "hi"}, callback_url="https://hooks.example.com/in")
        client.submit("text.transform", {"text": "hi"})

    # Then the first body carries callbackUrl, the second none; the job reads its deliveries
    assert json.loads(seen[0].content)["callbackUrl"] == "https://hooks.example.com/in"
    assert "callbackUrl" not in json.loads(seen[1].content)
    assert job.callback_url == "https://hooks.example.com/in"
    assert (job.deliveries[0].status_code, job.deliveries[0].outcome, job.delivery_attempts) == (
        204,
        "DELIVERED",
        1,
    )


def test_a_callback_url_on_a_stack_without_webhooks_is_a_typed_validation_error() -> None:
    refused = {"error": {"code": "webhooks_disabled", "message": "webhooks are not enabled on this stack"}}
    with client_of(answering(422, refused)) as client, pytest.raises(ValidationError) as raised:
        client.submit("text.transform", {"text": "hi"}, callback_url="https://hooks.example.com/in")
    assert raised.value.code == "webhooks_disabled"
