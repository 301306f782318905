"""In-memory fakes of the ports in ``cloudqueue.ports``, a fake LambdaContext, and event builders.

The fake store keeps the rules the DynamoDB store enforces with condition expressions, by
asking ``cloudqueue.lifecycle`` (the same rules, said in Python). It stores copies, as a
database would, so a test cannot change a stored job by mutating the object it holds.

Event builders take keyword overrides; each builds the event one AWS service would send.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudqueue import lifecycle
from cloudqueue.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    JobNotCancellable,
    JobNotFoundError,
    LeaseLost,
)
from cloudqueue.jobs import new_job_id, request_hash
from cloudqueue.models import Job, JobFailure, JobStatus
from cloudqueue.ports import ClaimAttempt

MAX_RECORDED_EXECUTIONS = 25
EXECUTION_PREFIX = "arn:aws:states:us-east-1:123456789012:express:cloudqueue-jobs"

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
"""A fixed moment for tests that pass ``now`` explicitly (milliseconds only, as stored)."""


def execution_arn(name: str = "run-1") -> str:
    return f"{EXECUTION_PREFIX}:{name}:{name}"


def job_id(n: int) -> str:
    """A valid job id (UUIDv7 shape) that sorts by ``n``: job ``n + 1`` is newer than job ``n``."""
    return f"01900000-0000-7000-8000-{n:012x}"


def make_job(**overrides: Any) -> Job:
    """A QUEUED ``text.transform`` job created at ``T0``; any field can be overridden."""
    values: dict[str, Any] = {
        "job_id": new_job_id(),
        "type": "text.transform",
        "payload": {"text": "hello cloudqueue"},
        "status": JobStatus.QUEUED,
        "created_at": T0,
        "updated_at": T0,
    }
    values |= overrides
    values.setdefault("payload_hash", request_hash(values["type"], values["payload"]))
    return Job(**values)


# --- ports ------------------------------------------------------------------------------


class FakeJobStore:
    """``JobStore`` in a dict, with the DynamoDB store's rules."""

    def __init__(self, *jobs: Job) -> None:
        self.jobs: dict[str, Job] = {}
        self.keys: dict[str, tuple[str, str | None]] = {}  # idempotency key → (job id, request hash)
        self.writes = 0
        for job in jobs:
            self.put(job)

    # --- test helpers ---

    def put(self, job: Job) -> Job:
        """Store ``job`` as it is (no rules): the Given of a test."""
        self.jobs[job.job_id] = job.model_copy(deep=True)
        if job.idempotency_key is not None:
            self.keys[job.idempotency_key] = (job.job_id, job.payload_hash)
        return job

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, as plain data: equal snapshots mean nothing changed."""
        return {
            "jobs": {job_id: job.model_dump(mode="json") for job_id, job in self.jobs.items()},
            "keys": dict(self.keys),
        }

    def _stored(self, job: Job) -> Job:
        self.writes += 1
        self.jobs[job.job_id] = job.model_copy(deep=True)
        return job.model_copy(deep=True)

    def _copy(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job.model_copy(deep=True) if job is not None else None

    # --- JobStore ---

    def create_job(self, job: Job) -> tuple[Job, bool]:
        if job.job_id in self.jobs:
            raise ValueError(f"job {job.job_id} exists")  # the condition attribute_not_exists(jobId)
        if job.idempotency_key is not None:
            if job.idempotency_key in self.keys:
                target, payload_hash = self.keys[job.idempotency_key]
                if payload_hash != job.payload_hash:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was already used with a different request body",
                        details={"jobId": target},
                    )
                existing = self._copy(target)
                if existing is None:
                    raise EnqueueFailed("the job made with this Idempotency-Key is being created; retry")
                return existing, False
            self.keys[job.idempotency_key] = (job.job_id, job.payload_hash)
        return self._stored(job), True

    def delete_queued_job(self, job: Job) -> None:
        # One transaction: the job must be QUEUED and its key's record must name it, or
        # nothing is deleted.
        stored = self.jobs.get(job.job_id)
        if stored is None or stored.status is not JobStatus.QUEUED:
            raise RuntimeError(f"job {job.job_id} is not QUEUED")
        owns_key = job.idempotency_key is None or self.keys.get(job.idempotency_key, ("",))[0] == job.job_id
        if not owns_key:
            raise RuntimeError(f"the record of key {job.idempotency_key!r} names another job")
        self.writes += 1
        del self.jobs[job.job_id]
        if job.idempotency_key is not None:
            del self.keys[job.idempotency_key]

    def get_job(self, job_id: str) -> Job | None:
        return self._copy(job_id)

    def list_jobs(
        self, status: JobStatus | None, limit: int, after_job_id: str | None
    ) -> tuple[list[Job], str | None]:
        matching = sorted(
            (
                job
                for job in self.jobs.values()
                if (status is None or job.status is status)
                and (after_job_id is None or job.job_id < after_job_id)
            ),
            key=lambda job: job.job_id,
            reverse=True,
        )
        page = [job.model_copy(deep=True) for job in matching[:limit]]
        return page, (page[-1].job_id if len(matching) > limit else None)

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        job = self._copy(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id}")
        if not (job.status is JobStatus.QUEUED and lifecycle.can_transition(job.status, JobStatus.CANCELLED)):
            raise JobNotCancellable(
                f"job {job_id} is {job.status.value}; only a QUEUED job can be cancelled",
                details={"status": job.status.value},
            )
        return self._stored(
            job.model_copy(update={"status": JobStatus.CANCELLED, "finished_at": now, "updated_at": now})
        )

    def claim_job(
        self, job_id: str, *, execution_id: str, lease_token: str, now: datetime, lease_seconds: int
    ) -> ClaimAttempt:
        job = self._copy(job_id)
        if job is None:
            return ClaimAttempt(claimed=False, job=None)
        if lifecycle.decide_claim(job, now.timestamp()).verdict is not lifecycle.ClaimVerdict.CLAIM:
            return ClaimAttempt(claimed=False, job=job)
        claimed = job.model_copy(
            update={
                "status": JobStatus.IN_PROGRESS,
                "attempts": job.attempts + 1,
                "lease_token": lease_token,
                "lease_expires_at": now.timestamp() + lease_seconds,
                "started_at": job.started_at or now,
                "updated_at": now,
                "executions": [*job.executions, execution_id],
            }
        )
        return ClaimAttempt(claimed=True, job=self._stored(claimed))

    def record_execution(self, job_id: str, execution_id: str) -> None:
        job = self._copy(job_id)
        if job is None or len(job.executions) >= MAX_RECORDED_EXECUTIONS:
            return
        self._stored(job.model_copy(update={"executions": [*job.executions, execution_id]}))

    def finish_job(
        self,
        job_id: str,
        *,
        lease_token: str,
        status: JobStatus,
        result: dict[str, Any] | None,
        error: JobFailure | None,
        now: datetime,
    ) -> Job:
        assert lifecycle.can_transition(JobStatus.IN_PROGRESS, status) and lifecycle.is_terminal(status)
        job = self._copy(job_id)
        if job is None or job.status is not JobStatus.IN_PROGRESS or job.lease_token != lease_token:
            state = job.status.value if job else "missing"
            raise LeaseLost(f"job {job_id} is no longer leased to this worker (it is {state})")
        finished = job.model_copy(
            update={
                "status": status,
                "result": result if status is JobStatus.SUCCEEDED else job.result,
                "error": error if status is JobStatus.FAILED else job.error,
                "finished_at": now,
                "updated_at": now,
                "lease_token": None,
                "lease_expires_at": None,
            }
        )
        return self._stored(finished)

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        job = self._copy(job_id)
        if job is None or not lifecycle.can_fail_dead_lettered(job, now.timestamp()):
            return None
        failed = job.model_copy(
            update={
                "status": JobStatus.FAILED,
                "error": error,
                "finished_at": now,
                "updated_at": now,
                "lease_token": None,
                "lease_expires_at": None,
            }
        )
        return self._stored(failed)

    def find_stranded_jobs(self, *, queued_before: datetime, lease_expired_before: datetime) -> list[Job]:
        cutoff = lease_expired_before.timestamp()
        return [
            job.model_copy(deep=True)
            for job in self.jobs.values()
            if (job.status is JobStatus.QUEUED and job.updated_at < queued_before)
            or (
                job.status is JobStatus.IN_PROGRESS
                and job.lease_expires_at is not None
                and job.lease_expires_at < cutoff
            )
        ]

    def mark_requeued(self, job: Job, now: datetime) -> bool:
        stored = self._copy(job.job_id)
        if stored is None or stored.status is not job.status or stored.updated_at != job.updated_at:
            return False
        self._stored(stored.model_copy(update={"updated_at": now}))
        return True


class QueueUnavailable(Exception):
    """What a failing fake queue raises."""


class FakeJobQueue:
    """``JobQueue`` that records the ids it was asked to send; ``fail = True`` makes sends raise."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def send_job(self, job_id: str) -> None:
        if self.fail:
            raise QueueUnavailable("SQS is unreachable")
        self.sent.append(job_id)


class FakeExecutionLog:
    """``ExecutionLog`` answering canned events per execution ARN."""

    def __init__(self, events: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.events = events or {}
        self.asked: list[str] = []

    def events_of(self, execution_arn: str) -> list[dict[str, Any]]:
        self.asked.append(execution_arn)
        return list(self.events.get(execution_arn, []))


SAMPLE_DEFINITION: dict[str, Any] = {
    "StartAt": "ClaimJob",
    "States": {"ClaimJob": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}},
}


@dataclass
class FakeWorkflow:
    """``Workflow`` with a fixed definition."""

    state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:cloudqueue-jobs"
    asl: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(SAMPLE_DEFINITION)))

    def definition(self) -> dict[str, Any]:
        return self.asl


# --- Lambda ------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    """The attributes of ``LambdaContext`` that Powertools reads."""

    function_name: str = "cloudqueue-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cloudqueue-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/cloudqueue-test"
    log_stream_name: str = "2026/01/02/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# --- events ------------------------------------------------------------------------------


def http_event(
    method: str = "GET",
    path: str = "/jobs",
    *,
    body: str | bytes | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_encoded: bool | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload format 2.0) for ``method path``.

    A dict or list body is sent as JSON; bytes are sent base64-encoded, as API Gateway does
    with a binary body (or pass ``base64_encoded`` to choose).
    """
    all_headers = {"content-type": "application/json", "user-agent": "pytest"}
    all_headers |= {name.lower(): value for name, value in (headers or {}).items()}
    encoded = isinstance(body, bytes) if base64_encoded is None else base64_encoded
    text: str | None
    if body is None:
        text = None
    elif isinstance(body, dict | list):
        text = json.dumps(body)
    elif isinstance(body, bytes):
        text = base64.b64encode(body).decode() if encoded else body.decode("utf-8", errors="replace")
    else:
        text = base64.b64encode(body.encode()).decode() if encoded else body
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{name}={value}" for name, value in (query or {}).items()),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Jan/2026:03:04:05 +0000",
            "timeEpoch": 1767323045678,
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if text is not None:
        event["body"] = text
    return event


def job_message(job_id: str) -> str:
    """The body the API sends to the queue for ``job_id``."""
    return json.dumps({"jobId": job_id})


def claim_event(
    job_id: str = "",
    *,
    execution_id: str | None = None,
    body: str | None = None,
    message_id: str = "m-1",
    receive_count: int | str = 1,
) -> dict[str, Any]:
    """The ClaimJob task's payload: the parsed SQS record and the execution's id."""
    return {
        "message": {
            "messageId": message_id,
            "body": job_message(job_id) if body is None else body,
            "receiveCount": receive_count,
        },
        "executionId": execution_id or execution_arn(),
    }


def process_event(
    job_id: str = "",
    *,
    type: str = "text.transform",
    payload: dict[str, Any] | None = None,
    attempt: int = 1,
    retry_count: int = 0,
) -> dict[str, Any]:
    """The ProcessJob task's payload."""
    return {
        "jobId": job_id,
        "type": type,
        "payload": {"text": "hello cloudqueue"} if payload is None else payload,
        "attempt": attempt,
        "retryCount": retry_count,
    }


def lambda_cause(message: str, error_type: str = "PermanentJobError") -> str:
    """The ``Cause`` Step Functions gives for a Lambda that raised: the error as JSON text."""
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "0f2c9d1e-1111-2222-3333-444455556666",
            "stackTrace": ['  File "/var/task/cloudqueue/workflow.py", line 1, in process_job\n'],
        }
    )


def finalize_event(
    job_id: str = "",
    *,
    lease_token: str = "token",
    outcome: str = "SUCCEEDED",
    result: dict[str, Any] | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """The RecordSuccess / RecordFailure task's payload; ``error`` makes it a Catch output."""
    event: dict[str, Any] = {"jobId": job_id, "leaseToken": lease_token, "outcome": outcome}
    if outcome == "SUCCEEDED":
        event["result"] = {"ok": True} if result is None else result
    if error is not None:
        event["failure"] = {"Error": error, "Cause": cause}
    return event


def sqs_record(
    body: str,
    *,
    receive_count: int = 1,
    message_id: str | None = None,
    queue_name: str = "cloudqueue-jobs-dlq",
) -> dict[str, Any]:
    """One record of an SQS event as Lambda's event source mapping delivers it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1767323045678",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767323045679",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue_name}",
        "awsRegion": "us-east-1",
    }


def sqs_event(bodies: list[str], *, receive_count: int = 3) -> dict[str, Any]:
    """An SQS event with one record per body."""
    return {"Records": [sqs_record(body, receive_count=receive_count) for body in bodies]}


def schedule_event() -> dict[str, Any]:
    """The EventBridge Scheduler / scheduled rule event that starts the requeue sweep."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-02T03:04:05Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/cloudqueue-requeue"],
        "detail": {},
    }


def later(seconds: float, start: datetime = T0) -> datetime:
    return start + timedelta(seconds=seconds)
