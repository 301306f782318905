"""RequeueFunction: on a schedule, sends the message of every job whose pending send is
overdue, then of every job stranded QUEUED past the queue's retention.

Pending sends: the sparse ``PendingSends`` index (see ``cloudqueue.recovery``, item 5), a
bounded number of pages per run, resuming where the last run stopped. Stranded jobs: the
``Listing`` index, each day once, after the queue's retention has passed over it (item 7).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.handlers import metric_names
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.listing import window_days
from cloudqueue.models import utc_now
from cloudqueue.ports import JobQueue, JobStore
from cloudqueue.recovery import resend_stranded_jobs, send_pending_jobs
from cloudqueue.settings import RequeueSettings

logger = service_logger()
tracer = Tracer()
metrics = Metrics(namespace=metric_names.NAMESPACE)

# Stop taking pages this long before the function's timeout, to save the cursor.
_STOP_BEFORE_TIMEOUT_MS = 5_000


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
    store = store or default_store()
    queue = queue or default_queue()
    now = utc_now()

    def time_left() -> float:
        return (context.get_remaining_time_in_millis() - _STOP_BEFORE_TIMEOUT_MS) / 1000

    report = send_pending_jobs(
        store=store,
        queue=queue,
        now=now,
        grace=timedelta(seconds=config.submit_grace_seconds),
        page_size=config.sweep_page_size,
        max_pages=config.sweep_max_pages,
        time_left=time_left,
    )
    if report.sent:  # never a 0 on every sweep: that would publish the metric every hour
        metrics.add_metric(name=metric_names.PENDING_JOBS_SENT, unit=MetricUnit.Count, value=len(report.sent))
        logger.warning(
            "sent the messages of jobs whose pending send was overdue", extra={"jobIds": report.sent}
        )
    stranded = resend_stranded_jobs(
        store=store,
        queue=queue,
        now=now,
        queue_retention=timedelta(seconds=config.queue_retention_seconds),
        window_days=window_days(config.retention_days, config.queue_retention_seconds),
        page_size=config.sweep_page_size,
        time_left=time_left,
    )
    for job_id in stranded.resent:
        logger.warning(
            "sent again the message of a job QUEUED longer than the queue keeps a message",
            extra={"jobId": job_id},
        )
    # Only when there were some: a metric published every hour costs $0.30 a month.
    if stranded.resent:
        metrics.add_metric(
            name=metric_names.STRANDED_JOBS_RESENT, unit=MetricUnit.Count, value=len(stranded.resent)
        )
    return {
        "sent": report.sent,
        "cleared": report.cleared,
        "waiting": report.waiting,
        "pages": report.pages,
        "finishedPass": report.finished_pass,
        "strandedResent": stranded.resent,
        "strandedExamined": stranded.examined,
        "strandedDays": [day.isoformat() for day in stranded.days],
    }
