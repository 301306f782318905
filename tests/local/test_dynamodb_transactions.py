"""The stack's TransactWriteItems against moto's own, and its stream after a cancel.

``moto_transactions`` replaces moto's backup of a whole table with a journal of the items
a transaction touches. Each case below runs on moto as shipped and with the stack's
DynamoDB patches; every answer, every item and every stream record must be the same. Then
the reason for the patch: a reader that holds the stream from before a cancelled
transaction (the events and webhook Pipes) still sees every write after it.

The runs happen in a fresh interpreter, as in ``test_sqs_differential``: moto's backends
and classes are process-wide, and beside a running local stack this one is patched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.local.fresh_interpreter import each_in_a_fresh_interpreter

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
TABLE = "transactions"
VARIANTS = ("moto", "patched")


def item(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in attributes.items()}}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class Cases:
    """Transactions that succeed, and that are cancelled part-way, each answer recorded."""

    def __init__(self, dynamodb: Any, stream: Callable[[], list[tuple[str, Any, Any]]]) -> None:
        self.dynamodb = dynamodb
        self.stream = stream  # every record of the table's stream so far
        self.seen: list[tuple[str, Any]] = []

    def record(self, step: str, call: Callable[[], Any]) -> None:
        from botocore.exceptions import ClientError

        try:
            answer = call()
            answer.pop("ResponseMetadata", None)
        except ClientError as error:
            answer = {
                "error": error.response["Error"]["Code"],
                "reasons": error.response.get("CancellationReasons"),
            }
        self.seen.append((step, answer))
        self.seen.append((f"{step}: items", self.items()))
        self.seen.append((f"{step}: stream", self.stream()))

    def items(self) -> list[Any]:
        found = self.dynamodb.scan(TableName=TABLE)["Items"]
        return sorted(found, key=lambda each: (each["pk"]["S"], each["sk"]["S"]))

    def transact(self, step: str, *operations: dict[str, Any], **options: Any) -> None:
        self.record(
            step, lambda: self.dynamodb.transact_write_items(TransactItems=list(operations), **options)
        )

    def run(self) -> None:
        self.dynamodb.put_item(TableName=TABLE, Item=item("job#1", "job", status="QUEUED"))
        self.dynamodb.put_item(TableName=TABLE, Item=item("slot#k", "slot", held="1"))
        self.dynamodb.put_item(TableName=TABLE, Item=item("type#demo", "limit", limit="2"))
        self.transact(
            "all four kinds commit",
            {"Put": {"TableName": TABLE, "Item": item("job#2", "job", status="QUEUED")}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("job#1", "job"),
                    "UpdateExpression": "SET #s = :running",
                    "ConditionExpression": "#s = :queued",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":running": {"S": "IN_PROGRESS"},
                        ":queued": {"S": "QUEUED"},
                    },
                }
            },
            {"Delete": {"TableName": TABLE, "Key": key("slot#k", "slot")}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key("type#demo", "limit"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        )
        self.transact(
            "a failed last condition cancels the writes before it",
            {"Put": {"TableName": TABLE, "Item": item("job#3", "job", status="QUEUED")}},
            {"Put": {"TableName": TABLE, "Item": item("job#2", "job", status="OVERWRITTEN")}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("slot#new", "slot"),
                    "UpdateExpression": "SET held = :one",
                    "ExpressionAttributeValues": {":one": {"S": "1"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": key("job#1", "job")}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key("job#1", "other"),
                    "ConditionExpression": "attribute_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        )
        self.transact(
            "a failed first condition returns the old item",
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("job#1", "job"),
                    "UpdateExpression": "SET attempts = :one",
                    "ConditionExpression": "#s = :queued",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":one": {"S": "1"}, ":queued": {"S": "QUEUED"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {"Put": {"TableName": TABLE, "Item": item("job#4", "job", status="QUEUED")}},
        )
        self.transact(
            "two operations on one item are refused",
            {"Put": {"TableName": TABLE, "Item": item("job#5", "job", status="QUEUED")}},
            {"Delete": {"TableName": TABLE, "Key": key("job#5", "job")}},
        )
        self.transact(
            "a missing table cancels the rest",
            {"Put": {"TableName": TABLE, "Item": item("job#6", "job", status="QUEUED")}},
            {"Put": {"TableName": "no-such-table", "Item": item("job#6", "job")}},
        )
        self.dynamodb.put_item(TableName=TABLE, Item=item("job#7", "job", status="QUEUED"))
        self.seen.append(("a write after the cancels: stream", self.stream()))


def run(variant: str) -> dict[str, Any]:
    """Every case on a fresh moto as ``variant``, then what a reader from before them saw."""
    import boto3
    from moto import mock_aws
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from cloudqueue_local.emulator.patches.moto_dynamodb import MotoDynamoDb

    with mock_aws():
        patches = MotoDynamoDb() if variant == "patched" else None
        if patches is not None:
            patches.install()
        try:
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            arn = dynamodb.create_table(
                TableName=TABLE,
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )["TableDescription"]["LatestStreamArn"]
            streams = dynamodbstreams_backends[ACCOUNT][REGION]
            shard = streams.describe_stream(arn)["Shards"][0]["ShardId"]
            # A reader that holds the stream from the start, as a Pipe does from LATEST
            held = streams.get_shard_iterator(arn, shard, "TRIM_HORIZON").arn

            def stream() -> list[tuple[str, Any, Any]]:
                fresh = streams.get_shard_iterator(arn, shard, "TRIM_HORIZON").arn
                records = streams.get_records(fresh, 1000)["Records"]
                return [
                    (each["eventName"], each["dynamodb"]["Keys"], each["dynamodb"].get("NewImage"))
                    for each in records
                ]

            cases = Cases(dynamodb, stream)
            cases.run()
            seen_by_reader = streams.get_records(held, 1000)["Records"]
            return {
                "steps": cases.seen,
                "reader": [(each["eventName"], each["dynamodb"]["Keys"]) for each in seen_by_reader],
            }
        finally:
            if patches is not None:
                patches.uninstall()


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    return each_in_a_fresh_interpreter(run, VARIANTS)


def test_the_stack_answers_every_transaction_as_moto_does(results: dict[str, Any]) -> None:
    # Given each step's answer, the table's items and its stream after it, on moto as shipped,
    expected = results["moto"]["steps"]

    # then the stack gave the same, step by step.
    assert [step for step, _ in results["patched"]["steps"]] == [step for step, _ in expected]
    for (step, answer), (_, moto_answer) in zip(results["patched"]["steps"], expected, strict=True):
        assert answer == moto_answer, step


def test_the_cases_observe_cancels_that_undo_writes(results: dict[str, Any]) -> None:
    # The comparison is worth something only if transactions committed, and were cancelled
    # after some of their writes had been made.
    answers = dict(results["moto"]["steps"])
    committed = [each["pk"]["S"] for each in answers["all four kinds commit: items"]]
    assert committed == ["job#1", "job#2", "type#demo"]
    cancelled = answers["a failed last condition cancels the writes before it"]
    assert cancelled["error"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled["reasons"]] == ["None"] * 4 + ["ConditionalCheckFailed"]
    assert (
        answers["a failed last condition cancels the writes before it: items"]
        == answers["all four kinds commit: items"]
    )
    old = answers["a failed first condition returns the old item"]["reasons"][0]
    assert old["Item"]["status"] == {"S": "IN_PROGRESS"}
    assert answers["two operations on one item are refused"]["error"] == "ValidationException"
    assert (
        len(answers["a write after the cancels: stream"]) == len(answers["all four kinds commit: stream"]) + 1
    )


def test_a_reader_of_the_stream_from_before_a_cancel_sees_every_write_after_it(
    results: dict[str, Any],
) -> None:
    # Given a reader that took its place in the stream before any transaction was cancelled,
    # (on moto as shipped, the cancel swaps in a copy of the table and of its stream)
    # then with the stack's patches it reads every record the table's stream holds,
    # the write after the cancels included, and none of the cancelled writes.
    patched = results["patched"]
    stream = dict(patched["steps"])["a write after the cancels: stream"]
    assert patched["reader"] == [(event, keys) for event, keys, _ in stream]
    assert patched["reader"][-1] == ("INSERT", key("job#7", "job"))
    assert ("INSERT", key("job#3", "job")) not in patched["reader"]
