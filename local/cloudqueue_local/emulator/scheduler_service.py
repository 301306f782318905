"""EventBridge Scheduler's schedules (the ``scheduler`` service, which moto keeps but never fires),
fired by the local stack: one-time ``at(...)`` schedules at their time, recurring ``rate(...)``
and ``cron(...)`` ones at each of theirs, by performing their target (SQS ``SendMessage`` to a
queue of the template, or invoking one of its functions) with Scheduler's context attributes
put into the target's input; then a one-time schedule is deleted per ``ActionAfterCompletion``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudqueue.schedule_expressions import Cron, Rate, next_cron_minute, parse_expression, parse_timezone
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.polling import Loop
from cloudqueue_local.template import LocalTemplate

logger = logging.getLogger("cloudqueue.local")

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


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
        """Fire every enabled schedule whose time has come; how many fired."""
        now = self.now()
        fired = 0
        for schedule in self.schedules():
            if schedule.get("State", "ENABLED") != "ENABLED":
                continue
            due = self._due(schedule, now)
            if due is None:
                continue
            self.fire(schedule, due)
            fired += 1
            if schedule["ScheduleExpression"].startswith("at("):
                if schedule.get("ActionAfterCompletion") == "DELETE":
                    self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
                else:
                    # Scheduler keeps a completed one-time schedule; it never fires again.
                    self._next[schedule["Arn"]] = (schedule["ScheduleExpression"], None)
        return fired

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

    def fire(self, schedule: dict[str, Any], scheduled: datetime) -> Any:
        """Perform ``schedule``'s target once for ``scheduled`` (its time)."""
        target = schedule["Target"]
        body = context_input(
            target.get("Input") or "{}",
            scheduled=scheduled,
            arn=schedule["Arn"],
            execution_id=str(uuid.uuid4()),
        )
        arn: str = target["Arn"]
        logger.info("scheduler: %s fires for %s", schedule["Name"], scheduled.isoformat())
        if arn.startswith("arn:aws:sqs:"):
            queue = self.template.queue_by_arn(arn)
            return self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)
        if arn.startswith("arn:aws:lambda:"):
            return self.runtime.invoke(arn, json.loads(body))
        raise ValueError(f"the local scheduler cannot call target {arn}")


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
