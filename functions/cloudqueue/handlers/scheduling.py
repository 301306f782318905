"""ApiFunction's EventBridge Scheduler adapters, built once per container on first use: only
a delayed submit, a cancel and the /schedules routes need them."""

from __future__ import annotations

from functools import cache

from cloudqueue.ports import DelayedSends, RecurringSchedules
from cloudqueue.settings import ApiSettings


@cache
def _settings() -> ApiSettings:
    return ApiSettings.from_env()


@cache
def default_delayed_sends() -> DelayedSends:
    """One-time schedules that send a delayed job's message (the template's group and role)."""
    from cloudqueue.adapters.scheduler import SchedulerDelayedSends  # only delayed jobs need it

    config = _settings()
    return SchedulerDelayedSends(
        group=config.schedule_group,
        role_arn=config.scheduler_role_arn,
        queue_arn=config.queue_arn,
        dead_letter_arn=config.dead_letter_queue_arn,
    )


@cache
def default_schedules() -> RecurringSchedules:
    """The owners' recurring schedules, whose target is the scheduled-submit function."""
    from cloudqueue.adapters.scheduler import SchedulerRecurringSchedules

    config = _settings()
    return SchedulerRecurringSchedules(
        group=config.schedule_group,
        role_arn=config.scheduler_role_arn,
        function_arn=config.scheduled_function_arn,
    )
