"""Which status may follow which, and what a claim should do with a job: pure rules.

The DynamoDB store enforces the same rules with condition expressions; these
functions say them in Python so that they can be read and tested on their own,
and so that a failed conditional write can be explained to its caller.

    QUEUED ──claim──► IN_PROGRESS ──finalize──► SUCCEEDED | FAILED
      │                  │    ▲
      │                  └────┘ re-claim once the lease has expired (its worker died)
      ├──cancel──► CANCELLED
      └──dead-lettered──► FAILED
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloudqueue.models import Job, JobStatus

TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
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


class ClaimVerdict(StrEnum):
    CLAIM = "CLAIM"  # take the job: set IN_PROGRESS with a fresh lease
    SKIP = "SKIP"  # nothing to do: a duplicate delivery of a finished or cancelled job
    LEASED = "LEASED"  # a live worker has it: back off and let SQS redeliver


@dataclass(frozen=True)
class ClaimDecision:
    verdict: ClaimVerdict
    reason: str


def decide_claim(job: Job, now: float) -> ClaimDecision:
    """What a delivery of ``job``'s message should do at time ``now`` (epoch seconds)."""
    if is_terminal(job.status):
        return ClaimDecision(ClaimVerdict.SKIP, f"job is already {job.status.value}")
    if job.status is JobStatus.QUEUED:
        return ClaimDecision(ClaimVerdict.CLAIM, "job is queued")
    if lease_is_live(job, now):
        return ClaimDecision(ClaimVerdict.LEASED, "another worker holds a live lease")
    return ClaimDecision(ClaimVerdict.CLAIM, "the previous worker's lease has expired")


def can_fail_dead_lettered(job: Job, now: float) -> bool:
    """A dead-lettered job may be failed unless it is finished or a live worker still has it."""
    if is_terminal(job.status):
        return False
    return not (job.status is JobStatus.IN_PROGRESS and lease_is_live(job, now))
