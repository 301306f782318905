"""The client room's HTTP API client: what it sends, and how a refusal or silence is said."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cloudqueue_local.client.api import Api, ApiError
from tests.client.test_schedules import FakeSchedules

Handler = Callable[[httpx.Request], httpx.Response]


def api_answering(handler: Handler) -> Api:
    return Api("http://api.test/", transport=httpx.MockTransport(handler))


def job(status: str, attempts: int = 0) -> dict[str, Any]:
    return {
        "jobId": "j-1",
        "type": "text.transform",
        "payload": {"text": "hi"},
        "status": status,
        "attempts": attempts,
        "createdAt": "2026-12-06T12:00:00.000Z",
        "updatedAt": "2026-12-06T12:00:00.000Z",
    }


def test_submit_posts_the_type_and_payload_with_the_idempotency_key() -> None:
    # Given an API that records the request
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=job("QUEUED"))

    # When a job is submitted with a key
    with api_answering(accept) as api:
        answer = api.submit("text.transform", {"text": "hi"}, idempotency_key="k-1")

    # Then the body and the header are the route's, and the answer is the job
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/jobs")
    assert json.loads(request.content) == {"type": "text.transform", "payload": {"text": "hi"}}
    assert request.headers["Idempotency-Key"] == "k-1"
    assert answer["status"] == "QUEUED"


def test_listing_sends_the_status_in_capitals_and_only_the_options_given() -> None:
    seen: list[httpx.Request] = []

    def page(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"jobs": []})

    with api_answering(page) as api:
        api.jobs("failed", limit=5)
        api.jobs()

    assert dict(seen[0].url.params) == {"limit": "5", "status": "FAILED"}
    assert dict(seen[1].url.params) == {"limit": "20"}


def test_a_refusal_is_said_with_the_apis_error_code_and_message() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no job j-1"}})

    with api_answering(refuse) as api, pytest.raises(ApiError) as raised:
        api.job("j-1")

    assert str(raised.value) == "404 not_found: no job j-1"
    assert raised.value.code == 1


def test_a_refusal_that_is_not_json_is_said_with_its_first_characters() -> None:
    def bad_gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway")

    with api_answering(bad_gateway) as api, pytest.raises(ApiError) as raised:
        api.job_types()

    assert str(raised.value) == "502 unexpected_response: Bad Gateway"


def test_an_api_that_cannot_be_reached_says_how_to_start_the_stack_with_exit_status_2() -> None:
    def refuse_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with api_answering(refuse_connection) as api, pytest.raises(ApiError) as raised:
        api.cancel("j-1")

    assert raised.value.code == 2
    assert "cannot reach the API at http://api.test" in str(raised.value)
    assert "make dev" in str(raised.value)


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def gets_to_follow(job_seconds: float, timeout: float = 300) -> tuple[int, list[float]]:
    """The GETs `follow` makes for a job that ends ``job_seconds`` after the submit, and its waits."""
    clock, gets = FakeClock(), 0

    def by_the_clock(request: httpx.Request) -> httpx.Response:
        nonlocal gets
        gets += 1
        status = "SUCCEEDED" if clock.now >= job_seconds else "IN_PROGRESS"
        return httpx.Response(200, json=job(status, 1))

    with api_answering(by_the_clock) as api:
        api.follow("j-1", timeout=timeout, on_change=lambda seen: None, clock=clock, sleep=clock.sleep)
    return gets, clock.waits


@pytest.mark.parametrize(
    ("job_seconds", "most_gets"),
    # Before (from 50 ms, x1.5, at most 1 s apart) these jobs cost 6, 7, 12 and 67 GETs.
    [(0.5, 3), (1.0, 4), (5.0, 6), (60.0, 24)],
)
def test_follow_backs_off_so_a_typical_job_costs_a_few_gets(job_seconds: float, most_gets: int) -> None:
    gets, waits = gets_to_follow(job_seconds)

    assert gets <= most_gets
    # from 200 ms, doubling, never more than 3 s apart, and it still sees the end within 3 s
    assert waits[:4] == [0.2, 0.4, 0.8, 1.6][: len(waits)]
    assert max(waits) <= 3.0
    assert sum(waits) < job_seconds + 3.0


def test_follow_looks_one_last_time_at_the_deadline_not_after_it() -> None:
    clock = FakeClock()

    def never_done(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=job("QUEUED"))

    with api_answering(never_done) as api, pytest.raises(ApiError) as raised:
        api.follow("j-1", timeout=10, on_change=lambda seen: None, clock=clock, sleep=clock.sleep)

    assert raised.value.code == 3
    assert clock.now == pytest.approx(10)  # the waits end at the deadline: the timeout is as before


def test_follow_shows_each_new_status_once_and_returns_the_finished_job() -> None:
    # Given a job seen QUEUED twice, then IN_PROGRESS, then SUCCEEDED
    answers = iter([job("QUEUED"), job("QUEUED"), job("IN_PROGRESS", 1), job("SUCCEEDED", 1)])

    def next_status(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    shown: list[str] = []

    # When it is followed
    with api_answering(next_status) as api:
        clock = FakeClock()
        finished = api.follow(
            "j-1",
            timeout=60,
            on_change=lambda seen: shown.append(seen["status"]),
            clock=clock,
            sleep=clock.sleep,
        )

    # Then every status is shown once, in order, and the finished job is the answer
    assert shown == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert finished == job("SUCCEEDED", 1)


T1, T2 = "2026-12-06T12:00:01.000Z", "2026-12-06T12:00:02.000Z"


def test_follow_shows_each_new_progress_report_of_a_running_job() -> None:
    def reporting(fraction: float, at: str) -> dict[str, Any]:
        return job("IN_PROGRESS", 1) | {"progress": {"fraction": fraction, "at": at}}

    # Given a running job seen with one report twice, then a newer report, then finished
    answers = iter([reporting(0.2, T1), reporting(0.2, T1), reporting(0.6, T2), job("SUCCEEDED", 1)])
    shown: list[tuple[str, float | None]] = []

    with api_answering(lambda request: httpx.Response(200, json=next(answers))) as api:
        clock = FakeClock()
        api.follow(
            "j-1",
            timeout=60,
            on_change=lambda seen: shown.append(
                (seen["status"], (seen.get("progress") or {}).get("fraction"))
            ),
            clock=clock,
            sleep=clock.sleep,
        )

    # Then each report is shown once
    assert shown == [("IN_PROGRESS", 0.2), ("IN_PROGRESS", 0.6), ("SUCCEEDED", None)]


def test_follow_gives_up_with_exit_status_3_when_the_job_is_not_finished_in_time() -> None:
    def still_queued(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=job("QUEUED"))

    with api_answering(still_queued) as api, pytest.raises(ApiError) as raised:
        api.follow("j-1", timeout=-1, on_change=lambda seen: None)

    assert raised.value.code == 3
    assert str(raised.value).startswith("job j-1 is still QUEUED after")


def test_a_submit_without_a_key_is_retried_under_the_key_the_client_made() -> None:
    # Given an API whose first answer is lost after it accepted the job
    seen: list[httpx.Request] = []

    def lose_the_first_answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(502, json={"message": "Internal Server Error"})
        return httpx.Response(200, json=job("QUEUED"), headers={"Idempotent-Replayed": "true"})

    # When the CLI submits without --idempotency-key
    with api_answering(lose_the_first_answer) as api:
        answer = api.submit("text.transform", {"text": "hi"})

    # Then both attempts carried the one key the client made, and the job is the answer
    assert [request.headers.get("Idempotency-Key") for request in seen] == [
        seen[0].headers["Idempotency-Key"]
    ] * 2
    assert answer == job("QUEUED")


def test_the_schedule_commands_go_through_the_client_and_answer_the_apis_json() -> None:
    fake = FakeSchedules()
    with api_answering(fake) as api:
        made = api.create_schedule("nightly", "rate(1 day)", "text.transform", {"text": "n"}, "UTC")
        paused = api.pause_schedule("nightly")
        listed = api.schedules()
        api.delete_schedule("nightly")
        with pytest.raises(ApiError) as missing:
            api.schedule("nightly")

    assert made == {
        "name": "nightly",
        "expression": "rate(1 day)",
        "timezone": "UTC",
        "state": "ENABLED",
        "job": {"type": "text.transform", "payload": {"text": "n"}},
    }
    assert paused["state"] == "DISABLED" and listed == {"schedules": [paused]}
    assert str(missing.value) == "404 schedule_not_found: no schedule nightly"
    assert missing.value.code == 1 and fake.schedules == {}


def test_a_submit_with_a_callback_url_sends_it_beside_the_payload() -> None:
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=job("QUEUED") | {"callbackUrl": "https://hooks.example.com/in"})

    with api_answering(accept) as api:
        answer = api.submit("text.transform", {"text": "hi"}, callback_url="https://hooks.example.com/in")

    assert json.loads(seen[0].content)["callbackUrl"] == "https://hooks.example.com/in"
    assert answer["callbackUrl"] == "https://hooks.example.com/in"
