"""``POST /jobs/batch`` through the API's handler, on the fake store and queue: one result per
item in order, invalid items failing alone, idempotent replay per item and per owner, the
limits, and unsent jobs never written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cloudqueue.handlers import api
from tests.fakes import (
    FakeDelayedSends,
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakeWorkflow,
    http_event,
)

ALICE = {"jwt": {"claims": {"sub": "alice"}, "scopes": []}}
BOB = {"jwt": {"claims": {"sub": "bob"}, "scopes": []}}


def item(text: str, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "text.transform", "payload": {"text": text}}
    if key is not None:
        body["idempotencyKey"] = key
    return body


class World:
    def __init__(self) -> None:
        self.store = FakeJobStore()
        self.queue = FakeJobQueue()
        self.delayed_sends = FakeDelayedSends()

    def post(self, body: Any, authorizer: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        event = http_event("POST", "/jobs/batch", body=body)
        event["routeKey"] = event["requestContext"]["routeKey"] = "POST /jobs/batch"
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        answer = api.handler(
            event,
            FakeLambdaContext(),
            store=self.store,
            queue=self.queue,
            log=FakeExecutionLog(),
            workflow=FakeWorkflow(),
            delayed_sends=self.delayed_sends,
        )
        return answer["statusCode"], json.loads(answer["body"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    api.settings.cache_clear()
    yield World()
    api.settings.cache_clear()


def test_a_hundred_jobs_are_each_sent_once_and_written_queued_in_order(world):
    status, body = world.post({"jobs": [item(f"job {n}") for n in range(100)]})

    assert status == 200
    results = body["results"]
    assert [result["status"] for result in results] == [201] * 100
    ids = [result["jobId"] for result in results]
    assert len(set(ids)) == 100
    assert sorted(world.queue.sent) == sorted(ids)
    assert [world.store.jobs[job_id].payload["text"] for job_id in ids] == [f"job {n}" for n in range(100)]
    assert {world.store.jobs[job_id].status.value for job_id in ids} == {"QUEUED"}
    assert {world.store.jobs[job_id].owner for job_id in ids} == {"anonymous"}


@pytest.mark.parametrize("count", [101, 250])
def test_more_than_a_hundred_jobs_are_refused_whole_and_nothing_is_kept(world, count):
    status, body = world.post({"jobs": [item("x")] * count})

    assert status == 422
    assert body["error"]["code"] == "invalid_batch"
    assert "at most 100" in body["error"]["message"]
    assert world.store.jobs == {} and world.queue.sent == []


@pytest.mark.parametrize("body", [{"jobs": []}, {}, {"jobs": "no"}, [item("x")], {"jobs": None}])
def test_an_empty_or_malformed_batch_is_422_and_nothing_is_kept(world, body):
    status, answer = world.post(body)

    assert status == 422, answer
    assert answer["error"]["code"] in {"invalid_batch", "validation_error"}
    assert world.store.jobs == {} and world.queue.sent == []


def test_a_body_over_the_limit_is_413(world):
    status, answer = world.post({"jobs": [item("x" * 1000)] * 70})

    assert status == 413
    assert answer["error"]["code"] == "request_too_large"
    assert world.store.jobs == {}


def test_an_invalid_item_fails_alone_with_a_single_submits_error(world):
    items = [
        item("first"),
        {"type": "no.such.type", "payload": {}},
        {"type": "text.transform", "payload": {}},
        {"type": "text.transform", "payload": {"text": "x"}, "surprise": 1},
        item("", key=""),
        7,
        item("last"),
    ]
    status, body = world.post({"jobs": items})

    assert status == 200
    results = body["results"]
    assert [result.get("status") for result in results] == [201, None, None, None, None, None, 201]
    assert results[1]["error"]["code"] == "unknown_job_type"
    assert results[2]["error"]["code"] == "validation_error"
    assert "payload.text" in results[2]["error"]["message"]
    assert results[3]["error"]["code"] == "validation_error"
    assert "idempotencyKey" in results[4]["error"]["message"]
    assert results[5]["error"]["code"] == "validation_error"
    written = [results[0]["jobId"], results[6]["jobId"]]
    assert sorted(world.store.jobs) == sorted(written) == sorted(world.queue.sent)


def test_each_item_replays_its_own_key_and_sends_nothing_again(world):
    first = world.post({"jobs": [item("a", key="k-a"), item("b"), item("c", key="k-c")]})[1]["results"]
    sent = list(world.queue.sent)

    again = world.post({"jobs": [item("a", key="k-a"), item("c", key="k-c"), item("c", key="k-other")]})[1]

    replays = again["results"]
    assert replays[0] == {"jobId": first[0]["jobId"], "status": 200}
    assert replays[1] == {"jobId": first[2]["jobId"], "status": 200}
    assert replays[2]["status"] == 201
    assert world.queue.sent == [*sent, replays[2]["jobId"]]
    assert len(world.store.jobs) == 4


def test_a_key_reused_with_another_body_is_that_items_conflict(world):
    world.post({"jobs": [item("a", key="k")]})

    results = world.post({"jobs": [item("changed", key="k"), item("fine")]})[1]["results"]

    assert results[0]["error"]["code"] == "idempotency_key_reused"
    assert results[1]["status"] == 201
    assert len(world.store.jobs) == 2


def test_a_key_twice_in_one_batch_makes_one_job(world):
    results = world.post({"jobs": [item("a", key="k"), item("a", key="k"), item("b", key="k")]})[1]["results"]

    assert results[0]["status"] == 201
    assert results[1] == {"jobId": results[0]["jobId"], "status": 200}
    assert results[2]["error"]["code"] == "idempotency_key_reused"
    assert list(world.store.jobs) == [results[0]["jobId"]] == world.queue.sent


def test_keys_are_per_owner(world):
    alices = world.post({"jobs": [item("a", key="k")]}, ALICE)[1]["results"][0]
    bobs = world.post({"jobs": [item("a", key="k")]}, BOB)[1]["results"][0]
    alices_again = world.post({"jobs": [item("a", key="k")]}, ALICE)[1]["results"][0]

    assert alices["status"] == bobs["status"] == 201
    assert alices["jobId"] != bobs["jobId"]
    assert alices_again == {"jobId": alices["jobId"], "status": 200}
    assert world.store.jobs[alices["jobId"]].owner == "alice"
    assert world.store.jobs[bobs["jobId"]].owner == "bob"


def test_a_job_whose_message_was_not_sent_is_that_items_error_and_is_never_written(world):
    world.queue.refuse = {1, 3}

    results = world.post({"jobs": [item(str(n)) for n in range(5)]})[1]["results"]

    assert [result.get("status") for result in results] == [201, None, 201, None, 201]
    assert results[1]["error"]["code"] == results[3]["error"]["code"] == "enqueue_failed"
    accepted = [results[n]["jobId"] for n in (0, 2, 4)]
    assert sorted(world.store.jobs) == sorted(accepted) == sorted(world.queue.sent)


def test_the_route_is_in_the_openapi_document(world):
    document = json.loads(api.openapi_json())

    operation = document["paths"]["/jobs/batch"]["post"]
    assert "200" in operation["responses"] and "422" in operation["responses"]


def test_a_batch_item_may_be_delayed_or_keyed_as_a_single_submit_is(world, monkeypatch):
    # Given a stack that holds back messages up to 900 s in SQS, then by a one-time schedule
    monkeypatch.setenv("SQS_DELAY_LIMIT_SECONDS", "900")
    api.settings.cache_clear()

    # When they are submitted in one batch
    _, body = world.post(
        {
            "jobs": [
                item("now"),
                {**item("in a minute"), "delaySeconds": 60},
                {**item("tomorrow"), "delaySeconds": 86_400},
                {"type": "demo.sleep", "payload": {"seconds": 1}, "concurrencyKey": "tenant-7"},
            ]
        }
    )

    # Then each is the job a single submit of its body makes
    now_id, minute_id, day_id, keyed_id = [result["jobId"] for result in body["results"]]
    jobs = world.store.jobs
    assert jobs[now_id].status.value == "QUEUED" and jobs[now_id].run_at is None
    assert jobs[minute_id].status.value == jobs[day_id].status.value == "SCHEDULED"
    # the minute's message is held back by SQS and carries its due time; the day's is a schedule
    [(_, run_at, delay)] = [entry for entry in world.queue.delays if entry[0] == minute_id]
    assert run_at == jobs[minute_id].run_at and delay in (59, 60)
    assert world.delayed_sends.schedules == {day_id: jobs[day_id].run_at}
    assert day_id not in world.queue.sent
    assert (jobs[keyed_id].concurrency_key, jobs[keyed_id].concurrency_limit) == ("tenant-7", 2)


def test_a_batch_item_with_both_a_delay_and_a_time_fails_alone(world):
    status, body = world.post(
        {"jobs": [item("fine"), {**item("both"), "delaySeconds": 5, "runAt": "2030-01-01T00:00:00Z"}]}
    )

    assert status == 200
    fine, both = body["results"]
    assert fine["status"] == 201
    assert both["error"]["code"] == "validation_error"
    assert "not both" in both["error"]["message"]
    assert len(world.store.jobs) == 1


def test_a_batch_items_callback_url_is_checked_as_a_single_submits_and_refused_alone(world, monkeypatch):
    # Given a stack with webhooks on
    monkeypatch.setenv("WEBHOOKS", "true")
    api.settings.cache_clear()

    # When a batch names the metadata endpoint for one item and nothing for the other
    status, body = world.post(
        {
            "jobs": [
                {**item("stolen"), "callbackUrl": "https://169.254.169.254/latest/meta-data"},
                item("plain"),
            ]
        }
    )

    # Then that item alone is refused, as a single submit would be, and nothing of it is kept
    assert status == 200
    refused, plain = body["results"]
    assert refused["error"]["code"] == "callback_url_refused"
    assert plain["status"] == 201
    assert list(world.store.jobs) == [plain["jobId"]] and world.queue.sent == [plain["jobId"]]


def test_a_batch_items_callback_url_is_refused_alone_on_a_stack_without_webhooks(world):
    status, body = world.post(
        {"jobs": [{**item("hook"), "callbackUrl": "https://example.com/in"}, item("x")]}
    )

    assert status == 200
    refused, plain = body["results"]
    assert refused["error"]["code"] == "webhooks_disabled"
    assert plain["status"] == 201
    assert len(world.store.jobs) == 1
