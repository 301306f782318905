"""EventBridge Scheduler: the one-time schedules that send a delayed job's message when a delay
is longer than SQS can hold a message back (``cloudqueue.ports.DelayedSends``), and the
owners' recurring schedules (``cloudqueue.ports.RecurringSchedules``)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cloudqueue.adapters import aws_client
from cloudqueue.adapters.sqs import job_message_body
from cloudqueue.models import RecurringSchedule

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def at_expression(when: datetime) -> str:
    """Scheduler's one-time expression in UTC, to the second, rounded up (a schedule that fires
    early sends a message the claim puts back): ``at(2026-12-06T13:00:01)`` for 13:00:00.2."""
    utc = when.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({utc.strftime('%Y-%m-%dT%H:%M:%S')})"


def delayed_send_name(job_id: str) -> str:
    """The one-time schedule of a job: found again by its id to cancel it."""
    return f"job-{job_id}"


# Scheduler's own defaults, written out: it retries a failed send with backoff for up to a day.
SEND_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}


class SchedulerDelayedSends:
    """One-time schedules in the stack's schedule group whose target is SQS ``SendMessage`` of
    the job's message to the job queue, through the template's role. Its client is made on
    first use.

    A send that still fails once Scheduler's retries are spent goes to ``dead_letter_arn``,
    the job queue's dead-letter queue: its consumer sends the job's message again (or ends the
    job), as for any message SQS dead-letters (``cloudqueue.recovery``). Without it Scheduler
    would drop the send, and the job would stay SCHEDULED with no message."""

    def __init__(
        self,
        *,
        group: str,
        role_arn: str,
        queue_arn: str,
        dead_letter_arn: str = "",
        client: EventBridgeSchedulerClient | None = None,
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.queue_arn = queue_arn
        self.dead_letter_arn = dead_letter_arn
        self._client = client

    @property
    def client(self) -> EventBridgeSchedulerClient:
        if self._client is None:
            self._client = aws_client("scheduler")
        return self._client

    def schedule_send(self, job_id: str, run_at: datetime) -> None:
        target: dict[str, Any] = {
            "Arn": self.queue_arn,
            "RoleArn": self.role_arn,
            "Input": job_message_body(job_id, run_at),
            "RetryPolicy": SEND_RETRY_POLICY,
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        self.client.create_schedule(
            Name=delayed_send_name(job_id),
            GroupName=self.group,
            ScheduleExpression=at_expression(run_at),
            ScheduleExpressionTimezone="UTC",
            # OFF: Scheduler fires within its minute of the time, not a window after it.
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target=target,  # type: ignore[arg-type]
        )

    def cancel_send(self, job_id: str) -> bool:
        try:
            self.client.delete_schedule(Name=delayed_send_name(job_id), GroupName=self.group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True


# --- recurring schedules -----------------------------------------------------------------

# Scheduler's context attribute: the time this firing was scheduled for, put in the input.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def owner_prefix(owner: str) -> str:
    """Names are each owner's own: a schedule's name in Scheduler starts with a hash of its
    owner (12 hex characters: 48 bits), so two owners may both have a schedule "nightly"."""
    return "s-" + hashlib.sha256(owner.encode()).hexdigest()[:12] + "-"


class SchedulerRecurringSchedules:
    """``cloudqueue.ports.RecurringSchedules`` in the stack's schedule group: each schedule's
    target is the scheduled-submit function, invoked through the template's role with the
    owner, the schedule's name, its job and Scheduler's scheduled time as input."""

    def __init__(
        self,
        *,
        group: str,
        role_arn: str,
        function_arn: str,
        client: EventBridgeSchedulerClient | None = None,
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.function_arn = function_arn
        self._client = client

    @property
    def client(self) -> EventBridgeSchedulerClient:
        if self._client is None:
            self._client = aws_client("scheduler")
        return self._client

    def _target(self, schedule: RecurringSchedule) -> dict[str, Any]:
        event = {
            "schedule": schedule.name,
            "owner": schedule.owner,
            "job": schedule.job.to_json_dict(exclude_none=True),
            "scheduledTime": SCHEDULED_TIME,
        }
        return {"Arn": self.function_arn, "RoleArn": self.role_arn, "Input": json.dumps(event)}

    def _write(self, schedule: RecurringSchedule, *, create: bool) -> None:
        call = self.client.create_schedule if create else self.client.update_schedule
        call(
            Name=owner_prefix(schedule.owner) + schedule.name,
            GroupName=self.group,
            ScheduleExpression=schedule.expression,
            ScheduleExpressionTimezone=schedule.timezone,
            FlexibleTimeWindow={"Mode": "OFF"},
            State=schedule.state,
            Target=self._target(schedule),  # type: ignore[arg-type]
        )

    def create(self, schedule: RecurringSchedule) -> bool:
        try:
            self._write(schedule, create=True)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConflictException":
                return False
            raise
        return True

    def get(self, owner: str, name: str) -> RecurringSchedule | None:
        try:
            found = self.client.get_schedule(Name=owner_prefix(owner) + name, GroupName=self.group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        event = json.loads(found["Target"].get("Input") or "{}")
        return RecurringSchedule(
            name=name,
            expression=found["ScheduleExpression"],
            timezone=found.get("ScheduleExpressionTimezone") or "UTC",
            state="DISABLED" if found.get("State") == "DISABLED" else "ENABLED",
            job=event["job"],
            owner=owner,
        )

    def list(self, owner: str) -> list[RecurringSchedule]:
        prefix = owner_prefix(owner)
        names = [
            summary["Name"][len(prefix) :]
            for page in self.client.get_paginator("list_schedules").paginate(
                GroupName=self.group, NamePrefix=prefix
            )
            for summary in page["Schedules"]
            if summary["Name"].startswith(prefix)
        ]
        found = [self.get(owner, name) for name in sorted(names)]
        return [schedule for schedule in found if schedule is not None]

    def delete(self, owner: str, name: str) -> bool:
        try:
            self.client.delete_schedule(Name=owner_prefix(owner) + name, GroupName=self.group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True

    def set_enabled(self, owner: str, name: str, enabled: bool) -> RecurringSchedule | None:
        schedule = self.get(owner, name)
        if schedule is None:
            return None
        changed = schedule.model_copy(update={"state": "ENABLED" if enabled else "DISABLED"})
        self._write(changed, create=False)
        return changed
