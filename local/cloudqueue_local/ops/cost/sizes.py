"""What one job weighs on AWS: its item in the table, the Pipe's record, its execution history
and its functions' log lines, in the bytes each service bills."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from cloudqueue.adapters.dynamodb import DynamoJobStore, from_item
from cloudqueue.api_models import JobView
from cloudqueue.jobtypes import JOB_TYPES, JobContext
from cloudqueue.models import DeliveryAttempt, Job, JobStatus
from cloudqueue_local.ops.cost.assumptions import (
    EMF_LINE_BYTES,
    ERROR_EVENTS_PER_FAILURE,
    HISTORY_EVENT_BYTES,
    INFO_LINE_BYTES,
    LOG_LINES,
    PLATFORM_JSON_LOG_BYTES,
    PLATFORM_LOG_BYTES,
    RESPONSE_HEADER_BYTES,
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


class _RecordingClient:
    """A DynamoDB client that answers every call with nothing and keeps the items it is given."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            puts = [request.get("Item")] + [
                each.get("Put", {}).get("Item") for each in request.get("TransactItems", [])
            ]
            self.items += [item for item in puts if item and "jobId" in item]
            return {}

        return call


@cache
def _written_item(payload_chars: int, shards: int) -> tuple[tuple[str, Any], ...]:
    recorder = _RecordingClient()
    store = DynamoJobStore("jobs", shards=shards, client=cast("DynamoDBClient", recorder))
    store.create_job(sample_job(payload_chars))
    (item,) = [each for each in recorder.items if each["jobId"] == {"S": SAMPLE_JOB_ID}]
    return tuple(from_item(item).items())


def sample_job_item(payload_chars: int, shards: int = 4) -> dict[str, Any]:
    """A finished text.transform job as the table holds it (while it is leased it holds a token
    instead), in plain values: the item the DynamoDB store itself writes for it (its codec, its
    index keys, whatever they are), recorded from its ``create_job`` with a client that answers
    nothing."""
    return dict(_written_item(payload_chars, shards))


def item_bytes(item: dict[str, Any]) -> int:
    """The size DynamoDB bills for an item: each attribute's name and value."""
    return sum(len(name.encode()) + dynamodb_bytes(value) for name, value in item.items())


def delivery_record_bytes() -> int:
    """What a job with a callbackUrl and one delivered attempt holds beyond a job without: the
    URL, the ``deliveries`` list of one attempt as the webhook function writes it, the count."""
    attempt = DeliveryAttempt(
        webhook_id=f"msg_{SAMPLE_JOB_ID}_1", attempt=1, at=SAMPLE_TIME, status_code=200, outcome="DELIVERED"
    )
    return item_bytes(
        {
            "callbackUrl": "https://hooks.example.com/cloudqueue",
            "deliveries": [attempt.to_json_dict(exclude_none=True)],
            "deliveryAttempts": 1,
        }
    )


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


def invocation_log_bytes(stack: Stack, function: str, lines: tuple[float, float]) -> float:
    """Bytes one invocation of ``function`` logs, as CloudWatch Logs ingests them, for its
    (Powertools log lines at INFO, EMF lines): what its LoggingConfig and LogLevel let through.

    Lambda writes its platform lines (START, END, REPORT; JSON records with LogFormat JSON)
    unless SystemLogLevel is WARN or above; Powertools writes its INFO lines when its level is
    DEBUG or INFO; with LogFormat JSON, an ApplicationLogLevel of WARN or above drops the INFO
    lines, and the EMF lines too (they carry no level: the metrics would be lost).
    """
    config = stack.logging_config(function)
    json_format = str(config.get("LogFormat", "Text")).upper() == "JSON"
    system = str(config.get("SystemLogLevel", "INFO")).upper()
    application = str(config.get("ApplicationLogLevel", "INFO")).upper() if json_format else "INFO"
    quiet_application = application in ("WARN", "ERROR", "FATAL")
    platform = 0.0
    if not (json_format and system in ("WARN", "ERROR", "FATAL")):
        platform = PLATFORM_JSON_LOG_BYTES if json_format else PLATFORM_LOG_BYTES
    info, emf = lines
    writes_info = stack.log_level(function) in ("DEBUG", "INFO") and not quiet_application
    return (
        platform
        + (info * INFO_LINE_BYTES if writes_info else 0.0)
        + (0.0 if quiet_application else emf * EMF_LINE_BYTES)
    )


def function_log_bytes(stack: Stack, reads_per_job: float) -> float:
    """Bytes the functions log per job, as CloudWatch Logs ingests them: the submit, the reads,
    the claim, process and finalize invocations."""
    return (
        invocation_log_bytes(stack, "ApiFunction", LOG_LINES["submit"])
        + reads_per_job * invocation_log_bytes(stack, "ApiFunction", LOG_LINES["read"])
        + sum(invocation_log_bytes(stack, name, LOG_LINES[name]) for name in WORKFLOW_FUNCTIONS)
    )


def response_bytes(payload_chars: int, reads_per_job: float) -> tuple[int, int, float]:
    """(submit response, GET response, bytes out per job) of the API, bodies as its handler
    serialises them (JobView of the job QUEUED, then of the job finished) plus HTTP headers."""
    finished = sample_job(payload_chars)
    queued = Job(
        job_id=finished.job_id,
        type=finished.type,
        payload=finished.payload,
        status=JobStatus.QUEUED,
        created_at=SAMPLE_TIME,
        updated_at=SAMPLE_TIME,
        expires_at=finished.expires_at,
    )
    submit = len(JobView.of(queued).model_dump_json(by_alias=True).encode()) + RESPONSE_HEADER_BYTES
    read = len(JobView.of(finished).model_dump_json(by_alias=True).encode()) + RESPONSE_HEADER_BYTES
    return submit, read, submit + reads_per_job * read
