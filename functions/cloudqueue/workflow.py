"""The state machine's steps that own a job: claim it, then finalize it.

Each is one function called by one thin Lambda handler; the step between them,
``process_job``, is in ``cloudqueue.processing`` (the process function imports only that).
Errors raised here are the error names ``statemachine/jobs.asl.json`` retries and catches
(see ``cloudqueue.errors``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import ValidationError

from cloudqueue import lifecycle
from cloudqueue.errors import InvalidMessage, JobLeased, JobNotYetWritten
from cloudqueue.models import (
    JOB_ID_PATTERN,
    ClaimRequest,
    ClaimResponse,
    FinalizeRequest,
    FinalizeResponse,
    JobFailure,
    JobMessage,
    JobStatus,
    format_timestamp,
)
from cloudqueue.ports import ClaimAttempt, JobQueue, JobStore, PoisonMessages

# The API sends a job's message, then writes the job a few milliseconds later. A Pipe that
# delivers at once can run the claim in between. Rather than fail and wait for the state
# machine's JobNotYetWritten retry (a second at least: Step Functions waits whole seconds),
# the claim of a message this young watches for the write for a moment, then claims again.
FRESH_MESSAGE_SECONDS = 1.0
WRITE_WAIT_SECONDS = 0.3
WRITE_POLL_SECONDS = 0.02

# The longest SQS can hold a message back: an early message due later comes back, and is put
# back again, every this many seconds.
MAX_MESSAGE_DELAY_SECONDS = 900


def parse_job_message(body: str) -> JobMessage:
    try:
        message = JobMessage.model_validate_json(body)
    except ValidationError as error:
        raise InvalidMessage(f"queue message is not a job message: {body[:200]!r}") from error
    if not JOB_ID_PATTERN.match(message.job_id):
        raise InvalidMessage(f"queue message names no CloudQueue job id: {body[:200]!r}")
    return message


def message_age_seconds(request: ClaimRequest, now: datetime) -> float | None:
    sent = request.message.sent_timestamp
    return None if sent is None else now.timestamp() - sent / 1000


def claim_job(
    request: ClaimRequest,
    *,
    store: JobStore,
    poison: PoisonMessages,
    now: datetime,
    lease_seconds: int,
    submit_grace_seconds: float,
    wait: Callable[[float], None] | None = None,
    queue: JobQueue | None = None,
) -> ClaimResponse:
    """Take the job named by the message, or say why this delivery has nothing to do.

    A message that is not a job message, or that still names no job after the submit grace,
    is kept in the poison-message queue and answered POISON: the execution succeeds and the
    message is consumed, at its first delivery. Raises JobNotYetWritten (retried: the API
    sends before it writes) or JobLeased (retried; then SQS redelivers). A retried claim from
    the execution that holds the lease gets the same claim. ``wait`` (``time.sleep`` in the
    function) lets the claim of a fresh message watch for the API's write for up to
    ``WRITE_WAIT_SECONDS`` before it raises JobNotYetWritten.

    A job is never started before its time: a message that says it is early, or that finds its
    job SCHEDULED and not due, is sent again to ``queue`` held back until the job is due, and
    answered DEFERRED (the execution succeeds: no receive is used up, nothing dead-lettered).
    """
    try:
        message = parse_job_message(request.message.body)
    except InvalidMessage as unreadable:
        return keep_poison(request, poison, job_id=None, reason=str(unreadable))
    job_id = message.job_id
    if message.run_at is not None and message.run_at > now:
        # Early by its own word (a duplicate, a resend): put back without reading the table.
        return defer(job_id, message.run_at, queue=queue, now=now)

    def attempt_claim(at: datetime) -> ClaimAttempt:
        return store.claim_job(
            job_id,
            message_id=request.message.message_id,
            execution_id=request.execution_id,
            lease_token=uuid.uuid4().hex,
            now=at,
            lease_seconds=lease_seconds,
        )

    attempt = attempt_claim(now)
    if attempt.job is None and wait is not None:
        waited = _wait_for_write(request, job_id, store=store, now=now, wait=wait)
        if waited is not None:
            now += timedelta(seconds=waited)
            attempt = attempt_claim(now)
    job = attempt.job
    if job is None:
        return _claim_of_missing_job(
            request, job_id, store=store, poison=poison, now=now, grace=submit_grace_seconds
        )
    decision = lifecycle.decide_claim(
        job, now.timestamp(), message_id=request.message.message_id, execution_id=request.execution_id
    )
    if attempt.claimed or decision.verdict is lifecycle.ClaimVerdict.OWNED:
        return ClaimResponse(
            outcome="CLAIMED",
            job_id=job.job_id,
            lease_token=job.lease_token,
            type=job.type,
            payload=job.payload,
            attempt=job.attempts,
        )
    if decision.verdict is lifecycle.ClaimVerdict.SKIP:
        store.record_execution(job_id, request.execution_id)
        return ClaimResponse(outcome="SKIPPED", job_id=job_id, reason=decision.reason)
    if decision.verdict is lifecycle.ClaimVerdict.DEFER and job.run_at is not None:
        # A message that did not say the job is early (a redrive, a sweep's resend): the table does.
        return defer(job_id, job.run_at, queue=queue, now=now)
    # LEASED, or CLAIM when the job changed between the write and its report: try again later.
    raise JobLeased(f"job {job_id} is not claimable now: {decision.reason}")


def defer(job_id: str, run_at: datetime, *, queue: JobQueue | None, now: datetime) -> ClaimResponse:
    """Send the job's message again, held back until ``run_at`` (or SQS's longest delay, after
    which it is put back again), then answer DEFERRED so that this delivery is consumed. The
    send comes first: if it fails, the claim fails and SQS brings this message back."""
    if queue is None:
        raise JobLeased(f"job {job_id} is not due until {format_timestamp(run_at)}")
    delay = min(MAX_MESSAGE_DELAY_SECONDS, max(1, math.ceil((run_at - now).total_seconds())))
    queue.send_job(job_id, run_at=run_at, delay_seconds=delay)
    return ClaimResponse(
        outcome="DEFERRED",
        job_id=job_id,
        reason=f"not due until {format_timestamp(run_at)}; back in {delay} s",
    )


def _wait_for_write(
    request: ClaimRequest, job_id: str, *, store: JobStore, now: datetime, wait: Callable[[float], None]
) -> float | None:
    """Seconds waited until the API's write of a fresh message's job could be read, or None
    (the message is not fresh, or the job was not written within ``WRITE_WAIT_SECONDS``)."""
    age = message_age_seconds(request, now)
    if age is None or age >= FRESH_MESSAGE_SECONDS:
        return None
    waited = 0.0
    while waited < WRITE_WAIT_SECONDS:
        wait(WRITE_POLL_SECONDS)
        waited += WRITE_POLL_SECONDS
        if store.get_job(job_id) is not None:
            return waited
    return None


def _claim_of_missing_job(
    request: ClaimRequest,
    job_id: str,
    *,
    store: JobStore,
    poison: PoisonMessages,
    now: datetime,
    grace: float,
) -> ClaimResponse:
    """The API sends a job's message before it writes the job: wait for the write for a grace
    period, then make sure it never happens (a tombstone) and keep the message as poison."""
    age = message_age_seconds(request, now)
    if age is not None and age < grace:
        raise JobNotYetWritten(f"no job {job_id} yet; its message is {age:.1f} s old")
    if not store.write_tombstone(job_id, now):
        raise JobNotYetWritten(f"job {job_id} was written just now")  # the retry claims it
    return keep_poison(
        request,
        poison,
        job_id=job_id,
        reason=f"no such job: job {job_id} was not written within the submit grace "
        f"({grace:g} s) after its message was sent",
    )


def keep_poison(
    request: ClaimRequest, poison: PoisonMessages, *, job_id: str | None, reason: str
) -> ClaimResponse:
    """Move a message that names no job to the poison-message queue, then answer POISON.

    The send comes first: if it fails, the claim fails and SQS redelivers the message, so it
    is never lost. A claim retried after its send (or a message delivered twice) may keep it
    twice; each copy carries the job queue's message id, by which an operator spots them.
    """
    message = request.message
    poison.keep(
        message.body, message_id=message.message_id, receive_count=message.receive_count, reason=reason
    )
    return ClaimResponse(outcome="POISON", job_id=job_id, reason=reason)


def failure_of(request: FinalizeRequest) -> JobFailure:
    """The job's error from the state machine's Catch output: error name and readable message."""
    if request.failure is None:
        return JobFailure(type="UnknownError", message="the job failed without an error")
    from cloudqueue.history import error_message  # only a failure reads a cause: not at cold start

    message = error_message(request.failure.cause) or request.failure.error
    return JobFailure(type=request.failure.error, message=message[:2000])


def finalize_job(request: FinalizeRequest, *, store: JobStore, now: datetime) -> FinalizeResponse:
    """Write the job's terminal state, fenced by the lease token. Raises LeaseLost."""
    succeeded = request.outcome == "SUCCEEDED"
    job = store.finish_job(
        request.job_id,
        lease_token=request.lease_token,
        status=JobStatus.SUCCEEDED if succeeded else JobStatus.FAILED,
        result=(request.result or {}) if succeeded else None,
        error=None if succeeded else failure_of(request),
        now=now,
    )
    return FinalizeResponse(job_id=job.job_id, status=job.status)
