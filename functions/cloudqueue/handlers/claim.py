"""ClaimFunction: the state machine's ``ClaimJob`` task."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue, SqsPoisonQueue
from cloudqueue.handlers import metric_names
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.models import ClaimRequest, utc_now
from cloudqueue.ports import JobQueue, JobStore, PoisonMessages
from cloudqueue.settings import ClaimSettings
from cloudqueue.workflow import claim_job

# No Powertools Tracer on the per-job path: importing the X-Ray SDK costs about as much as
# importing boto3 (measured by `cloudqueue bench`), paid on every cold start. The function's
# Active tracing and the state machine's tracing still put each invocation in the trace.
logger = service_logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)

# A claim is every job's, so CLAIMED counts nothing; only the rare outcomes are metrics.
_METRICS = {
    "SKIPPED": metric_names.DUPLICATE_DELIVERIES_SKIPPED,
    "POISON": metric_names.POISON_MESSAGES_KEPT,
    "DEFERRED": metric_names.EARLY_DELIVERIES_DEFERRED,
}


@cache
def settings() -> ClaimSettings:
    return ClaimSettings.from_env()


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@cache
def default_poison() -> PoisonMessages:
    # Its SQS client is made at the first message kept, not at every cold start.
    return SqsPoisonQueue(settings().poison_queue_url)


@cache
def default_queue() -> JobQueue | None:
    # Used only to put back an early message of a delayed job.
    url = settings().queue_url
    return SqsJobQueue(url) if url else None


@logger.inject_lambda_context
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    store: JobStore | None = None,
    poison: PoisonMessages | None = None,
    queue: JobQueue | None = None,
) -> dict[str, Any]:
    request = ClaimRequest.model_validate(event)
    logger.append_keys(message_id=request.message.message_id, receive_count=request.message.receive_count)
    config = settings()
    response = claim_job(
        request,
        store=store or default_store(),
        poison=poison or default_poison(),
        now=utc_now(),
        lease_seconds=config.lease_seconds,
        submit_grace_seconds=config.submit_grace_seconds,
        wait=time.sleep,
        queue=queue or default_queue(),
    )
    logger.set_correlation_id(response.job_id)  # the body is parsed (and checked) by claim_job
    metric = _METRICS.get(response.outcome)
    if metric is not None:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    if response.outcome == "POISON":
        body = request.message.body[:1000]
        logger.error("poison message kept", extra={"body": body, "reason": response.reason})
    else:
        extra = {"outcome": response.outcome, "reason": response.reason, "attempt": response.attempt}
        logger.info("claim", extra=extra)
    return response.to_json_dict()
