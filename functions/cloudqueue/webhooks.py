"""Webhook delivery: POST a finished job's state to its ``callbackUrl``, signed the Standard
Webhooks way, retried with backoff for 24 hours, every attempt recorded on the job.

The jobs table's stream feeds ``WebhookPipe``: a write that made a job with a callbackUrl
SUCCEEDED, FAILED or CANCELLED (from a status that was not one of those) becomes a message on
the webhook queue. ``WebhookFunction`` takes it (``first_delivery``) and makes attempt 1. An
attempt that got a 5xx, 408, 429, a timeout or no connection is sent back to the webhook queue
with the next attempt's number and a delay (``callbacks.retry_delay``: the first within 10 s,
then up to SQS's 15 minutes); every retry carries the same ``webhook-id`` and the same body, so
a receiver de-duplicates on it. Any other answer (a 4xx, a redirect, which is never followed),
an address refused at delivery, or a retry that would start more than 24 hours after the
first attempt ends the delivery in the webhook dead-letter queue.

At least once: an attempt is recorded, then the retry (or dead letter) is sent, then the SQS
message is deleted; a crash between them repeats the attempt, with the same ``webhook-id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from cloudqueue.api_models import JobView
from cloudqueue.callbacks import RETRY_FOR_SECONDS, retry_delay, retryable
from cloudqueue.camel import CamelModel
from cloudqueue.models import DeliveryAttempt, Job

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


class WebhookDelivery(CamelModel):
    """One delivery of a job's end: the same id and body for every attempt."""

    webhook_id: str
    job_id: str
    callback_url: str
    attempt: int  # the attempt this message is for: 1, 2, ...
    first_attempt_at: float  # epoch seconds of attempt 1
    body: str  # the JSON POSTed: {"type", "timestamp", "data": the job}


@dataclass(frozen=True)
class SendResult:
    """What a POST came to: the status code, or None with why (a timeout, no connection)."""

    status_code: int | None
    error: str | None = None
    refused: bool = False  # the address was refused at delivery: never retried


class WebhookSender(Protocol):
    def send(self, url: str, webhook_id: str, body: str, now: datetime) -> SendResult:
        """POST ``body`` to ``url``, signed, after checking the address it connects to."""


class WebhookRetries(Protocol):
    def retry(self, delivery: WebhookDelivery, delay_seconds: int) -> None:
        """Send ``delivery`` (its next attempt) back to the webhook queue, delayed."""

    def dead_letter(self, delivery: WebhookDelivery, reason: str) -> None:
        """Keep ``delivery`` in the webhook dead-letter queue: it will not be tried again."""


class DeliveryLog(Protocol):
    def record_delivery(self, job_id: str, attempt: DeliveryAttempt) -> None:
        """Add ``attempt`` to the job's deliveries (the last ones kept) and count it."""


def webhook_id_of(job: Job) -> str:
    """The id of a run's delivery: the job and its run, so a rerun's end is a new webhook."""
    return f"msg_{job.job_id}_{len(job.runs) + 1}"


def first_delivery(job: Job, now: datetime) -> WebhookDelivery | None:
    """Attempt 1 of the delivery of ``job``'s end; None if it has no callbackUrl or has not ended."""
    if job.callback_url is None or job.status not in TERMINAL:
        return None
    data = JobView.of(job).to_json_dict()
    event = {"type": f"job.{job.status.lower()}", "timestamp": data["updatedAt"], "data": data}
    return WebhookDelivery(
        webhook_id=webhook_id_of(job),
        job_id=job.job_id,
        callback_url=job.callback_url,
        attempt=1,
        first_attempt_at=now.timestamp(),
        body=_json(event),
    )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def deliver(
    delivery: WebhookDelivery,
    *,
    sender: WebhookSender,
    retries: WebhookRetries,
    log: DeliveryLog,
    now: datetime,
) -> DeliveryAttempt:
    """Make one attempt; record it; send the next attempt or the dead letter. Returns the record."""
    result = sender.send(delivery.callback_url, delivery.webhook_id, delivery.body, now)
    outcome: Literal["DELIVERED", "RETRYING", "FAILED"]
    delay = retry_delay(delivery.attempt)
    first = datetime.fromtimestamp(delivery.first_attempt_at, tz=now.tzinfo)
    if result.status_code is not None and 200 <= result.status_code < 300:
        outcome = "DELIVERED"
    elif (
        not result.refused
        and retryable(result.status_code)
        and (now + timedelta(seconds=delay) - first) <= timedelta(seconds=RETRY_FOR_SECONDS)
    ):
        outcome = "RETRYING"
    else:
        outcome = "FAILED"
    attempt = DeliveryAttempt(
        webhook_id=delivery.webhook_id,
        attempt=delivery.attempt,
        at=now,
        status_code=result.status_code,
        error=result.error,
        outcome=outcome,
    )
    log.record_delivery(delivery.job_id, attempt)
    if outcome == "RETRYING":
        retries.retry(delivery.model_copy(update={"attempt": delivery.attempt + 1}), delay)
    elif outcome == "FAILED":
        reason = result.error or f"HTTP {result.status_code}"
        retries.dead_letter(delivery, reason)
    return attempt
