"""The clients' recurring schedules (``Client`` and ``AsyncClient``): what each method sends to
the ``/schedules`` routes, the typed ``Schedule`` it reads, and refusals as typed exceptions,
against an in-memory API that keeps schedules as the real one does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from cloudqueue_client import (
    AsyncClient,
    Client,
    Conflict,
    NotFound,
    Retries,
    Schedule,
    ScheduledJob,
    ServerError,
    ValidationError,
)
from tests.client.test_async_client import run

NIGHTLY = {"name": "nightly", "expression": "cron(0 2 * * ? *)", "type": "text.transform"}


def refusal(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


@dataclass
class FakeSchedules:
    """The ``/schedules`` routes, one caller's schedules in memory: 201 on create, 409 for a
    name in use, 422 for an expression that is neither rate() nor cron(), 404 for none."""

    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.raw_path.decode().split("/")[2:]  # after "/schedules"
        if request.method == "POST" and not parts:
            return self.create(json.loads(request.content))
        if request.method == "GET" and not parts:
            return httpx.Response(200, json={"schedules": list(self.schedules.values())})
        name = unquote(parts[0])
        found = self.schedules.get(name)
        if found is None:
            return refusal(404, "schedule_not_found", f"no schedule {name}")
        if request.method == "DELETE":
            del self.schedules[name]
            return httpx.Response(200, json={"name": name, "deleted": True})
        if request.method == "POST" and parts[1:] in (["pause"], ["resume"]):
            found["state"] = "DISABLED" if parts[1] == "pause" else "ENABLED"
        return httpx.Response(200, json=found)

    def create(self, body: dict[str, Any]) -> httpx.Response:
        if not body["expression"].startswith(("rate(", "cron(")):
            return refusal(422, "validation_error", "expression: not rate(...) or cron(...)")
        if body["name"] in self.schedules:
            return refusal(409, "schedule_exists", f"a schedule named {body['name']!r} exists")
        made = {"timezone": "UTC"} | body | {"state": "ENABLED"}
        self.schedules[body["name"]] = made
        return httpx.Response(201, json=made)


def client_of(handler: Callable[[httpx.Request], httpx.Response]) -> Client:
    return Client("http://api.test", transport=httpx.MockTransport(handler), retries=Retries(backoff=0))


def async_client_of(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncClient:
    return AsyncClient("http://api.test", transport=httpx.MockTransport(handler), retries=Retries(backoff=0))


def test_create_posts_the_schedule_as_the_api_names_it_and_answers_a_typed_schedule() -> None:
    api = FakeSchedules()

    with client_of(api) as client:
        made = client.create_schedule(**NIGHTLY, payload={"text": "n"}, timezone="Europe/Paris")

    [request] = api.requests
    assert (request.method, request.url.path) == ("POST", "/schedules")
    assert json.loads(request.content) == {
        "name": "nightly",
        "expression": "cron(0 2 * * ? *)",
        "timezone": "Europe/Paris",
        "job": {"type": "text.transform", "payload": {"text": "n"}},
    }
    assert isinstance(made, Schedule)
    assert made.job == ScheduledJob(type="text.transform", payload={"text": "n"})
    assert (made.state, made.paused, made.timezone) == ("ENABLED", False, "Europe/Paris")


def test_create_without_a_timezone_leaves_it_to_the_api() -> None:
    api = FakeSchedules()

    with client_of(api) as client:
        made = client.create_schedule("hourly", "rate(1 hour)", "text.transform", {"text": "h"})

    assert "timezone" not in json.loads(api.requests[0].content)
    assert made.timezone == "UTC"


def test_create_sends_each_jobs_concurrency_key_and_callback_url_inside_the_job() -> None:
    api = FakeSchedules()

    with client_of(api) as client:
        made = client.create_schedule(
            **NIGHTLY,
            payload={"text": "n"},
            concurrency_key="tenant-7",
            callback_url="https://hooks.example/done",
        )

    assert json.loads(api.requests[0].content)["job"] == {
        "type": "text.transform",
        "payload": {"text": "n"},
        "concurrencyKey": "tenant-7",
        "callbackUrl": "https://hooks.example/done",
    }
    assert (made.job.concurrency_key, made.job.callback_url) == ("tenant-7", "https://hooks.example/done")


def test_a_schedule_is_listed_read_paused_resumed_and_deleted_on_the_apis_routes() -> None:
    api = FakeSchedules()

    with client_of(api) as client:
        client.create_schedule(**NIGHTLY, payload={"text": "n"})
        listed = client.list_schedules()
        read = client.get_schedule("nightly")
        paused = client.pause_schedule("nightly")
        resumed = client.resume_schedule("nightly")
        client.delete_schedule("nightly")
        left = client.list_schedules()

    assert [each.name for each in listed] == ["nightly"] and read == listed[0]
    assert paused.paused and paused.state == "DISABLED"
    assert not resumed.paused and resumed.state == "ENABLED"
    assert left == [] and api.schedules == {}
    routes = [(request.method, request.url.path) for request in api.requests[1:]]
    assert routes == [
        ("GET", "/schedules"),
        ("GET", "/schedules/nightly"),
        ("POST", "/schedules/nightly/pause"),
        ("POST", "/schedules/nightly/resume"),
        ("DELETE", "/schedules/nightly"),
        ("GET", "/schedules"),
    ]


def test_a_name_is_sent_as_one_quoted_path_segment() -> None:
    api = FakeSchedules()

    with client_of(api) as client, pytest.raises(NotFound):
        client.pause_schedule("a/b?c")

    assert api.requests[0].url.raw_path == b"/schedules/a%2Fb%3Fc/pause"


@pytest.mark.parametrize(
    ("call", "refused"),
    [
        pytest.param(lambda client: client.get_schedule("none-such"), NotFound, id="get: 404"),
        pytest.param(lambda client: client.delete_schedule("none-such"), NotFound, id="delete: 404"),
        pytest.param(lambda client: client.pause_schedule("none-such"), NotFound, id="pause: 404"),
        pytest.param(lambda client: client.resume_schedule("none-such"), NotFound, id="resume: 404"),
        pytest.param(
            lambda client: client.create_schedule("x", "every day", "text.transform", {}),
            ValidationError,
            id="create: 422",
        ),
        pytest.param(
            lambda client: client.create_schedule("nightly", "rate(1 day)", "text.transform", {}),
            Conflict,
            id="create: 409",
        ),
    ],
)
def test_refusals_are_the_clients_typed_exceptions_and_change_nothing(
    call: Callable[[Client], Any], refused: type[Exception]
) -> None:
    api = FakeSchedules()
    with client_of(api) as client:
        made = client.create_schedule(**NIGHTLY, payload={"text": "n"})

        with pytest.raises(refused) as raised:
            call(client)

    assert raised.value.status in (404, 409, 422)  # type: ignore[attr-defined]
    assert api.schedules == {"nightly": made.to_json()}


def test_a_create_is_not_repeated_after_a_5xx_the_server_may_have_acted_on() -> None:
    seen: list[httpx.Request] = []

    def failing(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(502, json={"message": "Internal Server Error"})

    with client_of(failing) as client, pytest.raises(ServerError):
        client.create_schedule(**NIGHTLY, payload={})

    assert len(seen) == 1


def test_an_answer_that_is_not_a_schedule_is_an_error_not_a_half_read_model() -> None:
    def wrong(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"name": "nightly"})

    with client_of(wrong) as client, pytest.raises(Exception, match="not a Schedule"):
        client.get_schedule("nightly")


def test_the_async_client_manages_schedules_on_the_same_routes() -> None:
    api = FakeSchedules()

    async def calls() -> tuple[Schedule, list[Schedule], Schedule, Schedule, Schedule]:
        async with async_client_of(api) as client:
            made = await client.create_schedule(**NIGHTLY, payload={"text": "n"})
            listed = await client.list_schedules()
            paused = await client.pause_schedule("nightly")
            resumed = await client.resume_schedule("nightly")
            read = await client.get_schedule("nightly")
            await client.delete_schedule("nightly")
            with pytest.raises(NotFound):
                await client.get_schedule("nightly")
            with pytest.raises(ValidationError):
                await client.create_schedule("x", "sometimes", "text.transform", {})
            return made, listed, paused, resumed, read

    made, listed, paused, resumed, read = run(calls())

    assert listed == [made] and paused.paused and not resumed.paused and read == resumed
    assert api.schedules == {}
    assert [(request.method, request.url.path) for request in api.requests] == [
        ("POST", "/schedules"),
        ("GET", "/schedules"),
        ("POST", "/schedules/nightly/pause"),
        ("POST", "/schedules/nightly/resume"),
        ("GET", "/schedules/nightly"),
        ("DELETE", "/schedules/nightly"),
        ("GET", "/schedules/nightly"),
        ("POST", "/schedules"),
    ]
