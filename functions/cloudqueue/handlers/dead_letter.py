"""DeadLetterFunction: what to do with each message SQS moved to the dead-letter queue.

See ``cloudqueue.recovery`` (item 4): redrive, fail (DeadLettered), wait for a live lease,
or keep a poison message for an operator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue, SqsPoisonQueue
from cloudqueue.handlers import metric_names
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.models import utc_now
from cloudqueue.ports import JobQueue, JobStore, PoisonMessages
from cloudqueue.recovery import DeadLetterAction, handle_dead_letter
from cloudqueue.settings import DeadLetterSettings

logger = service_logger()
tracer = Tracer()
metrics = Metrics(namespace=metric_names.NAMESPACE)

_METRICS = {
    DeadLetterAction.FAILED: metric_names.JOBS_DEAD_LETTERED,
    DeadLetterAction.REDRIVEN: metric_names.JOBS_REDRIVEN,
    DeadLetterAction.POISON: metric_names.POISON_MESSAGES_KEPT,
}


class JobStillLeased(Exception):
    """Keep the message: a live worker holds the job; look again after the visibility timeout."""


@cache
def settings() -> DeadLetterSettings:
    return DeadLetterSettings.from_env()


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@cache
def default_queue() -> JobQueue:
    return SqsJobQueue(settings().queue_url)


@cache
def default_poison() -> PoisonMessages:
    return SqsPoisonQueue(settings().poison_queue_url)


def handle_record(record: SQSRecord, store: JobStore, queue: JobQueue, poison: PoisonMessages) -> None:
    receive_count = int(record.attributes.approximate_receive_count or 0)
    outcome = handle_dead_letter(
        record.body,
        receive_count=receive_count,
        store=store,
        queue=queue,
        now=utc_now(),
        max_receive_count=settings().max_receive_count,
    )
    logger.append_keys(job_id=outcome.job_id)
    metric = _METRICS.get(outcome.action)
    if metric is not None:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    if outcome.action is DeadLetterAction.KEEP:
        raise JobStillLeased(outcome.reason)
    if outcome.action is DeadLetterAction.POISON:
        # Moved, not dropped: kept where nothing consumes it, for `cloudqueue dlq list`.
        poison.keep(
            record.body, message_id=record.message_id, receive_count=receive_count, reason=outcome.reason
        )
        logger.error("poison message kept", extra={"body": record.body[:1000], "reason": outcome.reason})
    else:
        logger.info("dead letter handled", extra={"action": outcome.action.value, "reason": outcome.reason})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    store: JobStore | None = None,
    queue: JobQueue | None = None,
    poison: PoisonMessages | None = None,
) -> dict[str, Any]:
    job_store = store or default_store()
    job_queue = queue or default_queue()
    kept = poison or default_poison()
    # A live lease is expected, not an error: report the record, do not fail the invocation
    # (Powertools raises when every record of a batch failed).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict of the same shape
        event=event,
        record_handler=lambda record: handle_record(record, job_store, job_queue, kept),
        processor=processor,
        context=context,
    )
