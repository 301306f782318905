"""The local SQS event source mapping (LocalQueueTrigger) on moto's SQS, with a stand-in function.

Each test drives one poll (``step``) by hand: no threads, no stack. The queue's visibility
timeout is 0, so a message the trigger left in the queue can be received again at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue_local.pollers import LocalQueueTrigger
from cloudqueue_local.template import QueueSpec, QueueTriggerSpec

REGION = "us-east-1"


@dataclass
class Answer:
    """What an invocation returned: the shape LocalQueueTrigger reads."""

    payload: Any
    function_error: str | None = None

    def json(self) -> Any:
        return self.payload


@dataclass
class StandInFunction:
    """A runtime with one function that answers ``answer(event)`` and records its events."""

    answer: Any
    events: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, function: str, event: dict[str, Any]) -> Answer:
        self.events.append(event)
        return self.answer(event)


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue(sqs) -> QueueSpec:
    url = sqs.create_queue(QueueName="dlq", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueSpec(
        logical_id="DeadLetterQueue",
        name="dlq",
        url=url,
        arn=arn,
        visibility_timeout=0,
        retention_seconds=3600,
        dead_letter_arn=None,
        max_receive_count=None,
    )


def trigger(sqs, queue: QueueSpec, function: StandInFunction, *, report_failures: bool = True):
    spec = QueueTriggerSpec(
        function="DeadLetterFunction",
        queue_arn=queue.arn,
        batch_size=10,
        report_batch_item_failures=report_failures,
    )
    return LocalQueueTrigger(spec, queue, function, sqs, region=REGION)  # type: ignore[arg-type]


def send(sqs, queue: QueueSpec, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)


def left_in_queue(sqs, queue: QueueSpec) -> list[str]:
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [message["Body"] for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue.url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return sorted(bodies)


def failing(*bodies: str):
    """A function that reports the records with these bodies as failed items."""

    def answer(event: dict[str, Any]) -> Answer:
        failed = [record["messageId"] for record in event["Records"] if record["body"] in bodies]
        return Answer({"batchItemFailures": [{"itemIdentifier": each} for each in failed]})

    return answer


def test_the_function_gets_the_batch_as_sqs_records_and_every_success_is_deleted(sqs, queue):
    function = StandInFunction(failing())
    send(sqs, queue, "a", "b", "c")

    trigger(sqs, queue, function).step()

    (event,) = function.events
    assert sorted(record["body"] for record in event["Records"]) == ["a", "b", "c"]
    assert {record["eventSourceARN"] for record in event["Records"]} == {queue.arn}
    assert left_in_queue(sqs, queue) == []


def test_only_the_messages_the_function_reports_as_failed_stay_in_the_queue(sqs, queue):
    send(sqs, queue, "a", "b", "c")

    trigger(sqs, queue, StandInFunction(failing("b"))).step()

    assert left_in_queue(sqs, queue) == ["b"]


def test_a_function_error_leaves_the_whole_batch_in_the_queue(sqs, queue):
    send(sqs, queue, "a", "b")

    trigger(sqs, queue, StandInFunction(lambda _: Answer({"errorMessage": "boom"}, "Unhandled"))).step()

    assert left_in_queue(sqs, queue) == ["a", "b"]


def test_without_partial_batch_responses_a_successful_invocation_deletes_the_whole_batch(sqs, queue):
    # As on AWS: without ReportBatchItemFailures the function's answer is not read.
    send(sqs, queue, "a", "b")

    trigger(sqs, queue, StandInFunction(failing("a")), report_failures=False).step()

    assert left_in_queue(sqs, queue) == []


def test_an_answer_that_lists_no_failures_deletes_the_whole_batch(sqs, queue):
    send(sqs, queue, json.dumps({"jobId": "j-1"}), "b")

    trigger(sqs, queue, StandInFunction(lambda _: Answer(None))).step()

    assert left_in_queue(sqs, queue) == []
