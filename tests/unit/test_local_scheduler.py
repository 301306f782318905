"""The local stack's Scheduler: one-time and recurring schedules fired at their times (moto keeps
them; ``LocalSchedulerService`` fires them), driven by a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue_local.emulator.scheduler_service import LocalSchedulerService, context_input

GROUP = "stack-JobScheduleGroup"
T0 = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def service() -> Iterator[tuple[LocalSchedulerService, Any, Any, Clock]]:
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        scheduler.create_schedule_group(Name=GROUP)
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        queue = SimpleNamespace(url=url, arn="arn:aws:sqs:us-east-1:123456789012:jobs")
        template = SimpleNamespace(
            schedule_groups={"JobScheduleGroup": GROUP}, queue_by_arn=lambda arn: queue
        )
        clock = Clock()
        runner = LocalSchedulerService(template, SimpleNamespace(), scheduler=scheduler, sqs=sqs, now=clock)  # type: ignore[arg-type]
        yield runner, scheduler, (sqs, url), clock


def received(sqs_and_url: Any) -> list[str]:
    sqs, url = sqs_and_url
    return [
        each["Body"] for each in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_a_one_time_schedule_fires_at_its_time_not_before_then_is_deleted(service) -> None:
    runner, scheduler, queue, clock = service
    scheduler.create_schedule(
        Name="job-1",
        GroupName=GROUP,
        ScheduleExpression="at(2026-12-06T12:00:30)",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:jobs", "RoleArn": "r", "Input": '{"jobId":"j"}'},
    )

    clock.now = T0 + timedelta(seconds=29.9)
    assert runner.fire_due() == 0
    clock.now = T0 + timedelta(seconds=30)
    assert runner.fire_due() == 1

    assert received(queue) == ['{"jobId":"j"}']
    assert scheduler.list_schedules(GroupName=GROUP)["Schedules"] == []


def test_a_rate_schedule_fires_once_per_period_with_its_scheduled_time(service) -> None:
    runner, scheduler, queue, clock = service
    scheduler.create_schedule(
        Name="every-minute",
        GroupName=GROUP,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:sqs:us-east-1:123456789012:jobs",
            "RoleArn": "r",
            "Input": '{"at":"<aws.scheduler.scheduled-time>"}',
        },
    )
    created = scheduler.get_schedule(Name="every-minute", GroupName=GROUP)["CreationDate"]
    clock.now = created

    fired = []
    for seconds in range(0, 185, 5):  # three minutes in steps of 5 s
        clock.now = created + timedelta(seconds=seconds)
        fired.append(runner.fire_due())

    assert sum(fired) == 3
    times = [json.loads(body)["at"] for body in received(queue)]
    assert len(set(times)) == 3


def test_a_paused_schedule_does_not_fire(service) -> None:
    runner, scheduler, queue, clock = service
    scheduler.create_schedule(
        Name="paused",
        GroupName=GROUP,
        ScheduleExpression="at(2026-12-06T12:00:01)",
        FlexibleTimeWindow={"Mode": "OFF"},
        State="DISABLED",
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:jobs", "RoleArn": "r", "Input": "{}"},
    )
    clock.now = T0 + timedelta(hours=1)

    assert runner.fire_due() == 0
    assert received(queue) == []


def test_context_attributes_are_filled_in() -> None:
    text = context_input(
        '{"t":"<aws.scheduler.scheduled-time>","a":"<aws.scheduler.schedule-arn>"}',
        scheduled=T0,
        arn="arn:s",
        execution_id="e",
    )
    assert json.loads(text) == {"t": "2026-12-06T12:00:00Z", "a": "arn:s"}
