"""No job lost, none stuck, and no backlog multiplied: the recovery design.

Every job that is QUEUED has exactly one of: a message in the job queue, or a
pending-send marker, until the queue's retention runs out on its message (14 days: a long
outage with the Pipe stopped). A backlog younger than that is never sent again; a job
older than that, which can have no message left, is (item 7).

1. **Submit is enqueue-before-write** (``cloudqueue.jobs.submit_job``). The API sends
   ``{"jobId"}`` and only then writes the job, so an accepted job always has a message.
   A failed send writes nothing; a failed write leaves a message naming no job.
2. **A message naming no job** is retried by the state machine (``JobNotYetWritten``)
   while the message is younger than a grace (the API's timeout plus a margin, from its
   ``SentTimestamp``): the write may still be on its way. Past the grace the claim writes a
   short-lived tombstone (so a late write fails and the client gets 503), sends the message
   to the poison-message queue, and the execution succeeds: consumed, no work. A message
   that is not a job message at all is kept there by its first claim too.
3. **The claim records the lease holder**: ``leaseMessageId`` and ``leaseExecutionId``. A
   retried claim from the same execution gets the same claim. A delivery of ANOTHER
   message while the lease is live is SKIPPED: a claiming execution ends SUCCEEDED (its
   message deleted) only after it wrote a terminal state or was superseded by a newer
   claim, so the holder's own message still carries the job. The holder's own message
   back while its lease is live (its execution failed) raises ``JobLeased``.
4. **The dead-letter consumer** (``handle_dead_letter``): a message naming no job, or
   unreadable, is kept for an operator (moved to the poison-message queue, counted, alarmed);
   the claim keeps most such messages first, so these are the ones whose claims kept failing.
   For a job: finished → consume; live lease → keep the message and look again later;
   a cancel marked it → CANCELLED (its worker is gone; its code does not run again);
   otherwise redrive it (a fresh message) while it was claimed and redriven fewer times
   than ``MaxReceiveCount``, else FAILED with ``DeadLettered`` (CANCELLED if a cancel marked
   it meanwhile: the store's write decides, by its condition on the mark).
5. **Pending sends** (``send_pending_jobs``): a writer that makes a job QUEUED before it
   sends (rerun) sets ``pendingSince``/``pendingShard`` in that write and removes them
   after the send; the claim removes them too. The sparse ``PendingSends`` index lists only
   those jobs. The sweeper reads it a bounded number of pages per run, from where the last
   run stopped, and sends the message of each job pending longer than a grace.
6. **The timing order** (checked by the template reader): process timeout < workflow
   ``TimeoutSeconds`` <= lease < visibility timeout, and the state machine's worst case
   (every retry, at its longest backoff) fits in the workflow timeout, so that
   ``RecordFailure`` always runs and a live execution always holds a live lease.
7. **Stranded jobs** (``resend_stranded_jobs``): a job still QUEUED once the queue's
   retention has passed since it was last queued (``queuedAt``) has no message left. The
   sweeper finds such jobs without a scan: each whole day that ended more than the retention
   ago is read once, through the ``Listing`` index (a job is listed under the day it was last
   queued), from a cursor kept in the table. Each QUEUED one gets its message again (the
   submit's), then is recorded as queued now (listed today; found again, a retention later,
   if this message expires too). A crash between the send and the record, or two sweeps at
   once, send a message twice: a duplicate delivery, which the claim skips. The cursor moves
   by a conditional write, so two sweeps never move it past a day neither finished.

Why not a watermark over the time-ordered ids, or an outbox on DynamoDB Streams: a
watermark still has to tell "sent and waiting" from "never sent" for every job below it,
which is the question enqueue-before-write removes; a Streams outbox adds a stream, a
consumer and its failure modes to every submit to fix a rare crash. Enqueue-before-write
costs nothing on the happy path and leaves only one rare case (rerun) to mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from cloudqueue import lifecycle
from cloudqueue.errors import InvalidMessage
from cloudqueue.listing import list_day, queued_moment
from cloudqueue.models import Job, JobFailure, JobStatus
from cloudqueue.ports import JobQueue, JobStore, StrandedSweep
from cloudqueue.workflow import parse_job_message

logger = logging.getLogger(__name__)

DEAD_LETTERED = "DeadLettered"


class DeadLetterAction(StrEnum):
    CONSUMED = "CONSUMED"  # nothing to do: delete the dead letter
    REDRIVEN = "REDRIVEN"  # a fresh message was sent: delete the dead letter
    FAILED = "FAILED"  # the job is FAILED (DeadLettered): delete the dead letter
    CANCELLED = "CANCELLED"  # a cancel marked the job: CANCELLED; delete the dead letter
    KEEP = "KEEP"  # a live lease: leave the message, look again after its visibility timeout
    POISON = "POISON"  # unreadable, or names no job: keep it for an operator


@dataclass(frozen=True)
class DeadLetterOutcome:
    action: DeadLetterAction
    job_id: str | None
    reason: str


def handle_dead_letter(
    body: str,
    *,
    receive_count: int,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    max_receive_count: int,
) -> DeadLetterOutcome:
    """Decide and do what a message SQS moved to the dead-letter queue needs."""
    try:
        job_id = parse_job_message(body).job_id
    except InvalidMessage as unreadable:
        return DeadLetterOutcome(DeadLetterAction.POISON, None, str(unreadable))
    job = store.get_job(job_id)
    if job is None:
        return DeadLetterOutcome(DeadLetterAction.POISON, job_id, "the message names no job")
    verdict = lifecycle.decide_dead_letter(job, now.timestamp(), max_receive_count=max_receive_count)
    if verdict is lifecycle.DeadLetterVerdict.CONSUME:
        return DeadLetterOutcome(DeadLetterAction.CONSUMED, job_id, f"job is already {job.status.value}")
    if verdict is lifecycle.DeadLetterVerdict.KEEP:
        return DeadLetterOutcome(DeadLetterAction.KEEP, job_id, "a live worker holds the job")
    if verdict is lifecycle.DeadLetterVerdict.REDRIVE:
        return _redrive(job, store=store, queue=queue, now=now)
    return _end_dead_lettered(job, receive_count=receive_count, store=store, now=now)


def _redrive(job: Job, *, store: JobStore, queue: JobQueue, now: datetime) -> DeadLetterOutcome:
    """Count the redrive, then send a fresh message (the dead letter is deleted after)."""
    if store.mark_redriven(job.job_id, now) is None:
        return DeadLetterOutcome(DeadLetterAction.KEEP, job.job_id, "the job changed; look again")
    queue.send_job(job.job_id)
    return DeadLetterOutcome(
        DeadLetterAction.REDRIVEN, job.job_id, f"claimed {job.attempts} times; sent again"
    )


def _end_dead_lettered(job: Job, *, receive_count: int, store: JobStore, now: datetime) -> DeadLetterOutcome:
    """FAILED (``DeadLettered``), or CANCELLED when a cancel marked the job (the store decides)."""
    error = JobFailure(
        type=DEAD_LETTERED,
        message=f"the job's message was received {receive_count} times without the workflow "
        f"finishing it, and the job was claimed {job.attempts} times; it was moved to the "
        "dead-letter queue",
    )
    ended = store.fail_abandoned_job(job.job_id, error=error, now=now)
    if ended is None:
        return DeadLetterOutcome(DeadLetterAction.KEEP, job.job_id, "the job changed; look again")
    if ended.status is JobStatus.CANCELLED:
        return DeadLetterOutcome(
            DeadLetterAction.CANCELLED, job.job_id, "a cancel marked the job and its worker is gone"
        )
    return DeadLetterOutcome(DeadLetterAction.FAILED, job.job_id, error.message)


@dataclass
class SweepReport:
    sent: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # no longer QUEUED: marker removed, nothing sent
    waiting: int = 0  # pending for less than the grace: the writer may still send
    pages: int = 0
    finished_pass: bool = False


def send_pending_jobs(
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    grace: timedelta,
    page_size: int,
    max_pages: int,
    time_left: Callable[[], float],
) -> SweepReport:
    """Send the message of every job whose pending send is older than ``grace``.

    Bounded: at most ``max_pages`` pages, and it stops while ``time_left()`` (seconds) is
    still positive. The next run resumes where this one stopped. Send, then remove the
    marker: a crash in between sends a duplicate (harmless), never loses the job.
    """
    report = SweepReport()
    cutoff = int((now - grace).timestamp())
    cursor = store.sweep_cursor()
    while report.pages < max_pages and time_left() > 0:
        page, cursor = store.pending_sends(cursor, page_size)
        report.pages += 1
        for pending in page:
            if pending.status is not JobStatus.QUEUED:
                store.clear_pending_send(pending.job_id, pending.pending_since)
                report.cleared.append(pending.job_id)
            elif pending.pending_since <= cutoff:
                queue.send_job(pending.job_id)
                store.clear_pending_send(pending.job_id, pending.pending_since)
                report.sent.append(pending.job_id)
            else:
                report.waiting += 1
        if cursor is None:
            report.finished_pass = True
            break
    store.save_sweep_cursor(cursor)
    return report


@dataclass
class StrandedReport:
    resent: list[str] = field(default_factory=list)
    examined: int = 0  # jobs read
    days: list[date] = field(default_factory=list)  # days finished by this run
    overtaken: bool = False  # another sweep moved the cursor meanwhile: this one stopped


def resend_stranded_jobs(
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    queue_retention: timedelta,
    window_days: int,
    page_size: int,
    time_left: Callable[[], float],
) -> StrandedReport:
    """Send the message of every job still QUEUED longer than the queue keeps a message (item 7).

    Reads each whole day that ended before ``now - queue_retention`` once, from the saved
    cursor (first run: the oldest day a job can still exist, ``window_days`` ago), a page at a
    time while ``time_left()`` (seconds) is positive, moving the cursor after each page.
    """
    report = StrandedReport()
    cutoff = now - queue_retention
    newest = list_day(cutoff) - timedelta(days=1)  # the newest day wholly before the cutoff
    oldest = list_day(now) - timedelta(days=window_days)
    saved = store.stranded_sweep()
    position = saved if saved is not None and saved.day >= oldest else StrandedSweep(oldest)
    while position.day <= newest and time_left() > 0:
        jobs, after = store.jobs_listed_on(position.day, position.after, page_size)
        report.examined += len(jobs)
        for job in jobs:
            if job.status is JobStatus.QUEUED and queued_moment(job) < cutoff:
                # Send, then record: a crash in between sends it again next run (a duplicate
                # the claim skips), never leaves it without a message.
                queue.send_job(job.job_id)
                store.requeue_stranded(job, now)  # None: claimed or moved meanwhile, sent anyway
                report.resent.append(job.job_id)
        following = (
            StrandedSweep(position.day, after)
            if after is not None
            else StrandedSweep(position.day + timedelta(days=1))
        )
        if not store.save_stranded_sweep(saved, following):
            report.overtaken = True
            break
        if after is None:
            report.days.append(position.day)
        saved = position = following
    return report
