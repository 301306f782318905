"""RequeueFunction: on a schedule, re-sends the message of every stranded job."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.models import utc_now
from cloudqueue.ports import JobQueue, JobStore
from cloudqueue.recovery import requeue_stranded_jobs
from cloudqueue.settings import RequeueSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="CloudQueue")


@cache
def settings() -> RequeueSettings:
    return RequeueSettings.from_env()


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@cache
def default_queue() -> JobQueue:
    return SqsJobQueue(settings().queue_url)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    store: JobStore | None = None,
    queue: JobQueue | None = None,
) -> dict[str, Any]:
    config = settings()
    report = requeue_stranded_jobs(
        store=store or default_store(),
        queue=queue or default_queue(),
        now=utc_now(),
        queued_for=timedelta(seconds=config.stale_queued_seconds),
        lease_expired_for=timedelta(seconds=config.lease_grace_seconds),
    )
    metrics.add_metric(name="JobsRequeued", unit=MetricUnit.Count, value=len(report.requeued))
    if report.requeued:
        logger.warning("re-enqueued stranded jobs", extra={"jobIds": report.requeued})
    return {"requeued": report.requeued, "skipped": report.skipped}
