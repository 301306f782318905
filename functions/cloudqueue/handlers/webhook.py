"""WebhookFunction: one attempt to POST a finished job's state to its callbackUrl.

Its queue holds two kinds of message: a stream record that ``WebhookPipe`` passed (a job with
a callbackUrl has just ended: attempt 1 is made of the job as that write left it), and a retry
this function sent itself (``WebhookDelivery``: the same id and body, the next attempt). See
``cloudqueue.webhooks``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters import dns
from cloudqueue.adapters.dynamodb.deliveries import DynamoDeliveryLog
from cloudqueue.adapters.dynamodb.items import job_from
from cloudqueue.adapters.secrets import webhook_secret
from cloudqueue.adapters.sqs import SqsWebhookRetries
from cloudqueue.adapters.webhook_http import HttpWebhookSender
from cloudqueue.callbacks import CallbackPolicy
from cloudqueue.handlers import metric_names
from cloudqueue.models import utc_now
from cloudqueue.settings import WebhookSettings
from cloudqueue.webhooks import (
    DeliveryLog,
    WebhookDelivery,
    WebhookRetries,
    WebhookSender,
    deliver,
    first_delivery,
)

logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)

# Only what goes wrong: a delivered webhook is counted by AWS/Lambda's Invocations, free.
_METRICS = {"RETRYING": metric_names.WEBHOOKS_RETRIED, "FAILED": metric_names.WEBHOOKS_FAILED}


@cache
def settings() -> WebhookSettings:
    return WebhookSettings.from_env()


@cache
def default_sender() -> WebhookSender:
    config = settings()
    return HttpWebhookSender(
        webhook_secret(config.webhook_secret_arn),
        policy=CallbackPolicy(config.callback_https_only, config.callback_allow_loopback),
        resolve=dns.resolve,
        timeout_seconds=config.webhook_timeout_seconds,
    )


@cache
def default_retries() -> WebhookRetries:
    return SqsWebhookRetries(settings().webhook_queue_url, settings().webhook_dead_letter_queue_url)


@cache
def default_log() -> DeliveryLog:
    return DynamoDeliveryLog(settings().table_name)


def delivery_of(body: str) -> WebhookDelivery | None:
    """The delivery a message asks for; None for a stream record of a job with nothing to send."""
    message: dict[str, Any] = json.loads(body)
    if "dynamodb" not in message:
        return WebhookDelivery.model_validate(message)
    job = job_from(message["dynamodb"].get("NewImage"))
    return first_delivery(job, utc_now()) if job is not None else None


def handle_record(
    record: SQSRecord, sender: WebhookSender, retries: WebhookRetries, log: DeliveryLog
) -> None:
    delivery = delivery_of(record.body)
    if delivery is None:
        return
    logger.append_keys(job_id=delivery.job_id, webhook_id=delivery.webhook_id)
    attempt = deliver(delivery, sender=sender, retries=retries, log=log, now=utc_now())
    metric = _METRICS.get(attempt.outcome)
    if metric is not None:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info(
        "webhook attempt",
        extra={"attempt": attempt.attempt, "outcome": attempt.outcome, "statusCode": attempt.status_code},
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    sender: WebhookSender | None = None,
    retries: WebhookRetries | None = None,
    log: DeliveryLog | None = None,
) -> dict[str, Any]:
    post = sender or default_sender()
    queue = retries or default_retries()
    record_log = log or default_log()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict of the same shape
        event=event,
        record_handler=lambda record: handle_record(record, post, queue, record_log),
        processor=processor,
        context=context,
    )
