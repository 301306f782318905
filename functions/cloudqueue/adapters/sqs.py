"""The job queue in SQS. A message carries only the job id: the table is the source of truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from cloudqueue.adapters import aws_client
from cloudqueue.models import JobMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    # Only named: the claim function holds this module, and must not load the API's models.
    from cloudqueue.webhooks import WebhookDelivery

logger = logging.getLogger(__name__)

# SendMessageBatch takes at most 10 entries. An entry SQS reports Failed (or a call that fails
# whole) is sent again this many times in all, 50 ms, 100 ms, 200 ms apart.
SEND_BATCH_SIZE = 10
SEND_ATTEMPTS = 4
SEND_BACKOFF_SECONDS = 0.05


class SqsJobQueue:
    """``cloudqueue.ports.JobQueue`` on one SQS queue. Its client is made on first use: the
    claim function holds one to put back early messages and to send again the message of a job
    that waits for a concurrency slot, which most claims never do."""

    def __init__(self, queue_url: str, *, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def send_job(self, job_id: str, *, run_at: datetime | None = None, delay_seconds: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=job_message_body(job_id, run_at),
            DelaySeconds=delay_seconds,
        )

    def send_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """``SendMessageBatch`` ten at a time; the ids still unsent after ``SEND_ATTEMPTS``.

        An entry's Id is its position, and a retry sends only the entries SQS did not report
        Successful, so no message is sent twice on purpose. (A call whose answer is lost may
        have sent its entries: sent again, that job gets two messages, a duplicate the claim
        skips, as after any redelivery.)"""
        unsent: set[str] = set()
        for start in range(0, len(job_ids), SEND_BATCH_SIZE):
            unsent |= self._send_chunk(list(job_ids[start : start + SEND_BATCH_SIZE]))
        return unsent

    def _send_chunk(self, job_ids: list[str]) -> set[str]:
        pending = dict(enumerate(job_ids))
        refused: set[str] = set()
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                time.sleep(SEND_BACKOFF_SECONDS * 2 ** (attempt - 1))
            entries = [
                {"Id": str(index), "MessageBody": job_message_body(job_id)}
                for index, job_id in pending.items()
            ]
            try:
                answer = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
            except Exception:
                logger.warning("SendMessageBatch failed (attempt %d)", attempt + 1, exc_info=True)
                continue
            for sent in answer.get("Successful", []):
                pending.pop(int(sent["Id"]), None)
            failed = answer.get("Failed", [])
            if failed:
                logger.warning("SendMessageBatch: %d entries failed (attempt %d)", len(failed), attempt + 1)
            # An entry SQS blames on the sender will fail again: not retried.
            for entry in failed:
                if entry.get("SenderFault") and int(entry["Id"]) in pending:
                    refused.add(pending.pop(int(entry["Id"])))
            if not pending:
                break
        return set(pending.values()) | refused


def job_message_body(job_id: str, run_at: datetime | None = None) -> str:
    """A job message's body: ``{"jobId"}``, with ``runAt`` for a delayed job."""
    return JobMessage(job_id=job_id, run_at=run_at).model_dump_json(by_alias=True, exclude_none=True)


class SqsPoisonQueue:
    """``cloudqueue.ports.PoisonMessages`` on an SQS queue that nothing consumes: an operator
    lists, redrives or deletes what is kept there (``cloudqueue dlq``).

    Its client is made on first use: the claim function holds one of these at every cold
    start and almost never keeps a message."""

    def __init__(self, queue_url: str, *, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def keep(self, body: str, *, message_id: str, receive_count: int, reason: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                "deadLetterMessageId": {"DataType": "String", "StringValue": message_id},
                "receiveCount": {"DataType": "Number", "StringValue": str(receive_count)},
                "reason": {"DataType": "String", "StringValue": reason[:1000] or "-"},
            },
        )


class SqsWebhookRetries:
    """``cloudqueue.webhooks.WebhookRetries``: the webhook queue (a retry, delayed) and its
    dead-letter queue (a delivery given up on, with why)."""

    def __init__(self, queue_url: str, dead_letter_url: str, *, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self.client: SQSClient = client or aws_client("sqs")

    def retry(self, delivery: WebhookDelivery, delay_seconds: int) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=delivery.model_dump_json(by_alias=True),
            DelaySeconds=min(delay_seconds, 900),
        )

    def dead_letter(self, delivery: WebhookDelivery, reason: str) -> None:
        self.client.send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=delivery.model_dump_json(by_alias=True),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000] or "failed"}},
        )
