"""The stack's SQS against moto's own: the same cases, the same observable answers.

``moto_sqs.SqsSpeedups`` replaces moto's SQS logic with cheaper copies, and the pollers
receive, delete and hand messages back through ``DirectSqs`` instead of the API. Each case
below runs three times: on moto as shipped, with the patches installed, and with the
patches and the pollers' direct path; every answer (ids, receipt handles and timestamps
aside) and every count must be the same.

The three runs happen in a fresh interpreter: moto's backends and classes are process-wide,
and beside a running local stack this one has no unpatched moto to compare with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.local.fresh_interpreter import each_in_a_fresh_interpreter

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
]
# What differs from run to run whatever the implementation.
UNSTABLE = {
    "MessageId",
    "ReceiptHandle",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "ResponseMetadata",
    "QueueUrl",
}
VARIANTS = ("moto", "patched", "patched+direct")


def stable(value: Any) -> Any:
    """``value`` without what differs from run to run, messages in body order."""
    if isinstance(value, dict):
        return {key: stable(item) for key, item in value.items() if key not in UNSTABLE}
    if isinstance(value, list):
        items = [stable(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


class Cases:
    """The SQS calls the stack's patches and pollers touch, each answer recorded."""

    def __init__(self, sqs: Any, direct: Any | None) -> None:
        self.sqs = sqs
        self.direct = direct  # the pollers' path, for receive, delete batch and visibility batch
        self.seen: list[tuple[str, Any]] = []

    def record(self, step: str, call: Callable[[], Any]) -> Any:
        from botocore.exceptions import ClientError

        try:
            answer = call()
        except ClientError as error:
            answer = {"error": error.response["Error"]["Code"]}
        self.seen.append((step, stable(answer)))
        return answer

    def queue(self, name: str, **attributes: str) -> str:
        return str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def counts(self, step: str, url: str) -> None:
        self.record(step, lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS))

    def receive(self, step: str, url: str, count: int = 10, **options: Any) -> list[dict[str, Any]]:
        client = self.direct or self.sqs
        answer = self.record(
            step,
            lambda: client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=count,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                **options,
            ),
        )
        return list(answer.get("Messages", []))

    def delete_batch(self, step: str, url: str, handles: list[str]) -> None:
        client = self.direct or self.sqs
        entries = [{"Id": f"e{index}", "ReceiptHandle": handle} for index, handle in enumerate(handles)]
        self.record(step, lambda: client.delete_message_batch(QueueUrl=url, Entries=entries))

    def visibility_batch(self, step: str, url: str, handles: list[str], seconds: int) -> None:
        client = self.direct or self.sqs
        entries = [
            {"Id": f"e{index}", "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for index, handle in enumerate(handles)
        ]
        self.record(step, lambda: client.change_message_visibility_batch(QueueUrl=url, Entries=entries))

    # --- the cases -------------------------------------------------------------------------

    def send_receive_delete(self) -> None:
        url = self.queue("plain", VisibilityTimeout="30")
        for body in ("a", "b", "c"):
            self.record(
                f"send {body}",
                lambda body=body: self.sqs.send_message(
                    QueueUrl=url,
                    MessageBody=body,
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": body}},
                ),
            )
        self.counts("sent three", url)
        received = self.receive("receive two", url, count=2)
        self.counts("two in flight", url)
        handle = received[0]["ReceiptHandle"]
        self.record("delete", lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle))
        self.record("delete again", lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle))
        self.record("delete unknown", lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle="nope"))
        self.counts("one deleted", url)
        self.receive("receive the rest", url)
        self.counts("all in flight", url)

    def visibility(self) -> None:
        url = self.queue("visibility", VisibilityTimeout="30")
        self.sqs.send_message(QueueUrl=url, MessageBody="v")
        first = self.receive("receive, hidden long", url, VisibilityTimeout=600)
        self.counts("hidden", url)
        self.receive("nothing visible", url)
        handle = first[0]["ReceiptHandle"]
        self.record(
            "back at once",
            lambda: self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
            ),
        )
        self.counts("visible again", url)
        second = self.receive("received twice", url)
        self.visibility_batch("back by batch", url, [second[0]["ReceiptHandle"], "nope"], 0)
        self.counts("visible after the batch", url)
        self.receive("received three times", url)

    def delays(self) -> None:
        url = self.queue("delays")
        self.record(
            "send delayed", lambda: self.sqs.send_message(QueueUrl=url, MessageBody="d", DelaySeconds=900)
        )
        self.sqs.send_message(QueueUrl=url, MessageBody="now")
        self.counts("one delayed", url)
        self.receive("only the undelayed", url)
        slow = self.queue("slow", DelaySeconds="900")
        self.sqs.send_message(QueueUrl=slow, MessageBody="s")
        self.record(
            "send batch, one not delayed",
            lambda: self.sqs.send_message_batch(
                QueueUrl=slow,
                Entries=[
                    {"Id": "late", "MessageBody": "late"},
                    {"Id": "soon", "MessageBody": "soon", "DelaySeconds": 0},
                ],
            ),
        )
        self.counts("queue delay", slow)
        self.receive("the one sent with no delay", slow)

    def redrive(self) -> None:
        dlq = self.queue("redrive-dlq")
        arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
        url = self.queue("redrive", RedrivePolicy=policy, VisibilityTimeout="30")
        self.sqs.send_message(QueueUrl=url, MessageBody="poison")
        for attempt in range(1, 4):
            self.receive(f"receive {attempt}", url, VisibilityTimeout=0)
        self.counts("source after the redrive", url)
        self.counts("dead letters", dlq)
        self.receive("from the dead-letter queue", dlq)

    def batches(self) -> None:
        url = self.queue("batches", VisibilityTimeout="30")
        entries = [{"Id": f"m{index}", "MessageBody": f"body {index}"} for index in range(4)]
        self.record("send batch", lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=entries))
        received = self.receive("receive all", url)
        handles = [message["ReceiptHandle"] for message in received[:2]]
        self.delete_batch("delete two and an unknown", url, [*handles, "nope"])
        self.counts("two left in flight", url)
        self.delete_batch("delete the same two again", url, handles)
        self.counts("still two in flight", url)

    def attributes(self) -> None:
        url = self.queue("attributes", VisibilityTimeout="45", MaximumMessageSize="2048")
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        self.record("all", lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))
        self.record(
            "set",
            lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"}),
        )
        self.record(
            "some", lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        )
        self.record("create again, same", lambda: self.queue("attributes", VisibilityTimeout="60"))
        self.record("create again, different", lambda: self.queue("attributes", VisibilityTimeout="5"))
        fifo = self.queue("attributes.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        self.record("fifo", lambda: self.sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"]))
        kms = self.queue("encrypted", KmsMasterKeyId="alias/aws/sqs")
        self.record("encrypted", lambda: self.sqs.get_queue_attributes(QueueUrl=kms, AttributeNames=["All"]))
        self.record("list", lambda: self.sqs.list_queues(QueueNamePrefix="attr"))

    def fifo(self) -> None:
        url = self.queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        for group, body in (("g1", "1a"), ("g1", "1b"), ("g2", "2a"), ("g1", "1a")):
            self.record(
                f"send {body} in {group}",
                lambda group=group, body=body: self.sqs.send_message(
                    QueueUrl=url, MessageBody=body, MessageGroupId=group
                ),
            )
        self.counts("sent, one deduplicated", url)
        received = self.receive("one per group in flight", url)
        self.delete_batch("delete them", url, [message["ReceiptHandle"] for message in received])
        self.receive("the next of g1", url)

    def retention(self) -> None:
        from moto.sqs.models import sqs_backends

        url = self.queue("retention", MessageRetentionPeriod="60")
        self.sqs.send_message(QueueUrl=url, MessageBody="new")
        self.sqs.send_message(QueueUrl=url, MessageBody="old")
        # SQS drops a message past its retention period; rather than wait a minute, one message
        # is made two minutes old, the same way in every run.
        old = next(
            m for m in sqs_backends[ACCOUNT][REGION].get_queue("retention")._messages if m.body == "old"
        )
        old.sent_timestamp -= 120_000
        self.receive("only the message within retention", url)


def run(variant: str) -> list[tuple[str, str, Any]]:
    """Every case on a fresh moto, as ``variant`` (see ``VARIANTS``); each step's answer."""
    import boto3
    from moto import mock_aws

    from cloudqueue_local.emulator.patches.direct_sqs import DirectSqs
    from cloudqueue_local.emulator.patches.moto_sqs import SqsSpeedups

    names = [
        "send_receive_delete",
        "visibility",
        "delays",
        "redrive",
        "batches",
        "attributes",
        "fifo",
        "retention",
    ]
    with mock_aws():
        patches = SqsSpeedups() if variant != "moto" else None
        if patches is not None:
            patches.install()
        try:
            direct = DirectSqs(ACCOUNT, REGION) if variant == "patched+direct" else None
            cases = Cases(boto3.client("sqs", region_name=REGION), direct)
            seen = []
            for name in names:  # each case on queues of its own
                cases.seen = []
                getattr(cases, name)()
                seen += [(name, step, answer) for step, answer in cases.seen]
            return seen
        finally:
            if patches is not None:
                patches.uninstall()


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[str, str, Any]]]:
    return each_in_a_fresh_interpreter(run, VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS[1:])
def test_the_stack_answers_every_sqs_case_as_moto_does(results: dict[str, Any], variant: str) -> None:
    # Given each case's answers on moto as shipped,
    expected = results["moto"]

    # then the stack's SQS gave the same answers, step by step.
    assert [step for _, step, _ in results[variant]] == [step for _, step, _ in expected]
    for (case, step, answer), (_, _, moto_answer) in zip(results[variant], expected, strict=True):
        assert answer == moto_answer, f"{case}: {step}"


def test_the_cases_observe_what_the_patches_change(results: dict[str, Any]) -> None:
    # The comparison is worth something only if the cases saw counts move, messages redriven
    # and a message dropped past its retention period.
    answers = {(case, step): answer for case, step, answer in results["moto"]}

    assert answers[("send_receive_delete", "two in flight")]["Attributes"] == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesDelayed": "0",
        "ApproximateNumberOfMessagesNotVisible": "2",
    }
    assert answers[("delays", "one delayed")]["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert answers[("redrive", "dead letters")]["Attributes"]["ApproximateNumberOfMessages"] == "1"
    assert [m["Body"] for m in answers[("retention", "only the message within retention")]["Messages"]] == [
        "new"
    ]
    assert answers[("send_receive_delete", "delete unknown")] == {"error": "ReceiptHandleIsInvalid"}
