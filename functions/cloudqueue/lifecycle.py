"""Which status may follow which, and what a claim should do with a job: pure rules.

The DynamoDB store enforces the same rules with condition expressions; these
functions say them in Python so that they can be read and tested on their own,
and so that a failed conditional write can be explained to its caller.

    SCHEDULED ──claim, once due──► IN_PROGRESS;  SCHEDULED ──cancel──► CANCELLED
    QUEUED ──claim──► IN_PROGRESS ──finalize──► SUCCEEDED | FAILED
      │                  │    ▲
      │                  └────┘ re-claim once the lease has expired (its worker died)
      ├──cancel──► CANCELLED
      └──dead-lettered──► FAILED ──rerun──► QUEUED (the same jobId; the run that failed kept in ``runs``)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloudqueue.errors import JobNotRerunnable
from cloudqueue.models import Job, JobRun, JobStatus

TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    # A due SCHEDULED job is claimed like a QUEUED one (in the same one write); it may be
    # dead-lettered like one too.
    JobStatus.SCHEDULED: frozenset({JobStatus.IN_PROGRESS, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.QUEUED: frozenset({JobStatus.IN_PROGRESS, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.IN_PROGRESS: frozenset({JobStatus.IN_PROGRESS, JobStatus.SUCCEEDED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def is_terminal(status: JobStatus) -> bool:
    return status in TERMINAL_STATUSES


def can_transition(current: JobStatus, new: JobStatus) -> bool:
    """True when a job in ``current`` may be written as ``new``."""
    return new in _ALLOWED[current]


def lease_is_live(job: Job, now: float) -> bool:
    """A lease is live strictly before ``lease_expires_at``; from that instant on it has expired.

    The DynamoDB store's conditions say the same thing the other way round: expired is
    ``leaseExpiresAt <= :epoch``. tests/unit/test_store_contract.py checks the exact instant.
    """
    return job.lease_expires_at is not None and job.lease_expires_at > now


def is_due(job: Job, now: float) -> bool:
    """A job may start from its ``run_at`` on (a job without one is due at once). The DynamoDB
    condition says the same: ``runAt <= :now`` on the sortable UTC text."""
    return job.run_at is None or job.run_at.timestamp() <= now


def cancellable(status: JobStatus) -> bool:
    """Only a job that has not started can be cancelled: QUEUED, or SCHEDULED before its time."""
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED)


class ClaimVerdict(StrEnum):
    CLAIM = "CLAIM"  # take the job: set IN_PROGRESS with a fresh lease
    OWNED = "OWNED"  # this execution already holds the lease: a retried claim gets the same claim
    SKIP = "SKIP"  # nothing to do: the job is finished, or another message's execution holds it
    LEASED = "LEASED"  # the lease holder's own message came back early: back off, let SQS redeliver
    DEFER = "DEFER"  # a SCHEDULED job before its time: put the message back until it is due


@dataclass(frozen=True)
class ClaimDecision:
    verdict: ClaimVerdict
    reason: str


def decide_claim(
    job: Job, now: float, *, message_id: str | None = None, execution_id: str | None = None
) -> ClaimDecision:
    """What a delivery of ``job``'s message should do at time ``now`` (epoch seconds).

    The SKIP rule for a live lease: an execution that claimed the job ends SUCCEEDED (its
    message deleted) only by writing a terminal state or after a newer claim superseded it,
    so the holder's own message still carries the job. A delivery of ANOTHER message (a
    duplicate send) can therefore be consumed without work. The holder's own message back
    while its lease is live (its execution failed) is LEASED: it must come back later.
    """
    if is_terminal(job.status):
        return ClaimDecision(ClaimVerdict.SKIP, f"job is already {job.status.value}")
    if job.status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        return _decide_waiting(job, now)
    if not lease_is_live(job, now):
        return ClaimDecision(ClaimVerdict.CLAIM, "the previous worker's lease has expired")
    if execution_id is not None and job.lease_execution_id == execution_id:
        return ClaimDecision(ClaimVerdict.OWNED, "this execution already holds the lease")
    if message_id is not None and job.lease_message_id not in (None, message_id):
        return ClaimDecision(
            ClaimVerdict.SKIP, "another message's execution holds a live lease; its message carries the job"
        )
    return ClaimDecision(
        ClaimVerdict.LEASED, "the lease holder's own message is back while its lease is live"
    )


def _decide_waiting(job: Job, now: float) -> ClaimDecision:
    """A job not yet started: claim it, unless it is SCHEDULED and not due."""
    if job.status is JobStatus.QUEUED:
        return ClaimDecision(ClaimVerdict.CLAIM, "job is queued")
    if not is_due(job, now):
        return ClaimDecision(ClaimVerdict.DEFER, "job is scheduled and not due yet")
    return ClaimDecision(ClaimVerdict.CLAIM, "job is scheduled and due")


def can_fail_dead_lettered(job: Job, now: float) -> bool:
    """A dead-lettered job may be failed unless it is finished or a live worker still has it."""
    if is_terminal(job.status):
        return False
    return not (job.status is JobStatus.IN_PROGRESS and lease_is_live(job, now))


class DeadLetterVerdict(StrEnum):
    CONSUME = "CONSUME"  # the job is finished: the dead letter needs nothing
    KEEP = "KEEP"  # a live lease: keep the message and look again later
    REDRIVE = "REDRIVE"  # send the job a fresh message; its worker is gone
    FAIL = "FAIL"  # claimed (or redriven) as often as SQS would receive it: FAILED, DeadLettered


def attempts_this_run(job: Job) -> int:
    """Claims since the job was last (re)run: ``attempts`` counts on across reruns."""
    earlier = max((run.last_attempt or 0 for run in job.runs), default=0)
    return job.attempts - earlier


def decide_dead_letter(job: Job, now: float, *, max_receive_count: int) -> DeadLetterVerdict:
    """What the dead-letter consumer does with a dead-lettered message of ``job``."""
    if is_terminal(job.status):
        return DeadLetterVerdict.CONSUME
    if not can_fail_dead_lettered(job, now):
        return DeadLetterVerdict.KEEP
    if attempts_this_run(job) < max_receive_count and job.redrives < max_receive_count:
        return DeadLetterVerdict.REDRIVE
    return DeadLetterVerdict.FAIL


def is_finished_by(job: Job, lease_token: str) -> bool:
    """True when ``job`` was finished by the worker holding ``lease_token`` (a finalize retried)."""
    return is_terminal(job.status) and job.lease_token == lease_token


# --- rerun: FAILED -> QUEUED (see cloudqueue.rerun) -------------------------------------

RERUNNABLE = frozenset({JobStatus.FAILED})


def check_rerunnable(job: Job) -> None:
    """Raise JobNotRerunnable unless ``job`` may be rerun (only a FAILED job may)."""
    if job.status not in RERUNNABLE:
        raise JobNotRerunnable(
            f"job {job.job_id} is {job.status.value}; only a FAILED job can be rerun",
            details={"status": job.status.value},
        )


def finished_run(job: Job) -> JobRun:
    """The facts of ``job``'s run that just ended, as kept in ``runs`` when it is rerun."""
    earlier_attempts = max((run.last_attempt or 0 for run in job.runs), default=0)
    earlier_executions = {arn for run in job.runs for arn in run.executions}
    attempted = job.attempts > earlier_attempts
    return JobRun(
        run=len(job.runs) + 1,
        status=job.status,
        error=job.error,
        result=job.result,
        first_attempt=earlier_attempts + 1 if attempted else None,
        last_attempt=job.attempts if attempted else None,
        started_at=job.started_at,
        finished_at=job.finished_at,
        executions=[arn for arn in job.executions if arn not in earlier_executions],
    )
