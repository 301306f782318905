"""ScheduledSubmitFunction: the target of every recurring schedule. Each firing's input names the
schedule, its owner, its job and Scheduler's scheduled time; the job is submitted once per
firing, however often Scheduler delivers it (``cloudqueue.schedules.submit_firing``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.api_models import validate_job
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.models import utc_now
from cloudqueue.ports import JobQueue, JobStore
from cloudqueue.schedules import submit_firing
from cloudqueue.settings import ScheduledSettings

logger = service_logger()


@cache
def settings() -> ScheduledSettings:
    return ScheduledSettings.from_env()


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@cache
def default_queue() -> JobQueue:
    return SqsJobQueue(settings().queue_url)


# No metric: a firing's job is every scheduled job (the function's Invocations count them).
@logger.inject_lambda_context
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    store: JobStore | None = None,
    queue: JobQueue | None = None,
) -> dict[str, Any]:
    job, created = submit_firing(
        event,
        store=store or default_store(),
        queue=queue or default_queue(),
        now=utc_now(),
        retention_days=settings().retention_days,
        validate=validate_job,
    )
    logger.set_correlation_id(job.job_id)
    extra = {
        "schedule": event.get("schedule"),
        "scheduledTime": event.get("scheduledTime"),
        "newJob": created,
    }
    if created:
        logger.info("scheduled job submitted", extra=extra)
    else:
        logger.info("a firing delivered again: its job exists", extra=extra)
    return {"jobId": job.job_id, "created": created}
