"""The job queue in SQS. A message carries only the job id: the table is the source of truth."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cloudqueue.adapters import aws_client
from cloudqueue.models import JobMessage
from cloudqueue.webhooks import WebhookDelivery

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    """``cloudqueue.ports.JobQueue`` on one SQS queue. Its client is made on first use: the
    claim function holds one to put back early messages, which most claims never do."""

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
