"""What one job weighs on AWS: its item in the table, the Pipe's record, its execution history
and its functions' log lines, in the bytes each service bills."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from cloudqueue.adapters.dynamodb import DynamoJobStore, from_item, to_item
from cloudqueue.jobtypes import JOB_TYPES, JobContext
from cloudqueue.listing import list_key
from cloudqueue.models import Job, JobStatus
from cloudqueue_local.ops.cost.assumptions import (
    EMF_LINE_BYTES,
    ERROR_EVENTS_PER_FAILURE,
    HISTORY_EVENT_BYTES,
    INFO_LINE_BYTES,
    LOG_LINES,
    PLATFORM_LOG_BYTES,
    WORKFLOW_FUNCTIONS,
)
from cloudqueue_local.ops.cost.stack import Stack
from cloudqueue_local.template import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SAMPLE_JOB_ID = "01a22097-f720-77c9-91e0-fee826d9b00e"
SAMPLE_MESSAGE_ID = "f5f5f867-cbc0-45dc-81d9-3fa1a39ab94d"
SAMPLE_TIME = datetime(2026, 11, 28, 5, 19, 19, 840_000, tzinfo=UTC)
SAMPLE_EXECUTION_ARN = (
    f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:cloudqueue-JobStateMachine-AbCdEfGh1234:"
    "65cb3608-11a2-4551-bb8d-f10829387193:f0b4e511-cf43-4c9f-b69a-5069d690c34f"
)


def dynamodb_bytes(value: Any) -> int:
    """The size DynamoDB bills for an attribute value (names counted by the caller)."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return 3 + sum(1 + dynamodb_bytes(item) for item in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(key.encode()) + dynamodb_bytes(inner) for key, inner in value.items())
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def sample_job(payload_chars: int) -> Job:
    """A finished text.transform job of ``payload_chars`` characters, its result computed by
    the job type itself."""
    job_type = JOB_TYPES["text.transform"]
    payload = {"text": "x" * payload_chars}
    result = job_type.run(
        job_type.payload_model.model_validate(payload), JobContext(SAMPLE_JOB_ID, attempt=1, retry_count=0)
    )
    return Job(
        job_id=SAMPLE_JOB_ID,
        type=job_type.name,
        payload=payload,
        status=JobStatus.SUCCEEDED,
        attempts=1,
        created_at=SAMPLE_TIME,
        updated_at=SAMPLE_TIME,
        queued_at=SAMPLE_TIME,
        started_at=SAMPLE_TIME,
        finished_at=SAMPLE_TIME,
        result=result,
        executions=[SAMPLE_EXECUTION_ARN],
        lease_message_id=SAMPLE_MESSAGE_ID,
        expires_at=1_790_000_000,
    )


def sample_job_item(payload_chars: int, shards: int = 4) -> dict[str, Any]:
    """A finished text.transform job as the table holds it (while it is leased it holds a token
    instead), in plain values: the model serialised by the DynamoDB adapter's codec, with the
    listing keys its key builders give. Fields left at their defaults are left out."""
    job = sample_job(payload_chars)
    # Only the store's key builder is used: no call reaches a client.
    store = DynamoJobStore("jobs", shards=shards, client=cast("DynamoDBClient", object()))
    values = job.to_json_dict(exclude_defaults=True)
    values["owner"] = job.owner  # a default, but the submit writes it: the listing checks it
    values["listShard"] = store.list_shard(job.job_id, job.created_at)
    values["listKey"] = list_key(job.owner, job.job_id)
    return from_item(to_item(values))


def item_bytes(item: dict[str, Any]) -> int:
    """The size DynamoDB bills for an item: each attribute's name and value."""
    return sum(len(name.encode()) + dynamodb_bytes(value) for name, value in item.items())


def sample_pipe_input() -> list[dict[str, Any]]:
    """What the Pipe hands the state machine for one job: an array of one SQS record."""
    return [
        {
            "messageId": SAMPLE_MESSAGE_ID,
            "receiptHandle": "AQEB" + "x" * 300,
            "body": json.dumps({"jobId": SAMPLE_JOB_ID}, separators=(",", ":")),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764307159840",
                "SenderId": "AROAEXAMPLEEXAMPLE:cloudqueue-ApiFunction-AbCdEfGh1234",
                "ApproximateFirstReceiveTimestamp": "1764307159850",
            },
            "messageAttributes": {},
            "md5OfBody": "0123456789abcdef0123456789abcdef",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:cloudqueue-JobQueue-AbCdEfGh1234",
            "awsRegion": REGION,
        }
    ]


def happy_path_events(definition: dict[str, Any]) -> tuple[int, int]:
    """(events, events that carry data) of one execution that claims, processes and succeeds.

    Follows ``Next`` and the first rule of each Choice (the "claimed" branch) from ``StartAt``.
    """
    events, with_data = 2, 2  # ExecutionStarted, ExecutionSucceeded
    name: str | None = definition["StartAt"]
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        state = definition["States"][name]
        events += 2  # <Type>StateEntered, <Type>StateExited
        with_data += 2
        if state["Type"] == "Task":
            events += 3  # TaskScheduled, TaskStarted, TaskSucceeded
            with_data += 2
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"]
        else:
            name = None if state.get("End") else state.get("Next")
    return events, with_data


def execution_log_bytes(stack: Stack, log_level: str, failure_rate: float, payload_chars: int = 16) -> float:
    """Bytes of execution history one job logs at ``log_level``."""
    events, with_data = happy_path_events(stack.definition())
    included = stack.state_machine().include_execution_data
    # The execution's input (the Pipe's records) is logged twice, before ParseMessage reads the
    # job id; later events carry the job's own data, about the size of its item.
    record = len(json.dumps(sample_pipe_input())) if included else 0
    job = item_bytes(sample_job_item(payload_chars)) if included else 0
    if log_level == "ALL":
        return events * HISTORY_EVENT_BYTES + 2 * record + (with_data - 2) * job
    # ERROR and FATAL log only the failure events of the executions that fail.
    failure_events = {"ERROR": ERROR_EVENTS_PER_FAILURE, "FATAL": 1}.get(log_level, 0)
    return failure_rate * failure_events * (HISTORY_EVENT_BYTES + job)


def function_log_bytes(stack: Stack, reads_per_job: float) -> float:
    """Bytes the functions log per job, as CloudWatch Logs ingests them: the submit, the reads,
    the claim, process and finalize invocations."""
    info = 0.0 if stack.template.parameters.get("LogLevel") in ("WARNING", "ERROR") else 1.0
    # Lambda's platform.start and platform.report are INFO events: SystemLogLevel WARN drops them.
    platform = 0.0 if stack.template.parameters.get("SystemLogLevel") == "WARN" else PLATFORM_LOG_BYTES
    per_call = {
        key: platform + info * lines * INFO_LINE_BYTES + emf * EMF_LINE_BYTES
        for key, (lines, emf) in LOG_LINES.items()
    }
    return (
        per_call["submit"]
        + reads_per_job * per_call["read"]
        + sum(per_call[name] for name in WORKFLOW_FUNCTIONS)
    )
