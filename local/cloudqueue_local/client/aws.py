"""The CLI's direct AWS work: the dead-letter queue, invoking one function here, running the
state machine once. Against the local stack's AWS endpoint, or a deployed stack."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.invocation import Invocation
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.project import project_root
from cloudqueue_local.template import (
    REGION,
    FunctionSpec,
    LocalTemplate,
    load_local_template,
)

DEFAULT_AWS_URL = "http://127.0.0.1:4566"
_LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}


class AccessError(Exception):
    pass


def local_template() -> LocalTemplate:
    return load_local_template(project_root() / "template.yaml")


@dataclass
class Target:
    """Where the CLI's AWS calls go, and the stack's resources there."""

    endpoint_url: str | None
    job_queue_url: str
    dead_letter_queue_url: str
    state_machine_arn: str

    def client(self, service: str) -> Any:
        if self.endpoint_url is None:
            return boto3.client(service)  # type: ignore[call-overload]
        return boto3.client(service, endpoint_url=self.endpoint_url, **_LOCAL_CREDENTIALS)  # type: ignore[call-overload]


def target(aws_url: str | None, stack_name: str | None) -> Target:
    if stack_name is not None and aws_url is None:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        return Target(None, outputs["JobQueueUrl"], outputs["DeadLetterQueueUrl"], outputs["StateMachineArn"])
    template = local_template()
    return Target(
        endpoint_url=aws_url or DEFAULT_AWS_URL,
        job_queue_url=template.queues["JobQueue"].url,
        dead_letter_queue_url=template.queues["DeadLetterQueue"].url,
        state_machine_arn=template.state_machines["JobStateMachine"].arn,
    )


def _sent_at(attributes: dict[str, str]) -> str:
    millis = int(attributes.get("SentTimestamp", "0"))
    return datetime.fromtimestamp(millis / 1000).isoformat(timespec="seconds") if millis else ""


def redrive_dead_letters(where: Target) -> int:
    """Move every dead-lettered message back to the job queue."""
    sqs = where.client("sqs")
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=where.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(QueueUrl=where.job_queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=where.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def _deployed_function(logical_id: str, stack_name: str) -> FunctionSpec:
    physical = boto3.client("cloudformation").describe_stack_resource(
        StackName=stack_name, LogicalResourceId=logical_id
    )["StackResourceDetail"]["PhysicalResourceId"]
    config = boto3.client("lambda").get_function_configuration(FunctionName=physical)
    return FunctionSpec(
        logical_id=logical_id,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config["Handler"],
        environment=(config.get("Environment") or {}).get("Variables", {}),
        timeout=int(config.get("Timeout", 3)),
        memory=int(config.get("MemorySize", 128)),
        code_uri="functions/",
        events={},
    )


def invoke_locally(logical_id: str, event: Any, *, aws_url: str | None, stack_name: str | None) -> Invocation:
    """Run a function once in an execution environment of its own, like ``sam local invoke``:
    the local runtime, its AWS calls to the local stack (or, with ``stack_name``, to AWS with
    the deployed function's variables and your credentials)."""
    template = local_template()
    if logical_id not in template.functions:
        known = ", ".join(sorted(template.functions))
        raise AccessError(f"no function {logical_id!r} in template.yaml; functions: {known}")
    endpoint_url: str | None = aws_url or DEFAULT_AWS_URL
    if stack_name is not None and aws_url is None:
        template.functions[logical_id] = _deployed_function(logical_id, stack_name)
        endpoint_url = None
    runtime = LambdaRuntime(template, RuntimeSettings(root=project_root(), endpoint_url=endpoint_url))
    # As `sam local invoke` does: the function's logs on stderr, its result alone on stdout.
    logs = logging.getLogger("cloudqueue.local.functions")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logs.addHandler(handler)
    logs.setLevel(logging.INFO)
    logs.propagate = False
    try:
        return runtime.invoke(logical_id, event)
    finally:
        runtime.close()
        logs.removeHandler(handler)


def pipe_input_for(job_id: str) -> list[dict[str, Any]]:
    """What the Pipe would hand the state machine for a message about ``job_id``."""
    template = local_template()
    queue = template.queues["JobQueue"]
    body = json.dumps({"jobId": job_id})
    now = str(int(time.time() * 1000))
    return [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "cloudqueue-execute",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": now,
                "SenderId": "cloudqueue-cli",
                "ApproximateFirstReceiveTimestamp": now,
            },
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.arn,
            "awsRegion": REGION,
        }
    ]


def _event_row(event: dict[str, Any], first: datetime) -> dict[str, Any]:
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {}) or {}
    detail = ""
    if "error" in details:
        detail = f"{details['error']}: {str(details.get('cause') or '')[:120]}"
    timestamp = event["timestamp"]
    return {
        "id": event["id"],
        "type": event["type"],
        "state": details.get("name"),
        "elapsedMs": round((timestamp - first).total_seconds() * 1000),
        "detail": detail,
    }


def execute_once(execution_input: Any, *, aws_url: str | None, timeout: float) -> dict[str, Any]:
    """Start the job state machine on the local stack, wait for its end, return its history."""
    where = target(aws_url, None)
    sfn = where.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=where.state_machine_arn,
        name=f"cli-{uuid.uuid4().hex}",
        input=json.dumps(execution_input),
    )
    arn = started["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise AccessError(f"execution {arn} still RUNNING after {timeout:.0f}s")
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    first = events[0]["timestamp"] if events else datetime.now()
    return {
        "executionArn": arn,
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
        "output": described.get("output"),
        "events": [_event_row(event, first) for event in events],
    }
