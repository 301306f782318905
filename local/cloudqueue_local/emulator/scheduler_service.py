"""EventBridge Scheduler's schedules (the ``scheduler`` service, which moto keeps but never fires),
fired by the local stack: one-time ``at(...)`` schedules at their time, recurring ``rate(...)``
and ``cron(...)`` ones at each of theirs, by performing their target (SQS ``SendMessage`` to a
queue of the template, or invoking one of its functions) with Scheduler's context attributes
put into the target's input; then a one-time schedule is deleted per ``ActionAfterCompletion``.

A target that fails (its send or invocation raises) is tried again, as Scheduler does, with a
backoff, until the schedule's ``RetryPolicy`` is spent (``MaximumRetryAttempts`` retries, or
``MaximumEventAgeInSeconds`` since the time it fired for). Then the input goes to the target's
``DeadLetterConfig`` queue, with Scheduler's attributes saying why, or is dropped if it has
none. A function that runs and fails is not retried here (on AWS, Lambda's asynchronous
invocation retries it twice).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue.schedule_expressions import Cron, Rate, next_cron_minute, parse_expression, parse_timezone
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.polling import Loop
from cloudqueue_local.template import LocalTemplate

logger = logging.getLogger("cloudqueue.local")

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
# Scheduler's RetryPolicy when a target gives none.
_DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}
_MAX_BACKOFF = timedelta(seconds=60)


@dataclass
class _Retry:
    """A firing whose target failed: tried again at ``next_at``."""

    schedule: dict[str, Any]
    scheduled: datetime
    attempts: int
    next_at: datetime


def context_input(text: str, *, scheduled: datetime, arn: str, execution_id: str, attempt: int = 1) -> str:
    """The target's input with Scheduler's context attributes filled in."""
    values = {
        "<aws.scheduler.scheduled-time>": scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.schedule-arn>": arn,
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for name, value in values.items():
        text = text.replace(name, value)
    return text


class LocalSchedulerService(Loop):
    """Fires the schedules of the template's schedule groups, looking every ``tick`` seconds.

    ``now`` is this loop's own clock (a test may give a fake one to fire a schedule early);
    ``fire`` performs one schedule's target for one scheduled time, as Scheduler would (a test
    may call it twice for the same time, as Scheduler may deliver twice)."""

    def __init__(
        self,
        template: LocalTemplate,
        runtime: LambdaRuntime,
        *,
        scheduler: Any,
        sqs: Any,
        tick: float = 0.25,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__("scheduler", 1)
        self.template = template
        self.runtime = runtime
        self.scheduler = scheduler
        self.sqs = sqs
        self.tick = tick
        self.now = now
        # Recurring schedules: ARN -> (the expression and zone it was planned for, next time).
        self._next: dict[str, tuple[str, datetime | None]] = {}
        # Firings whose target failed, by (ARN, scheduled time), to be tried again.
        self._retries: dict[tuple[str, datetime], _Retry] = {}
        self.dead_lettered = 0

    def step(self) -> None:
        if self.begin_work():
            try:
                self.fire_due()
            finally:
                self.end_work()
        self._stopping.wait(self.tick)

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule of the stack's groups, in full."""
        found = []
        for group in self.template.schedule_groups.values():
            pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=group)
            for page in pages:
                for summary in page["Schedules"]:
                    found.append(self.scheduler.get_schedule(Name=summary["Name"], GroupName=group))
        return found

    def fire_due(self) -> int:
        """Try again every failed firing whose backoff has passed, then fire every enabled
        schedule whose time has come; how many firings were delivered."""
        now = self.now()
        delivered = 0
        schedules = self.schedules()
        live = {schedule["Arn"] for schedule in schedules}
        for key, retry in list(self._retries.items()):
            if key[0] not in live:  # deleted meanwhile (a cancelled job's): nothing to try
                del self._retries[key]
            elif retry.next_at <= now:
                delivered += self.deliver(retry.schedule, retry.scheduled, attempt=retry.attempts + 1)
        for schedule in schedules:
            if schedule.get("State", "ENABLED") != "ENABLED":
                continue
            due = self._due(schedule, now)
            if due is None:
                continue
            if schedule["ScheduleExpression"].startswith("at("):
                # A one-time schedule fires once; a failed firing is tried again from _retries.
                self._next[schedule["Arn"]] = (schedule["ScheduleExpression"], None)
            delivered += self.deliver(schedule, due)
        return delivered

    def deliver(self, schedule: dict[str, Any], scheduled: datetime, *, attempt: int = 1) -> bool:
        """Fire ``schedule`` for ``scheduled``; on a failure, plan the next try or dead-letter
        it once its retry policy is spent. True if the target took it."""
        key = (schedule["Arn"], scheduled)
        try:
            self.fire(schedule, scheduled, attempt=attempt)
        except Exception as error:  # any failure of the target is Scheduler's to retry
            policy = {**_DEFAULT_RETRY_POLICY, **(schedule["Target"].get("RetryPolicy") or {})}
            now = self.now()
            spent = None
            if attempt > policy["MaximumRetryAttempts"]:
                spent = "MaximumRetryAttempts"
            elif now - scheduled >= timedelta(seconds=policy["MaximumEventAgeInSeconds"]):
                spent = "MaximumEventAgeInSeconds"
            if spent is None:
                backoff = min(timedelta(seconds=self.tick * 2**attempt), _MAX_BACKOFF)
                self._retries[key] = _Retry(schedule, scheduled, attempt, now + backoff)
                logger.warning(
                    "scheduler: %s failed (%s); tried again in %s", schedule["Name"], error, backoff
                )
                return False
            self._retries.pop(key, None)
            self.dead_letter(schedule, scheduled, error, attempts=attempt, condition=spent)
            self._complete(schedule)
            return False
        self._retries.pop(key, None)
        self._complete(schedule)
        return True

    def _complete(self, schedule: dict[str, Any]) -> None:
        """A one-time schedule is done: deleted per ``ActionAfterCompletion`` (else kept, never
        firing again)."""
        if (
            schedule["ScheduleExpression"].startswith("at(")
            and schedule.get("ActionAfterCompletion") == "DELETE"
        ):
            with contextlib.suppress(
                self.scheduler.exceptions.ResourceNotFoundException
            ):  # deleted meanwhile
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])

    def dead_letter(
        self,
        schedule: dict[str, Any],
        scheduled: datetime,
        error: Exception,
        *,
        attempts: int,
        condition: str,
    ) -> None:
        """The firing's input to the target's dead-letter queue, with Scheduler's attributes
        saying why; without one, Scheduler drops it."""
        target = schedule["Target"]
        arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            logger.warning(
                "scheduler: %s failed %d times and has no dead-letter queue: dropped",
                schedule["Name"],
                attempts,
            )
            return
        text = {"DataType": "String"}
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
        self.sqs.send_message(
            QueueUrl=self.template.queue_by_arn(arn).url,
            MessageBody=_input_of(schedule, scheduled, attempts),
            MessageAttributes={
                "ERROR_CODE": {**text, "StringValue": code},
                "ERROR_MESSAGE": {**text, "StringValue": str(error)[:1024] or code},
                "EXHAUSTED_RETRY_CONDITION": {**text, "StringValue": condition},
                "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": str(attempts - 1)},
                "SCHEDULE_ARN": {**text, "StringValue": schedule["Arn"]},
                "TARGET_ARN": {**text, "StringValue": target["Arn"]},
            },
        )
        self.dead_lettered += 1
        logger.warning("scheduler: %s failed %d times: its input is in %s", schedule["Name"], attempts, arn)

    def _due(self, schedule: dict[str, Any], now: datetime) -> datetime | None:
        """The scheduled time ``schedule`` is due to fire for at ``now``, or None."""
        expression: str = schedule["ScheduleExpression"]
        zone = parse_timezone(schedule.get("ScheduleExpressionTimezone") or "UTC")
        arn = schedule["Arn"]
        at = _AT.match(expression)
        if at:
            if arn in self._next:
                return None
            moment = datetime.fromisoformat(at.group(1)).replace(tzinfo=zone)
            return moment if moment <= now else None
        planned = self._next.get(arn)
        key = f"{expression}@{zone.key}"
        if planned is None or planned[0] != key:
            start: datetime = (
                _as_datetime(schedule.get("LastModificationDate") or schedule.get("CreationDate")) or now
            )
            planned = (key, _following(parse_expression(expression), start, zone))
            self._next[arn] = planned
        when = planned[1]
        if when is None or when > now:
            return None
        self._next[arn] = (key, _following(parse_expression(expression), when, zone))
        return when

    def fire(self, schedule: dict[str, Any], scheduled: datetime, *, attempt: int = 1) -> Any:
        """Perform ``schedule``'s target once for ``scheduled`` (its time)."""
        body = _input_of(schedule, scheduled, attempt)
        arn: str = schedule["Target"]["Arn"]
        logger.info("scheduler: %s fires for %s", schedule["Name"], scheduled.isoformat())
        if arn.startswith("arn:aws:sqs:"):
            queue = self.template.queue_by_arn(arn)
            return self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)
        if arn.startswith("arn:aws:lambda:"):
            return self.runtime.invoke(arn, json.loads(body))
        raise ValueError(f"the local scheduler cannot call target {arn}")


def _input_of(schedule: dict[str, Any], scheduled: datetime, attempt: int) -> str:
    """The target's input for one attempt of one firing, its context attributes filled in."""
    return context_input(
        schedule["Target"].get("Input") or "{}",
        scheduled=scheduled,
        arn=schedule["Arn"],
        execution_id=str(uuid.uuid4()),
        attempt=attempt,
    )


def _following(expression: Rate | Cron, after: datetime, zone: Any) -> datetime | None:
    if isinstance(expression, Rate):
        return after + timedelta(seconds=expression.seconds)
    found = next_cron_minute(expression, after, zone)
    return found.astimezone(UTC) if found else None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None
