"""Recurring schedules: each owner's EventBridge Scheduler schedules that submit a job at each
firing (``POST/GET/DELETE /schedules``, pause, resume), and the submit a firing makes.

A firing's job is submitted with the idempotency key ``schedule:<name>@<scheduled time>``, so
a firing Scheduler delivers twice makes one job."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from cloudqueue import jobs
from cloudqueue.errors import ScheduleExists, ScheduleNotFound
from cloudqueue.jobtypes import JOB_TYPES
from cloudqueue.models import Job, RecurringSchedule
from cloudqueue.ports import JobQueue, JobStore, RecurringSchedules


def create_schedule(schedule: RecurringSchedule, *, schedules: RecurringSchedules) -> RecurringSchedule:
    """Make the owner's schedule; ScheduleExists (409) when the owner has one by that name."""
    if not schedules.create(schedule):
        raise ScheduleExists(f"a schedule named {schedule.name!r} exists; delete it first")
    return schedule


def get_schedule(owner: str, name: str, *, schedules: RecurringSchedules) -> RecurringSchedule:
    found = schedules.get(owner, name)
    if found is None:
        raise ScheduleNotFound(f"no schedule {name}")
    return found


def delete_schedule(owner: str, name: str, *, schedules: RecurringSchedules) -> None:
    if not schedules.delete(owner, name):
        raise ScheduleNotFound(f"no schedule {name}")


def set_enabled(owner: str, name: str, enabled: bool, *, schedules: RecurringSchedules) -> RecurringSchedule:
    """Pause (False) or resume (True) the owner's schedule; ScheduleNotFound when none."""
    found = schedules.set_enabled(owner, name, enabled)
    if found is None:
        raise ScheduleNotFound(f"no schedule {name}")
    return found


def firing_key(owner: str, name: str, scheduled_time: str) -> str:
    """The idempotency key of one firing: the same for every delivery of it, and apart from
    another owner's schedule of the same name (a hash of the owner keeps the key short)."""
    return f"schedule:{hashlib.sha256(owner.encode()).hexdigest()[:12]}:{name}@{scheduled_time}"


def submit_firing(
    event: dict[str, Any],
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    retention_days: int,
    validate: Any,
) -> tuple[Job, bool]:
    """Submit the job of one firing of a schedule (the target's input: ``schedule``, ``owner``,
    ``job``, ``scheduledTime``); returns the job and whether this delivery made it.
    ``validate`` checks the job as a submit would (its type may have changed since)."""
    request = validate(event["job"])
    key: str | None = getattr(request, "concurrencyKey", None)
    return jobs.submit_job(
        str(request.type),
        request.payload.model_dump(mode="json", by_alias=True),
        store=store,
        queue=queue,
        now=now,
        retention_days=retention_days,
        idempotency_key=firing_key(event["owner"], event["schedule"], event["scheduledTime"]),
        owner=event["owner"],
        schedule=event["schedule"],
        concurrency_key=key,
        concurrency_limit=JOB_TYPES[str(request.type)].concurrency_limit if key is not None else None,
        # Checked when the schedule was made; the delivery checks it again after DNS.
        callback_url=getattr(request, "callbackUrl", None),
    )
