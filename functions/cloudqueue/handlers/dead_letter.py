"""DeadLetterFunction: marks FAILED the jobs whose messages SQS moved to the dead-letter queue."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.models import utc_now
from cloudqueue.ports import JobStore
from cloudqueue.recovery import fail_dead_lettered_job
from cloudqueue.settings import DeadLetterSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="CloudQueue")


class JobStillLeased(Exception):
    """Keep the message: a live worker holds the job; look again after the visibility timeout."""


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(DeadLetterSettings.from_env())


def handle_record(record: SQSRecord, store: JobStore) -> None:
    outcome = fail_dead_lettered_job(
        record.body,
        receive_count=int(record.attributes.approximate_receive_count or 0),
        store=store,
        now=utc_now(),
    )
    logger.append_keys(job_id=outcome.job_id)
    if outcome.failed:
        metrics.add_metric(name="JobsDeadLettered", unit=MetricUnit.Count, value=1)
        logger.error("dead-lettered job marked FAILED", extra={"reason": outcome.reason})
    elif outcome.retry_later:
        raise JobStillLeased(outcome.reason)
    elif outcome.job_id is None:
        metrics.add_metric(name="UnreadableDeadLetters", unit=MetricUnit.Count, value=1)
        logger.error(
            "unreadable dead letter dropped", extra={"body": record.body[:1000], "reason": outcome.reason}
        )
    else:
        logger.info("dead letter needs nothing", extra={"reason": outcome.reason})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, *, store: JobStore | None = None
) -> dict[str, Any]:
    job_store = store or default_store()
    # A live lease is expected, not an error: report the record, do not fail the invocation
    # (Powertools raises when every record of a batch failed).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict of the same shape
        event=event,
        record_handler=lambda record: handle_record(record, job_store),
        processor=processor,
        context=context,
    )
