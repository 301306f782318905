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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
from cloudqueue.listing import (
    DEFAULT_OWNER,
    ListPosition,
    days_to_walk,
    owner_key,
    page_of_jobs,
    parse_cursor,
    position_of,
    shard_number,
    window_days,
)
from cloudqueue.models import Job, JobFailure, JobStatus
from cloudqueue.ports import ClaimAttempt, PendingSend, StrandedSweep, WorkflowDescription

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
    """``JobStore`` in a dict, with the DynamoDB store's rules.

    Its listing's "today" is ``clock()``; without one, the day of the newest job queued (or
    now, when it holds none), so that jobs made at ``T0`` are within the listing's window.
    """

    def __init__(
        self,
        *jobs: Job,
        clock: Callable[[], datetime] | None = None,
        retention_days: int = 30,
        queue_retention_seconds: int = 1_209_600,
    ) -> None:
        self.clock = clock
        self.window = window_days(retention_days, queue_retention_seconds)
        self.retention = timedelta(days=retention_days)
        self.shards = 4
        self.stranded: StrandedSweep | None = None
        self.listed_reads = 0  # calls of jobs_listed_on
        self.jobs: dict[str, Job] = {}
        # (owner, idempotency key) → (job id, request hash): keys are per owner
        self.keys: dict[tuple[str, str], tuple[str, str | None]] = {}
        self.tombstones: set[str] = set()
        # (type, concurrency key) → {entry index: (job id, lease token, expires at)}: the slots
        self.slots: dict[tuple[str, str], dict[int, tuple[str, str, float]]] = {}
        self.cursor: str | None = None
        self.writes = 0
        for job in jobs:
            self.put(job)

    # --- test helpers ---

    def put(self, job: Job) -> Job:
        """Store ``job`` as it is (no rules): the Given of a test."""
        self.jobs[job.job_id] = job.model_copy(deep=True)
        if job.idempotency_key is not None:
            self.keys[(job.owner, job.idempotency_key)] = (job.job_id, job.payload_hash)
        return job

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, as plain data: equal snapshots mean nothing changed."""
        return {
            "jobs": {job_id: job.model_dump(mode="json") for job_id, job in self.jobs.items()},
            "keys": dict(self.keys),
            "tombstones": sorted(self.tombstones),
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
        if job.job_id in self.jobs or job.job_id in self.tombstones:
            raise EnqueueFailed("the job's message was given up on before it was stored; retry")
        if job.idempotency_key is not None:
            existing = self.job_for_idempotency_key(job.idempotency_key, job.payload_hash, owner=job.owner)
            if existing is not None:
                return existing, False
            self.keys[(job.owner, job.idempotency_key)] = (job.job_id, job.payload_hash)
        return self._stored(job), True

    def job_for_idempotency_key(
        self, idempotency_key: str, payload_hash: str | None, *, owner: str = DEFAULT_OWNER
    ) -> Job | None:
        if (owner, idempotency_key) not in self.keys:
            return None
        target, stored_hash = self.keys[(owner, idempotency_key)]
        if stored_hash != payload_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body",
                details={"jobId": target},
            )
        existing = self._copy(target)
        if existing is None:  # as DynamoDB: the key's record is written, its job not (yet)
            raise EnqueueFailed("the job made with this Idempotency-Key is being created; retry")
        return existing

    def get_job(self, job_id: str) -> Job | None:
        return self._copy(job_id)

    def _today(self) -> datetime:
        if self.clock is not None:
            return self.clock()
        moments = [job.queued_at or job.created_at for job in self.jobs.values()]
        return max(moments, default=datetime.now(UTC))

    def list_jobs(
        self,
        owner: str | None,
        status: JobStatus | None,
        limit: int,
        cursor: str | None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Job], str | None]:
        # The index, as DynamoDB's would hold it: every job's position, of the owner's key.
        start = parse_cursor(cursor, owner) if cursor is not None else None
        prefix = owner_key(owner) + "#" if owner is not None else ""
        index = sorted(
            (
                position
                for job in self.jobs.values()
                if (position := position_of(job)).list_key.startswith(prefix)
            ),
            reverse=True,
        )
        today = self._today().astimezone(UTC).date()

        def keys_after(position: ListPosition | None, wanted: int) -> list[ListPosition]:
            days = set(days_to_walk(today, self.window, position))
            return [each for each in index if each.day in days and (position is None or each < position)][
                :wanted
            ]

        page, last = page_of_jobs(
            owner=owner,
            status=status,
            now=now,
            limit=limit,
            start=start,
            keys_after=keys_after,
            read_jobs=lambda ids: {job_id: job for job_id in ids if (job := self._copy(job_id)) is not None},
        )
        return page, (last.cursor() if last is not None else None)

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        job = self._copy(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id}")
        verdict = lifecycle.decide_cancel(job)
        if verdict is lifecycle.CancelVerdict.MARK:
            return self._stored(
                job.model_copy(
                    update={"cancel_requested_at": job.cancel_requested_at or now, "updated_at": now}
                )
            )
        if verdict is lifecycle.CancelVerdict.REFUSE:
            raise JobNotCancellable(
                f"job {job_id} is {job.status.value}; "
                "only a QUEUED, SCHEDULED or IN_PROGRESS job can be cancelled",
                details={"status": job.status.value},
            )
        return self._stored(
            job.model_copy(
                update={
                    "status": JobStatus.CANCELLED,
                    "finished_at": now,
                    "updated_at": now,
                    "pending_since": None,
                    "pending_shard": None,
                }
            )
        )

    def rerun_job(
        self,
        job_id: str,
        *,
        now: datetime,
        idempotency_key: str | None,
        request_hash: str,
        owner: str = DEFAULT_OWNER,
    ) -> tuple[Job, bool]:
        if idempotency_key is not None and (owner, idempotency_key) in self.keys:
            target, used_hash = self.keys[(owner, idempotency_key)]
            if used_hash != request_hash:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used with a different request",
                    details={"jobId": target},
                )
            return self._existing(job_id), False
        job = self._existing(job_id)
        lifecycle.check_rerunnable(job)
        if idempotency_key is not None:
            self.keys[(owner, idempotency_key)] = (job_id, request_hash)
        queued = job.model_copy(
            update={
                "status": JobStatus.QUEUED,
                "runs": [*job.runs, lifecycle.finished_run(job)],
                "error": None,
                "result": None,
                "started_at": None,
                "finished_at": None,
                "lease_token": None,
                "lease_expires_at": None,
                "lease_message_id": None,
                "lease_execution_id": None,
                "updated_at": now,
                "queued_at": now,
                "pending_since": int(now.timestamp()),
                "pending_shard": "PENDING#0",
                "redrives": 0,
                "cancel_requested_at": None,
                "progress": None,
                "slot_index": None,
                "waiting_for": None,
            }
        )
        return self._stored(queued), True

    def _existing(self, job_id: str) -> Job:
        job = self._copy(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id}")
        return job

    def _holds_marker(self, job: Job) -> bool:
        stored = self.jobs.get(job.job_id)
        return (
            stored is not None
            and stored.status is JobStatus.QUEUED
            and stored.pending_since is not None
            and stored.pending_since == job.pending_since
            and len(stored.runs) == len(job.runs)
        )

    def undo_rerun(
        self, job: Job, *, now: datetime, idempotency_key: str | None, owner: str = DEFAULT_OWNER
    ) -> bool:
        if not self._holds_marker(job):
            return False
        run = job.runs[-1]
        self._stored(
            job.model_copy(
                update={
                    "status": JobStatus.FAILED,
                    "runs": job.runs[:-1],
                    "error": run.error,
                    "result": run.result,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "updated_at": now,
                    "pending_since": None,
                    "pending_shard": None,
                }
            )
        )
        if idempotency_key is not None:
            self.keys.pop((owner, idempotency_key), None)
        return True

    def claim_job(
        self,
        job_id: str,
        *,
        message_id: str,
        execution_id: str,
        lease_token: str,
        now: datetime,
        lease_seconds: int,
    ) -> ClaimAttempt:
        job = self._copy(job_id)
        if job is None:
            return ClaimAttempt(claimed=False, job=None)
        if lifecycle.decide_claim(job, now.timestamp()).verdict is not lifecycle.ClaimVerdict.CLAIM:
            return ClaimAttempt(claimed=False, job=job)
        if job.status is JobStatus.IN_PROGRESS and job.lease_expires_at is None:
            # As DynamoDB's condition (leaseExpiresAt <= :epoch): no expiry to compare, no claim.
            return ClaimAttempt(claimed=False, job=job)
        slot_index = None
        if job.concurrency_limit is not None and job.concurrency_key is not None:
            slots = self.slots.setdefault((job.type, job.concurrency_key), {})
            epoch = now.timestamp()
            free = [
                index
                for index in range(job.concurrency_limit)
                if index not in slots or slots[index][2] <= epoch or slots[index][0] == job_id
            ]
            if not free:
                return ClaimAttempt(claimed=False, job=job, waiting=True)
            slot_index = free[0]
            slots[slot_index] = (job_id, lease_token, epoch + lease_seconds)
        claimed = job.model_copy(
            update={
                "slot_index": slot_index if slot_index is not None else job.slot_index,
                "waiting_for": None,
                "status": JobStatus.IN_PROGRESS,
                "attempts": job.attempts + 1,
                "lease_token": lease_token,
                "lease_expires_at": now.timestamp() + lease_seconds,
                "lease_message_id": message_id,
                "lease_execution_id": execution_id,
                "pending_since": None,
                "pending_shard": None,
                "started_at": job.started_at or now,
                "updated_at": now,
                "executions": [*job.executions, execution_id],
            }
        )
        return ClaimAttempt(claimed=True, job=self._stored(claimed))

    def mark_waiting(self, job_id: str, reason: str, now: datetime) -> None:
        job = self._copy(job_id)
        if job is not None and job.status is JobStatus.QUEUED:
            self._stored(job.model_copy(update={"waiting_for": reason, "updated_at": now}))

    def release_slot(self, job: Job, lease_token: str) -> None:
        if job.concurrency_key is None or job.slot_index is None:
            return
        slots = self.slots.get((job.type, job.concurrency_key), {})
        held = slots.get(job.slot_index)
        if held is not None and held[1] == lease_token:
            del slots[job.slot_index]

    def write_tombstone(self, job_id: str, now: datetime) -> bool:
        if job_id in self.jobs:
            return False
        self.writes += 1
        self.tombstones.add(job_id)
        return True

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
        if job is not None and lifecycle.is_finished_by(job, lease_token):
            self.release_slot(job, lease_token)
            return job  # a retry of a write that happened
        if job is None or job.status is not JobStatus.IN_PROGRESS or job.lease_token != lease_token:
            state = job.status.value if job else "missing"
            raise LeaseLost(f"job {job_id} is no longer leased to this worker (it is {state})")
        status = lifecycle.finished_status(job, status)  # a cancel mark discards the outcome
        finished = job.model_copy(
            update={
                "status": status,
                "result": result if status is JobStatus.SUCCEEDED else job.result,
                "error": error if status is JobStatus.FAILED else job.error,
                "finished_at": now,
                "updated_at": now,
                "lease_expires_at": None,
            }
        )
        self.release_slot(finished, lease_token)
        return self._stored(finished)

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        job = self._copy(job_id)
        if job is None or not lifecycle.can_fail_dead_lettered(job, now.timestamp()):
            return None
        status = lifecycle.abandoned_status(job)
        failed = job.model_copy(
            update={
                "status": status,
                "error": error if status is JobStatus.FAILED else job.error,
                "finished_at": now,
                "updated_at": now,
                "lease_token": None,
                "lease_expires_at": None,
                "pending_since": None,
                "pending_shard": None,
            }
        )
        return self._stored(failed)

    def mark_redriven(self, job_id: str, now: datetime) -> Job | None:
        job = self._copy(job_id)
        if job is None or not lifecycle.can_fail_dead_lettered(job, now.timestamp()):
            return None
        return self._stored(job.model_copy(update={"redrives": job.redrives + 1, "updated_at": now}))

    def pending_sends(self, cursor: str | None, limit: int) -> tuple[list[PendingSend], str | None]:
        pending = sorted(
            (
                job
                for job in self.jobs.values()
                if job.pending_since is not None and job.job_id > (cursor or "")
            ),
            key=lambda job: job.job_id,
        )
        page = [
            PendingSend(job_id=job.job_id, pending_since=job.pending_since or 0, status=job.status)
            for job in pending[:limit]
        ]
        return page, (page[-1].job_id if len(pending) > limit else None)

    def clear_pending_send(self, job_id: str, pending_since: int) -> None:
        job = self._copy(job_id)
        if job is not None and job.pending_since == pending_since:
            self._stored(job.model_copy(update={"pending_since": None, "pending_shard": None}))

    def sweep_cursor(self) -> str | None:
        return self.cursor

    def save_sweep_cursor(self, cursor: str | None) -> None:
        self.cursor = cursor

    def stranded_sweep(self) -> StrandedSweep | None:
        return self.stranded

    def save_stranded_sweep(self, previous: StrandedSweep | None, position: StrandedSweep) -> bool:
        if self.stranded != previous:
            return False
        self.stranded = position
        return True

    def jobs_listed_on(self, day: date, after: str | None, limit: int) -> tuple[list[Job], str | None]:
        # As the DynamoDB store: one shard of the day a page, in listKey order; "<shard>|<key>".
        self.listed_reads += 1
        shard_text, _, last_key = (after or "0|").partition("|")
        shard = int(shard_text)
        listed = sorted(
            (position.list_key, job)
            for job in self.jobs.values()
            if (position := position_of(job)).day == day
            and shard_number(job.job_id, self.shards) == shard
            and position.list_key > last_key
        )
        page = [job.model_copy(deep=True) for _, job in listed[:limit]]
        if len(listed) > limit:
            return page, f"{shard}|{listed[limit - 1][0]}"
        return page, (f"{shard + 1}|" if shard + 1 < self.shards else None)

    def requeue_stranded(self, job: Job, now: datetime) -> Job | None:
        stored = self._copy(job.job_id)
        if (
            stored is None
            or stored.status is not JobStatus.QUEUED
            or position_of(stored).day != position_of(job).day
        ):
            return None
        return self._stored(
            stored.model_copy(
                update={
                    "queued_at": now,
                    "updated_at": now,
                    "expires_at": int((now + self.retention).timestamp()),
                }
            )
        )


class QueueUnavailable(Exception):
    """What a failing fake queue raises."""


class FakeJobQueue:
    """``JobQueue`` that records the ids it was asked to send (and, in ``delays``, each send's
    due time and delay); ``fail = True`` makes sends raise."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.delays: list[tuple[str, datetime | None, int]] = []
        self.fail = fail
        self.refuse: set[int] = set()

    def send_job(self, job_id: str, *, run_at: datetime | None = None, delay_seconds: int = 0) -> None:
        if self.fail:
            raise QueueUnavailable("SQS is unreachable")
        self.sent.append(job_id)
        self.delays.append((job_id, run_at, delay_seconds))

    def send_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """Every id unsent while ``fail``; else each one sent but those at the positions (in
        this call) in ``refuse``."""
        if self.fail:
            return set(job_ids)
        unsent = {job_id for position, job_id in enumerate(job_ids) if position in self.refuse}
        self.sent.extend(job_id for job_id in job_ids if job_id not in unsent)
        return unsent


class FakeDelayedSends:
    """``DelayedSends`` in a dict: job id → due time; ``fail = True`` makes a schedule fail."""

    def __init__(self, *, fail: bool = False) -> None:
        self.schedules: dict[str, datetime] = {}
        self.fail = fail

    def schedule_send(self, job_id: str, run_at: datetime) -> None:
        if self.fail:
            raise QueueUnavailable("Scheduler is unreachable")
        self.schedules[job_id] = run_at

    def cancel_send(self, job_id: str) -> bool:
        return self.schedules.pop(job_id, None) is not None


class FakePoisonMessages:
    """``PoisonMessages`` that keeps what it is given in a list."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []

    def keep(self, body: str, *, message_id: str, receive_count: int, reason: str) -> None:
        self.kept.append(
            {"body": body, "messageId": message_id, "receiveCount": receive_count, "reason": reason}
        )


class FakeExecutionLog:
    """``ExecutionLog`` answering canned events per execution ARN, within the window asked.

    An event's time is its ``event_timestamp`` (epoch milliseconds, as Express logs it).
    ``windows`` keeps the ``(since, until)`` of every read.
    """

    def __init__(self, events: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.events = events or {}
        self.asked: list[str] = []
        self.windows: list[tuple[datetime | None, datetime | None]] = []

    def events_of(
        self, execution_arn: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        self.asked.append(execution_arn)
        self.windows.append((since, until))

        def within(event: dict[str, Any]) -> bool:
            millis = int(event.get("event_timestamp", 0))
            return (since is None or millis >= since.timestamp() * 1000) and (
                until is None or millis <= until.timestamp() * 1000
            )

        return [event for event in self.events.get(execution_arn, []) if within(event)]


SAMPLE_DEFINITION: dict[str, Any] = {
    "StartAt": "ClaimJob",
    "States": {"ClaimJob": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}},
}


@dataclass
class FakeWorkflow:
    """``Workflow`` with a fixed definition."""

    state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:cloudqueue-jobs"
    asl: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(SAMPLE_DEFINITION)))
    history_level: str = "ALL"

    def describe(self) -> WorkflowDescription:
        return WorkflowDescription(definition=self.asl, history_level=self.history_level)


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


def answer_of(response: dict[str, Any]) -> tuple[int, Any]:
    """An API Gateway answer's status and JSON body (None when empty), decoded as a client
    reads it (API Gateway base64-encodes a compressed body)."""
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return response["statusCode"], json.loads(raw) if raw else None


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
    sent_timestamp: int | str | None = None,
) -> dict[str, Any]:
    """The ClaimJob task's payload: the parsed SQS record and the execution's id."""
    message: dict[str, Any] = {
        "messageId": message_id,
        "body": job_message(job_id) if body is None else body,
        "receiveCount": receive_count,
    }
    if sent_timestamp is not None:
        message["sentTimestamp"] = sent_timestamp
    return {"message": message, "executionId": execution_id or execution_arn()}


def process_event(
    job_id: str = "",
    *,
    type: str = "text.transform",
    payload: dict[str, Any] | None = None,
    attempt: int = 1,
    retry_count: int = 0,
    lease_token: str | None = None,
) -> dict[str, Any]:
    """The ProcessJob task's payload."""
    return {
        "jobId": job_id,
        "type": type,
        "payload": {"text": "hello cloudqueue"} if payload is None else payload,
        "attempt": attempt,
        "retryCount": retry_count,
    } | ({"leaseToken": lease_token} if lease_token else {})


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
