"""The ports the domain talks through. Adapters in ``cloudqueue.adapters`` implement them for
AWS; tests hand in fakes. Nothing here imports boto3."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from cloudqueue.listing import DEFAULT_OWNER
from cloudqueue.models import Job, JobFailure, JobStatus, RecurringSchedule


@dataclass(frozen=True)
class ClaimAttempt:
    """The outcome of one conditional claim: the job as it is now, and whether we took it."""

    claimed: bool
    job: Job | None
    # Not claimed only because every slot of the job's concurrency key is held.
    waiting: bool = False


@dataclass(frozen=True)
class PendingSend:
    """A job that a writer made QUEUED before sending its message (an entry of PendingSends)."""

    job_id: str
    pending_since: int
    status: JobStatus


@dataclass(frozen=True)
class StrandedSweep:
    """Where the sweep of stranded jobs stands: every job listed on a day before ``day`` was
    examined, and on ``day`` every one up to ``after`` (the store's place within the day;
    None: none yet)."""

    day: date
    after: str | None = None


class JobStore(Protocol):
    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Store a new QUEUED job (its message is already sent). With an idempotency key its
        owner already used for the same request, return the job that key made and False; for
        another request raise IdempotencyConflict. Raises EnqueueFailed when the id was
        tombstoned meanwhile. Keys are per owner: another owner's same key is another key."""

    def job_for_idempotency_key(
        self, idempotency_key: str, payload_hash: str | None, *, owner: str = DEFAULT_OWNER
    ) -> Job | None:
        """The job an earlier request of ``owner`` with this key made, if any;
        IdempotencyConflict when that request had another body."""

    def get_job(self, job_id: str) -> Job | None: ...

    def list_jobs(
        self,
        owner: str | None,
        status: JobStatus | None,
        limit: int,
        cursor: str | None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Job], str | None]:
        """One page of jobs in listing order (``cloudqueue.listing``: newest day first), of one
        owner (None: every owner) and optionally one status (as read at ``now``, if given:
        ``Job.status_at``), after ``cursor``; and the cursor
        to go on from, None at the end. A page may hold fewer than ``limit`` jobs (even none)
        while more remain. Raises InvalidPageToken for a cursor it did not give out."""

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        """QUEUED → CANCELLED; raises JobNotFoundError or JobNotCancellable."""

    def rerun_job(
        self,
        job_id: str,
        *,
        now: datetime,
        idempotency_key: str | None,
        request_hash: str,
        owner: str = DEFAULT_OWNER,
    ) -> tuple[Job, bool]:
        """One conditional write FAILED → QUEUED that moves the finished run into ``runs`` and
        sets the pending-send marker. With an Idempotency-Key ``owner`` (the caller) already
        used for the same request,
        return the job as it is and False. Raises JobNotFoundError, JobNotRerunnable or
        IdempotencyConflict."""

    def undo_rerun(
        self, job: Job, *, now: datetime, idempotency_key: str | None, owner: str = DEFAULT_OWNER
    ) -> bool:
        """Put a rerun whose message could not be sent back to FAILED as it was, and forget the
        rerun's Idempotency-Key (only while the job is QUEUED with this rerun's marker); False
        when that no longer holds."""

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
        """Take the job if it is QUEUED or its lease has expired, recording which message and
        execution hold the lease and removing any pending-send marker; else report it as it is.
        A job with a concurrency limit also takes a free (or expired) entry of its key's slot
        item, in the same transaction; with none free it is not claimed and ``waiting``."""

    def mark_waiting(self, job_id: str, reason: str, now: datetime) -> None:
        """Record on a QUEUED job why it has not started (``waitingFor``); the claim removes it."""

    def write_tombstone(self, job_id: str, now: datetime) -> bool:
        """Mark ``job_id`` as never to be written (a late create then fails). False: the job exists."""

    def record_execution(self, job_id: str, execution_id: str) -> None:
        """Remember an execution that saw the job without claiming it (for its history)."""

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
        """Write a terminal status, fenced by the lease token; raises LeaseLost. Idempotent: a
        retry after the write happened returns the job as written."""

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        """QUEUED or lease-expired IN_PROGRESS → FAILED with ``error``, or CANCELLED (no error)
        when a cancel marked the job (``cancelRequestedAt``), decided at the write. Returns None
        when the rule forbids it."""

    def mark_redriven(self, job_id: str, now: datetime) -> Job | None:
        """Count a redrive of a QUEUED or lease-expired job; None when the rule forbids it."""

    def pending_sends(self, cursor: str | None, limit: int) -> tuple[list[PendingSend], str | None]:
        """Up to ``limit`` jobs marked pending-send, from ``cursor``; the next cursor, None at the end."""

    def clear_pending_send(self, job_id: str, pending_since: int) -> None:
        """Remove the pending-send marker if it is still the one set at ``pending_since``."""

    def sweep_cursor(self) -> str | None:
        """Where the last sweep of pending sends stopped."""

    def save_sweep_cursor(self, cursor: str | None) -> None: ...

    def stranded_sweep(self) -> StrandedSweep | None:
        """Where the sweep of stranded jobs stands; None before its first run."""

    def save_stranded_sweep(self, previous: StrandedSweep | None, position: StrandedSweep) -> bool:
        """Move the sweep to ``position`` if it still stands at ``previous``; False when another
        sweep moved it meanwhile (and nothing is written)."""

    def jobs_listed_on(self, day: date, after: str | None, limit: int) -> tuple[list[Job], str | None]:
        """Up to ``limit`` jobs listed on ``day`` (every owner), from ``after`` (None: the day's
        start); and where to go on from, None when the day is done."""

    def requeue_stranded(self, job: Job, now: datetime) -> Job | None:
        """Record that ``job``'s message was sent again at ``now``: queued now, listed today. Only
        while it is QUEUED and listed where ``job`` was found; else None and nothing changes."""


class JobQueue(Protocol):
    def send_job(self, job_id: str, *, run_at: datetime | None = None, delay_seconds: int = 0) -> None:
        """Enqueue the message that makes the workflow run ``job_id``; with ``run_at`` the message
        says when the job is due, and SQS holds it back ``delay_seconds`` (at most 900)."""

    def send_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """Enqueue each job's message, several to a call, retrying what failed a bounded number
        of times; the ids whose message could not be sent (none is sent twice on purpose)."""


class DelayedSends(Protocol):
    """One-time EventBridge Scheduler schedules that send a job's message when it is due: the
    path of a delay longer than SQS can hold a message back."""

    def schedule_send(self, job_id: str, run_at: datetime) -> None:
        """Make the schedule that sends ``job_id``'s message (carrying ``run_at``) at ``run_at``."""

    def cancel_send(self, job_id: str) -> bool:
        """Delete ``job_id``'s schedule; False when there is none (fired, or never made)."""


class RecurringSchedules(Protocol):
    """Each owner's recurring EventBridge Scheduler schedules, whose target submits a job."""

    def create(self, schedule: RecurringSchedule) -> bool:
        """Make ``schedule``; False when its owner already has one by that name."""

    def get(self, owner: str, name: str) -> RecurringSchedule | None: ...

    def list(self, owner: str) -> list[RecurringSchedule]:
        """The owner's schedules, by name."""

    def delete(self, owner: str, name: str) -> bool:
        """Delete it; False when the owner has none by that name."""

    def set_enabled(self, owner: str, name: str, enabled: bool) -> RecurringSchedule | None:
        """Pause (False) or resume (True) it; None when the owner has none by that name."""


class PoisonMessages(Protocol):
    def keep(self, body: str, *, message_id: str, receive_count: int, reason: str) -> None:
        """Keep a message that names no job where an operator can see and delete it;
        ``message_id`` is the job queue's id of the message (a dead letter keeps it)."""


class ExecutionLog(Protocol):
    def events_of(
        self, execution_arn: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The history events (Express log records) of one execution, oldest first, among the
        records logged between ``since`` and ``until`` (None: no bound)."""


@dataclass(frozen=True)
class WorkflowDescription:
    """The state machine as deployed: its ASL definition, and what its history records
    (its logging level: ALL, ERROR, FATAL or OFF; below ALL an execution without errors
    logs nothing, so a client need not look for its history)."""

    definition: dict[str, Any]
    history_level: str


class Workflow(Protocol):
    state_machine_arn: str

    def describe(self) -> WorkflowDescription:
        """The state machine's definition and logging level, in one read."""
