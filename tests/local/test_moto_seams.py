"""The places where the local stack changes moto. If a moto upgrade moves one, these fail
loudly here instead of the local stack quietly answering Lambda calls with canned payloads."""

from __future__ import annotations

import inspect
import json
from importlib.metadata import version
from typing import Any

import boto3

from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_end_to_end import aws


def test_moto_is_the_pinned_version() -> None:
    # pyproject.toml pins moto; the seams below were read in this version.
    assert version("moto") == "5.2.5"


def test_lambda_simple_backend_invoke_keeps_its_signature() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    invoke = LambdaSimpleBackend.__dict__["invoke"]
    original = getattr(invoke, "replaces", invoke)  # a running local stack has swapped it
    parameters = list(inspect.signature(original).parameters)

    assert parameters == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_interpreter_seams_exist() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.eval.event.logging import CloudWatchLoggingSession
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    assert callable(lambda_eval_utils.__dict__["boto_client_for"])
    assert {"_get_evaluation_entrypoint", "start", "_execution_logic"} <= set(ExecutionWorker.__dict__)
    assert "_get_start_execution_worker" in Execution.__dict__
    assert "_publish_history_log_or_setup" in CloudWatchLoggingSession.__dict__


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


def test_dynamodb_backend_write_seams_exist() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from cloudqueue_local.emulator.patches.speedups import DYNAMODB_WRITES

    assert all(callable(DynamoDBBackend.__dict__.get(name)) for name in DYNAMODB_WRITES)


def test_dynamodb_request_seam_exists() -> None:
    from moto.dynamodb.responses import DynamoHandler

    assert callable(DynamoHandler.__dict__.get("call_action"))


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
