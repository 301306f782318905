"""The places where the local stack changes moto. If an upgrade moves one, these fail loudly
here, naming the registry entry, instead of the local stack quietly answering Lambda calls
with canned payloads or dropping execution history."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest

from cloudqueue_local.devtools.stack import LocalStack
from cloudqueue_local.emulator.patches.registry import SEAMS, Seam
from cloudqueue_local.emulator.patches.seams import Patcher, check
from tests.local.test_end_to_end import aws

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# The libraries whose internals the registry's targets are, or whose results it caches.
TOUCHED = ("moto", "jsonpath-ng", "antlr4-python3-runtime")


def test_every_library_the_stack_reaches_into_is_pinned_to_the_installed_version() -> None:
    # Given the local stack's requirements,
    requirements = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["local"]
    pin = re.compile(r"([\w.-]+)(?:\[[\w,]+\])?==(\S+)")
    pins = dict(match.groups() for line in requirements if (match := pin.fullmatch(line)))

    # then each library reached into is pinned exactly, to the version the seams were read in.
    assert {name: pins.get(name) for name in TOUCHED} == {name: version(name) for name in TOUCHED}


@pytest.mark.parametrize("seam", SEAMS.values(), ids=lambda seam: seam.name)
def test_registry_entry_matches_the_installed_library(seam: Seam) -> None:
    # The target exists, is the kind the patch expects, takes the parameters it was written
    # for and, where a patch copies its logic, has the source it was read in.
    assert check(seam) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"attribute": "invoke_renamed"}, "does not exist"),
        ({"module": "moto.awslambda_simple.renamed"}, "cannot be imported"),
        ({"owner": "RenamedBackend"}, "has no RenamedBackend"),
        ({"kind": "property"}, "not a property"),
        ({"parameters": ("self", "function_name", "body")}, "the patch was written for"),
        ({"fingerprint": "000000000000"}, "changed"),
    ],
)
def test_the_check_names_the_entry_that_moved(change: dict[str, Any], problem: str) -> None:
    # Given the Lambda seam's entry, as if moto had moved or re-signed its target,
    moved = replace(SEAMS["lambda.invoke"], **change)

    # when it is checked, the one problem names the entry and what moved.
    problems = check(moved)

    assert len(problems) == 1
    assert problems[0].startswith("lambda.invoke: ")
    assert problem in problems[0]


def test_a_patch_reaches_only_targets_the_registry_lets_it_set() -> None:
    patcher = Patcher()

    with pytest.raises(KeyError):
        patcher.replace("sqs.queue.unlisted", object())
    with pytest.raises(ValueError, match="calls"):
        patcher.replace("sqs.backend.receive_message", object())


def test_a_patcher_puts_back_what_it_replaced() -> None:
    # Given moto's own retention check (a running stack may have replaced it already),
    from moto.sqs.models import SQSBackend

    before = SQSBackend.__dict__["is_message_valid_based_on_retention_period"]
    patcher = Patcher()

    # when a patcher replaces it and reverts,
    patcher.replace("sqs.backend.retention", lambda *args: True)
    replaced = SQSBackend.__dict__["is_message_valid_based_on_retention_period"]
    checked_meanwhile = check(SEAMS["sqs.backend.retention"])
    patcher.revert()

    # then it was replaced, and is back as it was; the seam's check held meanwhile.
    assert replaced is not before
    assert checked_meanwhile == []
    assert SQSBackend.__dict__["is_message_valid_based_on_retention_period"] is before


def test_lambda_invoke_through_moto_reaches_the_local_runtime(local_stack: LocalStack) -> None:
    # Through boto3 → moto's Lambda → the seam → ProcessFunction in its execution environment.
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=local_stack.template.functions["ProcessFunction"].arn,
        Payload=json.dumps({"jobId": "seam", "type": "text.transform", "payload": {"text": "a b c"}}),
    )
    result: dict[str, Any] = json.loads(response["Payload"].read())

    assert result == {"originalLength": 5, "uppercase": "A B C", "wordCount": 3}


def test_function_errors_come_back_as_lambda_function_errors(local_stack: LocalStack) -> None:
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=local_stack.template.functions["ProcessFunction"].name,
        Payload=json.dumps({"jobId": "seam", "type": "demo.fail", "payload": {"reason": "seam"}}),
    )

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "PermanentJobError"


def unretried_dynamodb(stack: LocalStack) -> Any:
    """A DynamoDB client on the stack's endpoint whose 500s fail instead of being retried away."""
    from botocore.config import Config

    return aws(stack, "dynamodb", config=Config(retries={"total_max_attempts": 1}))


def test_reads_of_an_item_being_updated_all_succeed(local_stack: LocalStack) -> None:
    # Given one item, updated by some threads (each update adds an attribute) and read by others,
    from concurrent.futures import ThreadPoolExecutor

    table = local_stack.table_name()
    key = {"jobId": {"S": f"seam-read-{id(local_stack)}"}}

    def client() -> Any:
        return unretried_dynamodb(local_stack)

    def update_or_read(index: int) -> int:
        dynamodb = client()
        if index % 2:
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=f"SET a{index} = :value",
                ExpressionAttributeValues={":value": {"S": "x" * 100}},
            )
            return 0
        return len(dynamodb.get_item(TableName=table, Key=key).get("Item", {}))

    # When they run at once,
    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(update_or_read, range(400)))

    # then every request succeeded (no "dictionary changed size during iteration" 500), and the
    # item ends with every attribute written.
    assert len(sizes) == 400
    item = client().get_item(TableName=table, Key=key)["Item"]
    assert len(item) == 1 + 200


def test_transactions_and_writes_at_once_all_succeed(local_stack: LocalStack) -> None:
    # Given one client per thread on the local endpoint and a table of its own rows,
    from concurrent.futures import ThreadPoolExecutor

    table = local_stack.table_name()
    prefix = f"seam-{id(local_stack)}-"

    def client() -> Any:
        return unretried_dynamodb(local_stack)

    def write(index: int) -> None:
        dynamodb = client()
        item = {"jobId": {"S": f"{prefix}{index}"}, "status": {"S": "SEAM"}}
        if index % 2:
            dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}])
        else:
            dynamodb.put_item(TableName=table, Item=item)

    # When transactions (which moto backs up by copying the table) and plain writes run at once,
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(200)))

    # then every one of them succeeded (moto's server answered no 500), and every row is there.
    dynamodb = client()
    found = [
        dynamodb.get_item(TableName=table, Key={"jobId": {"S": f"{prefix}{index}"}}).get("Item")
        for index in range(200)
    ]
    assert all(found)
    for index in range(200):
        dynamodb.delete_item(TableName=table, Key={"jobId": {"S": f"{prefix}{index}"}})


def test_state_dir_seams_exist() -> None:
    # devtools.state reads and restores these moto objects directly (SQS has no API to re-insert a
    # message with its receive count, nor Logs one to keep an event's ingestion time).
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.logs.models import LogEvent, LogGroup, LogStream
    from moto.sqs.models import Message, Queue

    message = Message("id", "body", {})
    assert {
        "message_attributes",
        "sender_id",
        "sent_timestamp",
        "approximate_receive_count",
        "approximate_first_receive_timestamp",
        "visible_at",
        "delayed_until",
        "deduplication_id",
        "group_id",
        "sequence_number",
        "system_attributes",
    } <= set(vars(message))
    assert {"_messages", "deleted_messages"} <= set(vars(Queue("q", "us-east-1", "123456789012")))
    assert callable(Queue.__dict__["add_message"]) and isinstance(
        Queue.__dict__["pending_messages"], property
    )
    assert list(inspect.signature(DynamoDBBackend.put_item).parameters)[:3] == [
        "self",
        "table_name",
        "item_attrs",
    ]
    assert callable(Table.__dict__["all_items"])
    event = LogEvent(1, {"timestamp": 2, "message": "m"})
    assert (event.ingestion_time, event.timestamp, event.message) == (1, 2, "m")
    group = LogGroup("123456789012", "us-east-1", "g")
    group.create_log_stream("s")
    assert isinstance(group.streams["s"], LogStream)
    assert {"events", "creation_time", "stored_bytes", "last_ingestion_time"} <= set(vars(group.streams["s"]))


def test_stream_pipe_seams_exist() -> None:
    # emulator/stream_pipe.py reads moto's DynamoDB Streams backend in-process (its mock answers
    # no Streams request over the endpoint) and matches filters with moto's EventBridge matcher.
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, dynamodbstreams_backends
    from moto.events.models import EventPattern

    assert dynamodbstreams_backends is not None
    assert list(inspect.signature(DynamoDBStreamsBackend.get_shard_iterator).parameters)[:4] == [
        "self",
        "arn",
        "shard_id",
        "shard_iterator_type",
    ]
    assert list(inspect.signature(DynamoDBStreamsBackend.get_records).parameters) == [
        "self",
        "iterator_arn",
        "limit",
    ]
    pattern = EventPattern.load(
        '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": [{"exists": true}]}}}}'
    )
    assert pattern.matches_event(
        {"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "QUEUED"}}}}
    )  # type: ignore[arg-type]
    assert not pattern.matches_event({"eventName": "INSERT", "dynamodb": {"NewImage": {}}})  # type: ignore[arg-type]
