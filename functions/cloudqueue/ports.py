"""The ports the domain talks through. Adapters in ``cloudqueue.adapters`` implement them for
AWS; tests hand in fakes. Nothing here imports boto3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cloudqueue.models import Job, JobFailure, JobStatus


@dataclass(frozen=True)
class ClaimAttempt:
    """The outcome of one conditional claim: the job as it is now, and whether we took it."""

    claimed: bool
    job: Job | None


class JobStore(Protocol):
    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Store a new QUEUED job. With an idempotency key already used for the same request,
        return the job that key made and False; for another request raise IdempotencyConflict."""

    def delete_queued_job(self, job: Job) -> None:
        """Undo ``create_job`` for a job that could not be enqueued (only while still QUEUED)."""

    def get_job(self, job_id: str) -> Job | None: ...

    def list_jobs(
        self, status: JobStatus | None, limit: int, after_job_id: str | None
    ) -> tuple[list[Job], str | None]:
        """Jobs newest first, optionally of one status; the second item is the last id if more remain."""

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        """QUEUED → CANCELLED; raises JobNotFoundError or JobNotCancellable."""

    def rerun_job(
        self, job_id: str, *, now: datetime, idempotency_key: str | None, request_hash: str
    ) -> tuple[Job, bool]:
        """One conditional write FAILED → QUEUED that moves the finished run into ``runs`` and
        sets the pending-send marker. With an Idempotency-Key already used for the same request,
        return the job as it is and False. Raises JobNotFoundError, JobNotRerunnable or
        IdempotencyConflict."""

    def undo_rerun(self, job: Job, *, now: datetime, idempotency_key: str | None) -> bool:
        """Put a rerun whose message could not be sent back to FAILED as it was, and forget the
        rerun's Idempotency-Key (only while the job is QUEUED with this rerun's marker); False
        when that no longer holds."""

    def clear_pending_send(self, job: Job) -> None:
        """Remove the pending-send marker ``job`` carries, if it still carries it."""

    def claim_job(
        self, job_id: str, *, execution_id: str, lease_token: str, now: datetime, lease_seconds: int
    ) -> ClaimAttempt:
        """Take the job if it is QUEUED or its lease has expired, else report it as it is."""

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
        """Write a terminal status, fenced by the lease token; raises LeaseLost."""

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        """QUEUED or lease-expired IN_PROGRESS → FAILED. Returns None when the rule forbids it."""

    def find_stranded_jobs(self, *, queued_before: datetime, lease_expired_before: datetime) -> list[Job]:
        """QUEUED jobs last enqueued before ``queued_before`` and IN_PROGRESS jobs whose lease
        expired before ``lease_expired_before``: jobs whose message may be gone."""

    def mark_requeued(self, job: Job, now: datetime) -> bool:
        """Mark a stranded job re-enqueued at ``now``; False if it changed meanwhile."""


class JobQueue(Protocol):
    def send_job(self, job_id: str) -> None:
        """Enqueue the message that makes the workflow run ``job_id``."""


class ExecutionLog(Protocol):
    def events_of(self, execution_arn: str) -> list[dict[str, Any]]:
        """The history events (Express log records) of one execution, oldest first."""


class Workflow(Protocol):
    state_machine_arn: str

    def definition(self) -> dict[str, Any]:
        """The state machine's ASL definition."""
