"""The SQS calls of the stack's own pollers, straight to moto's backend.

The Pipe and the event source mappings receive and delete through this instead of a boto3
client: the same messages, attributes and receive counts as through the API, without
botocore serialising and signing each call and moto parsing it back and serialising the
answer (measured: about a fifth of the stack process's CPU per job while draining a
backlog). The functions' calls still go through the AWS endpoint, as on AWS.
``tests/local/test_sqs_differential.py`` compares its answers with moto's own API's.
"""

from __future__ import annotations

from typing import Any

# The system attributes moto's ReceiveMessage answers with (registry: sqs.response.receive),
# in its order; a FIFO queue's are left out of a message that has none.
_SYSTEM_ATTRIBUTES = (
    "ApproximateFirstReceiveTimestamp",
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "MessageDeduplicationId",
    "MessageGroupId",
    "SenderId",
    "SentTimestamp",
    "SequenceNumber",
)


def _system_attributes(message: Any) -> dict[str, Any]:
    trace = (message.system_attributes or {}).get("AWSTraceHeader") or {}
    values = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        "MessageDeduplicationId": message.deduplication_id,
        "MessageGroupId": message.group_id,
        "AWSTraceHeader": trace.get("StringValue"),
        "SequenceNumber": message.sequence_number,
    }
    return {key: value for key, value in values.items() if value is not None}


class DirectSqs:
    """``receive_message``, ``delete_message_batch`` and ``change_message_visibility_batch``
    (the Pipe handing a failed execution's message back at once), with boto3's arguments and
    answers."""

    def __init__(self, account: str, region: str) -> None:
        from moto.sqs.models import sqs_backends

        self.backend = sqs_backends[account][region]

    @staticmethod
    def _queue_name(queue_url: str) -> str:
        return queue_url.rstrip("/").rsplit("/", 1)[-1]

    def receive_message(
        self,
        *,
        QueueUrl: str,  # boto3's parameter names
        MaxNumberOfMessages: int = 1,
        WaitTimeSeconds: int = 0,
        AttributeNames: list[str] | None = None,
        MessageAttributeNames: list[str] | None = None,
        VisibilityTimeout: int | None = None,
    ) -> dict[str, Any]:
        name = self._queue_name(QueueUrl)
        queue = self.backend.get_queue(name)
        # moto sets a queue's attributes (visibility_timeout among them) with setattr.
        default = queue.visibility_timeout  # type: ignore[attr-defined]
        visibility = default if VisibilityTimeout is None else VisibilityTimeout
        messages = self.backend.receive_message(
            name, MaxNumberOfMessages, WaitTimeSeconds, visibility, MessageAttributeNames or []
        )
        wanted = set(AttributeNames or [])
        include = [key for key in _SYSTEM_ATTRIBUTES if "All" in wanted or key in wanted]
        answer = []
        for message in messages:
            item: dict[str, Any] = {
                "MessageId": message.id,
                "ReceiptHandle": message.receipt_handle,
                "MD5OfBody": message.body_md5,
                "Body": message.body,
            }
            if include:
                found = _system_attributes(message)
                item["Attributes"] = {key: found[key] for key in include if key in found}
            if message.message_attributes:
                item["MessageAttributes"] = message.message_attributes
                item["MD5OfMessageAttributes"] = message.attribute_md5
            answer.append(item)
        return {"Messages": answer} if answer else {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        successful, failed = self.backend.delete_message_batch(self._queue_name(QueueUrl), Entries)
        return {"Successful": [{"Id": entry} for entry in successful], "Failed": failed}

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        successful, failed = self.backend.change_message_visibility_batch(self._queue_name(QueueUrl), Entries)
        return {"Successful": [{"Id": entry} for entry in successful], "Failed": failed}
