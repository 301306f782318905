"""``cloudqueue dlq``: what the workflow gave up on, for an operator to see, redrive or delete.

Two queues hold it:
- the dead-letter queue: messages SQS moved there after maxReceiveCount receives. The
  dead-letter function redrives or fails their jobs; a message stays while a live worker
  holds its job.
- the poison-message queue: messages that name no job (unreadable, or the job was never
  written), kept there by the claim at their first delivery, or by the dead-letter function.
  Nothing consumes it; they stay until an operator deletes them (``dlq delete ID``, ``dlq
  purge``). A message may be kept twice (a claim retried after its send): both copies have
  the same ``originalMessageId``, the job queue's id of the message.

And, on a stack with ``Webhooks=on``, the webhook dead-letter queue: deliveries of a job's end
given up on (a 4xx, a refused address, 24 hours of retries), each with its reason. Their rows
are marked ``webhook``; ``redrive`` leaves them (they are not jobs), ``delete ID`` deletes one.

Listing receives each message and makes it visible again at once, so nothing is consumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cloudqueue_local.client import aws as aws_access

DEAD_LETTER = "dead-letter"
POISON = "poison"
WEBHOOK = "webhook"
FIRST_BYTES = 80


@dataclass(frozen=True)
class Queues:
    sqs: Any
    urls: dict[str, str]  # DEAD_LETTER / POISON / WEBHOOK → queue URL


def queues(aws_url: str | None, stack_name: str | None) -> Queues:
    where = aws_access.target(aws_url, stack_name)
    if where.endpoint_url is None and stack_name is not None:
        stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        poison_url = outputs["PoisonMessageQueueUrl"]
    else:
        poison_url = aws_access.local_template().queues["PoisonMessageQueue"].url
    sqs = where.client("sqs")
    urls = {DEAD_LETTER: where.dead_letter_queue_url, POISON: poison_url}
    if where.webhook_dead_letter_queue_url and _exists(sqs, where.webhook_dead_letter_queue_url):
        urls[WEBHOOK] = where.webhook_dead_letter_queue_url
    return Queues(sqs, urls)


def _exists(sqs: Any, url: str) -> bool:
    """Whether the queue is there: a local stack started without --webhooks has none."""
    try:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "QueueDoesNotExist" or code.endswith("NonExistentQueue"):
            return False
        raise
    return True


def _received(sqs: Any, url: str, most: int) -> Iterator[dict[str, Any]]:
    """Receive up to ``most`` messages of ``url`` (hidden for 30 s; the caller shows them again)."""
    count = 0
    while count < most:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            count += 1
            yield message


def _show_again(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, handle in enumerate(handles[start : start + 10])
            ],
        )


def _row(queue: str, message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("MessageAttributes") or {}
    if queue == POISON and "receiveCount" in attributes:
        # What the dead-letter queue had counted when the message was found to name no job.
        receives = int(attributes["receiveCount"]["StringValue"])
    else:
        receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "0"))
    original = (attributes.get("deadLetterMessageId") or {}).get("StringValue", message["MessageId"])
    return {
        "queue": queue,
        "messageId": message["MessageId"],
        # The job queue's id of the message (a dead letter keeps it; a poison message carries it).
        "originalMessageId": original,
        "receiveCount": receives,
        "firstBytes": message["Body"][:FIRST_BYTES],
        "reason": (attributes.get("reason") or {}).get("StringValue", ""),
    }


def list_messages(where: Queues, most: int = 1000) -> list[dict[str, Any]]:
    """Every message in both queues, left where it is."""
    rows: list[dict[str, Any]] = []
    for queue, url in where.urls.items():
        seen: dict[str, dict[str, Any]] = {}
        handles: list[str] = []
        for message in _received(where.sqs, url, most):
            handles.append(message["ReceiptHandle"])
            seen[message["MessageId"]] = _row(queue, message)
        _show_again(where.sqs, url, handles)
        rows += seen.values()
    return rows


def delete_message(where: Queues, message_id: str) -> str | None:
    """Delete the message ``message_id`` from whichever queue holds it; the queue's name, or None."""
    for queue, url in where.urls.items():
        # Receive them all (a batch hides every message in it), then show the others again.
        others: list[str] = []
        found = None
        for message in _received(where.sqs, url, 10_000):
            if message["MessageId"] == message_id:
                found = message
            else:
                others.append(message["ReceiptHandle"])
        _show_again(where.sqs, url, others)
        if found is not None:
            where.sqs.delete_message(QueueUrl=url, ReceiptHandle=found["ReceiptHandle"])
            return queue
    return None


def purge_poison(where: Queues) -> int:
    """Delete every message in the poison-message queue (jobs' dead letters are left alone)."""
    deleted = 0
    for message in _received(where.sqs, where.urls[POISON], 1_000_000):
        where.sqs.delete_message(QueueUrl=where.urls[POISON], ReceiptHandle=message["ReceiptHandle"])
        deleted += 1
    return deleted
