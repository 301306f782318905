"""No job lost, none stuck: what happens to jobs whose message died or never got sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cloudqueue import lifecycle
from cloudqueue.errors import InvalidMessage
from cloudqueue.models import JobFailure
from cloudqueue.ports import JobQueue, JobStore
from cloudqueue.workflow import parse_job_message

logger = logging.getLogger(__name__)

DEAD_LETTERED = "DeadLettered"


@dataclass(frozen=True)
class DeadLetterOutcome:
    job_id: str | None
    failed: bool
    reason: str
    retry_later: bool = False


def fail_dead_lettered_job(
    body: str, *, receive_count: int, store: JobStore, now: datetime
) -> DeadLetterOutcome:
    """Mark FAILED the job of a message SQS moved to the dead-letter queue.

    A job that already finished is left alone. A job a live worker still holds is not
    failed under it: the caller should keep the message and look again later.
    """
    try:
        job_id = parse_job_message(body).job_id
    except InvalidMessage as unreadable:
        return DeadLetterOutcome(job_id=None, failed=False, reason=str(unreadable))
    error = JobFailure(
        type=DEAD_LETTERED,
        message=f"the job's message was received {receive_count} times without the workflow "
        "finishing it, and was moved to the dead-letter queue",
    )
    failed = store.fail_abandoned_job(job_id, error=error, now=now)
    if failed is not None:
        return DeadLetterOutcome(job_id=job_id, failed=True, reason=error.message)
    job = store.get_job(job_id)
    if job is None:
        return DeadLetterOutcome(job_id=job_id, failed=False, reason="no such job")
    if lifecycle.is_terminal(job.status):
        return DeadLetterOutcome(job_id=job_id, failed=False, reason=f"job is already {job.status.value}")
    return DeadLetterOutcome(
        job_id=job_id, failed=False, reason="a live worker holds the job", retry_later=True
    )


@dataclass
class RequeueReport:
    requeued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def requeue_stranded_jobs(
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    queued_for: timedelta,
    lease_expired_for: timedelta,
) -> RequeueReport:
    """Send a fresh message for every job that looks stranded.

    - QUEUED and not (re-)enqueued for ``queued_for``: the API may have died between
      writing the job and sending its message.
    - IN_PROGRESS whose lease expired ``lease_expired_for`` ago: its worker died and its
      message is gone (for example, consumed while a live worker held the job).

    A duplicate message is harmless: the claim skips or re-claims as the rules say.
    """
    report = RequeueReport()
    stranded = store.find_stranded_jobs(
        queued_before=now - queued_for, lease_expired_before=now - lease_expired_for
    )
    for job in stranded:
        # The conditional mark makes two sweeps that overlap send one message, not two.
        if store.mark_requeued(job, now):
            queue.send_job(job.job_id)
            report.requeued.append(job.job_id)
        else:
            report.skipped.append(job.job_id)
    return report
