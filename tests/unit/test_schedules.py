"""Recurring schedules: the /schedules routes on EventBridge Scheduler (moto), their 422s, the
expressions as Scheduler defines them, and a firing delivered twice making one job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue.adapters.scheduler import SchedulerRecurringSchedules, owner_prefix
from cloudqueue.api_models import validate_job
from cloudqueue.handlers import api, scheduled
from cloudqueue.schedule_expressions import Cron, ExpressionError, Rate, parse_expression, parse_timezone
from cloudqueue.schedules import submit_firing
from tests.fakes import (
    T0,
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakeWorkflow,
    answer_of,
    http_event,
)

GROUP = "cloudqueue-test-jobs"
NIGHTLY = {
    "name": "nightly",
    "expression": "cron(0 2 * * ? *)",
    "timezone": "Europe/Paris",
    "job": {"type": "text.transform", "payload": {"text": "report"}},
}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    api.settings.cache_clear()
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)
        schedules = SchedulerRecurringSchedules(
            group=GROUP,
            role_arn="arn:aws:iam::123456789012:role/scheduler",
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:scheduled",
            client=client,
        )
        yield {"schedules": schedules, "client": client, "store": FakeJobStore()}
    api.settings.cache_clear()


def call(stack: dict[str, Any], method: str, path: str, **event: Any) -> tuple[int, Any]:
    return answer_of(
        api.handler(
            http_event(method, path, **event),
            FakeLambdaContext(),
            store=stack["store"],
            queue=FakeJobQueue(),
            log=FakeExecutionLog(),
            workflow=FakeWorkflow(),
            schedules=stack["schedules"],
            resolver=lambda host, port: {"hooks.example": ["93.184.216.34"], "inside.example": ["10.0.0.8"]}[
                host
            ],
        )
    )


# --- the routes --------------------------------------------------------------------------


def test_a_schedule_is_created_read_listed_paused_resumed_and_deleted(stack) -> None:
    status, made = call(stack, "POST", "/schedules", body=NIGHTLY)
    assert status == 201, made
    assert made == NIGHTLY | {
        "state": "ENABLED",
        "job": NIGHTLY["job"] | {"concurrencyKey": None, "callbackUrl": None},
    }

    # It is a Scheduler schedule in the stack's group, named within its owner's prefix, whose
    # target is the scheduled-submit function with the scheduled time in its input
    kept = stack["client"].get_schedule(Name=owner_prefix("anonymous") + "nightly", GroupName=GROUP)
    assert kept["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert kept["ScheduleExpressionTimezone"] == "Europe/Paris"
    target_input = json.loads(kept["Target"]["Input"])
    assert target_input["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert target_input["owner"] == "anonymous"

    assert call(stack, "GET", "/schedules/nightly") == (200, made)
    assert call(stack, "GET", "/schedules") == (200, {"schedules": [made]})
    assert call(stack, "POST", "/schedules/nightly/pause")[1]["state"] == "DISABLED"
    assert call(stack, "GET", "/schedules/nightly")[1]["state"] == "DISABLED"
    assert call(stack, "POST", "/schedules/nightly/resume")[1]["state"] == "ENABLED"
    assert call(stack, "DELETE", "/schedules/nightly")[0] == 200
    assert call(stack, "GET", "/schedules/nightly")[0] == 404
    assert call(stack, "GET", "/schedules") == (200, {"schedules": []})


def test_a_second_schedule_of_the_same_name_answers_409(stack) -> None:
    call(stack, "POST", "/schedules", body=NIGHTLY)

    status, body = call(stack, "POST", "/schedules", body=NIGHTLY | {"expression": "rate(1 hour)"})

    assert (status, body["error"]["code"]) == (409, "schedule_exists")


def test_another_owners_schedule_answers_exactly_as_a_missing_one(stack) -> None:
    # Given another owner's schedule "nightly" in the same group
    theirs = SchedulerRecurringSchedules(group=GROUP, role_arn="r", function_arn="f", client=stack["client"])
    from cloudqueue.api_models import CreateScheduleRequest

    theirs.create(CreateScheduleRequest.model_validate(NIGHTLY).schedule_of("alice"))

    # Then the caller neither sees nor changes it: the same 404 as for a missing one
    missing = call(stack, "GET", "/schedules/none-such")
    for method, path in [
        ("GET", "/schedules/nightly"),
        ("DELETE", "/schedules/nightly"),
        ("POST", "/schedules/nightly/pause"),
    ]:
        status, body = call(stack, method, path)
        assert (status, body["error"]["code"]) == (404, missing[1]["error"]["code"])
    assert call(stack, "GET", "/schedules") == (200, {"schedules": []})
    assert theirs.get("alice", "nightly").state == "ENABLED"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"expression": "cron(0 2 * * *)"}, "6 fields"),
        ({"expression": "cron(61 2 * * ? *)"}, "minutes"),
        ({"expression": "cron(0 2 * * * *)"}, "'?'"),
        ({"expression": "cron(0 2 ? * ? *)"}, "'?'"),
        ({"expression": "cron(0 2 * FOO ? *)"}, "month"),
        ({"expression": "rate(5 weeks)"}, "rate"),
        ({"expression": "rate(0 minutes)"}, "rate"),
        ({"expression": "every day"}, "rate(<n> <unit>) or cron"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"name": "n" * 49}, "name"),
        ({"name": "no spaces"}, "name"),
        ({"job": {"type": "no.such", "payload": {}}}, "no.such"),
        ({"job": {"type": "text.transform", "payload": {"text": "x"}, "delaySeconds": 5}}, "delaySeconds"),
        # On a stack without webhooks, as for a submit: nothing would ever call it
        (
            {
                "job": {
                    "type": "text.transform",
                    "payload": {"text": "x"},
                    "callbackUrl": "https://hooks.example/",
                }
            },
            "Webhooks=on",
        ),
        (
            {"job": {"type": "text.transform", "payload": {"text": "x"}, "concurrencyKey": ""}},
            "concurrencyKey",
        ),
    ],
)
def test_a_bad_schedule_answers_422_saying_what_is_wrong_and_makes_none(stack, change, says) -> None:
    status, body = call(stack, "POST", "/schedules", body=NIGHTLY | change)

    assert status == 422, body
    assert says in body["error"]["message"]
    assert stack["client"].list_schedules(GroupName=GROUP)["Schedules"] == []


def test_a_schedules_job_keeps_its_concurrency_key_and_callback_url_and_each_firings_job_has_them(
    stack, monkeypatch
) -> None:
    # Given a stack with webhooks, and a schedule whose job has a concurrency key and a callback
    monkeypatch.setenv("WEBHOOKS", "on")
    api.settings.cache_clear()
    job = {
        "type": "demo.sleep",
        "payload": {"seconds": 1},
        "concurrencyKey": "tenant-7",
        "callbackUrl": "https://hooks.example/done",
    }
    status, made = call(stack, "POST", "/schedules", body=NIGHTLY | {"job": job})

    # Then both are kept, shown, and in the firing's input
    assert status == 201, made
    assert made["job"] == job
    assert call(stack, "GET", "/schedules/nightly")[1]["job"] == job
    kept = stack["client"].get_schedule(Name=owner_prefix("anonymous") + "nightly", GroupName=GROUP)
    firing_input = json.loads(kept["Target"]["Input"])

    # And a firing's job is keyed, limited as its type says, and called back when it ends
    submitted, _ = submit_firing(
        firing_input | {"scheduledTime": "2026-12-07T01:00:00Z"},
        store=stack["store"],
        queue=FakeJobQueue(),
        now=T0,
        retention_days=30,
        validate=validate_job,
    )
    assert (submitted.concurrency_key, submitted.concurrency_limit) == ("tenant-7", 2)
    assert submitted.callback_url == "https://hooks.example/done"
    assert submitted.schedule == "nightly"


@pytest.mark.parametrize(
    "url", ["http://hooks.example/done", "https://169.254.169.254/latest", "https://inside.example/"]
)
def test_a_schedules_callback_url_is_refused_as_a_submits_is_and_no_schedule_is_made(
    stack, monkeypatch, url
) -> None:
    # Given a stack with webhooks (https only, as deployed)
    monkeypatch.setenv("WEBHOOKS", "on")
    api.settings.cache_clear()

    # When a schedule's job would call back plain http, the metadata address, or a name that
    # resolves inside the network
    job = NIGHTLY["job"] | {"callbackUrl": url}
    status, body = call(stack, "POST", "/schedules", body=NIGHTLY | {"job": job})

    # Then it is the submit's 422, and no schedule exists
    assert (status, body["error"]["code"]) == (422, "callback_url_refused"), body
    assert stack["client"].list_schedules(GroupName=GROUP)["Schedules"] == []


# --- expressions -------------------------------------------------------------------------


def test_rates_are_read_in_seconds() -> None:
    assert parse_expression("rate(1 minute)") == Rate(60)
    assert parse_expression("rate(5 minutes)") == Rate(300)
    assert parse_expression("rate(2 hours)") == Rate(7200)
    assert parse_expression("rate(1 day)") == Rate(86_400)


def test_a_cron_expression_matches_its_minutes_as_scheduler_counts_days() -> None:
    # 10:15 on weekdays (Scheduler's day-of-week: 1 is Sunday, so 2-6 is Monday to Friday)
    cron = parse_expression("cron(15 10 ? * 2-6 *)")
    assert isinstance(cron, Cron)
    monday, sunday = datetime(2026, 12, 7, 10, 15), datetime(2026, 12, 6, 10, 15)
    assert cron.matches(monday)
    assert not cron.matches(sunday)
    assert not cron.matches(monday.replace(minute=16))
    # Names and steps: every 20 minutes on the 1st of JAN and JUL
    stepped = parse_expression("cron(0/20 * 1 JAN,JUL ? *)")
    assert isinstance(stepped, Cron)
    assert stepped.matches(datetime(2027, 7, 1, 3, 40))
    assert not stepped.matches(datetime(2027, 7, 1, 3, 50))
    assert not stepped.matches(datetime(2027, 8, 1, 3, 40))


def test_an_unknown_time_zone_is_refused() -> None:
    assert parse_timezone("Europe/Paris").key == "Europe/Paris"
    with pytest.raises(ExpressionError, match="unknown time zone"):
        parse_timezone("Europe/Atlantis")


# --- a firing ----------------------------------------------------------------------------


def firing(scheduled_time: str) -> dict[str, Any]:
    return {
        "schedule": "nightly",
        "owner": "anonymous",
        "job": NIGHTLY["job"],
        "scheduledTime": scheduled_time,
    }


def test_a_firing_delivered_twice_makes_one_job_marked_with_its_schedule() -> None:
    store, queue = FakeJobStore(), FakeJobQueue()

    def fire(time: str) -> tuple[Any, bool]:
        return submit_firing(
            firing(time), store=store, queue=queue, now=T0, retention_days=30, validate=validate_job
        )

    first, made = fire("2026-12-07T01:00:00Z")
    again, made_again = fire("2026-12-07T01:00:00Z")
    next_day, _ = fire("2026-12-08T01:00:00Z")

    assert (made, made_again) == (True, False)
    assert again.job_id == first.job_id
    assert next_day.job_id != first.job_id
    assert len(store.jobs) == 2
    assert {job.schedule for job in store.jobs.values()} == {"nightly"}
    assert queue.sent == [first.job_id, next_day.job_id]


def test_the_scheduled_function_submits_its_sample_firing_once(monkeypatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    scheduled.settings.cache_clear()
    store, queue = FakeJobStore(), FakeJobQueue()
    event = firing("2026-12-07T01:00:00Z")

    answers = [scheduled.handler(event, FakeLambdaContext(), store=store, queue=queue) for _ in range(2)]

    assert [answer["created"] for answer in answers] == [True, False]
    assert answers[0]["jobId"] == answers[1]["jobId"]
    assert store.jobs[answers[0]["jobId"]].created_at.tzinfo is UTC
