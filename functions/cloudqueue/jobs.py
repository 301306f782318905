"""What the HTTP API does with jobs: submit, read, list, cancel, and show their history."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
from datetime import datetime, timedelta
from typing import Any

import uuid_utils

from cloudqueue import history
from cloudqueue.api_models import JobPage, JobView
from cloudqueue.callers import Caller
from cloudqueue.errors import ApiError, EnqueueFailed, InvalidPageToken, JobNotFoundError
from cloudqueue.listing import DEFAULT_OWNER
from cloudqueue.models import JOB_ID_PATTERN, Job, JobStatus, utc_now
from cloudqueue.ports import DelayedSends, ExecutionLog, JobQueue, JobStore

logger = logging.getLogger(__name__)

# The longest delay SQS holds a message back (its DelaySeconds); a later job goes by Scheduler.
SQS_MAX_DELAY_SECONDS = 900

# A nextToken is the store's cursor in an envelope that binds it to its listing: at most this
# long (the API refuses a longer nextToken before it gets here).
_MAX_CURSOR_CHARS = 512


def new_job_id() -> str:
    """A UUIDv7: unique, and sortable as text by creation time."""
    return str(uuid_utils.uuid7())


def request_hash(job_type: str, payload: dict[str, Any], timing: dict[str, Any] | None = None) -> str:
    """What an Idempotency-Key is bound to. A delayed request's hash covers its timing as sent
    (``{"delaySeconds": 60}``: a retry a second later is the same request); an immediate
    one's is the same as before delays existed."""
    request: dict[str, Any] = {"type": job_type, "payload": payload} | (timing or {})
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_job(
    job_type: str,
    payload: dict[str, Any],
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    retention_days: int,
    idempotency_key: str | None = None,
    owner: str = DEFAULT_OWNER,
    callback_url: str | None = None,
    run_at: datetime | None = None,
    delayed_sends: DelayedSends | None = None,
    sqs_delay_limit_seconds: int = SQS_MAX_DELAY_SECONDS,
    schedule: str | None = None,
    timing: dict[str, Any] | None = None,
    concurrency_key: str | None = None,
    concurrency_limit: int | None = None,
) -> tuple[Job, bool]:
    """Enqueue a new job's message, THEN write the job QUEUED. Returns the job and whether it is new.

    A job with ``run_at`` is written SCHEDULED. Its message is held back by SQS when it is due
    within ``sqs_delay_limit_seconds``; otherwise ``delayed_sends`` makes a one-time schedule
    that sends it when due (made before the write, as a send is). Either way the message
    carries ``run_at``, and the claim never starts the job earlier. ``timing`` is the request's
    ``delaySeconds`` or ``runAt`` as sent, which its Idempotency-Key is bound to.

    An accepted job therefore always has a message. If the send fails, nothing is written;
    if the write fails after the send, the message names a job that does not exist, which
    the claim consumes after a grace period (a tombstone keeps a late write out). Either way
    EnqueueFailed (503) tells the client to retry. A replayed Idempotency-Key is answered from
    the table before anything is sent.
    """
    job = new_job(
        job_type,
        payload,
        owner=owner,
        now=now,
        retention_days=retention_days,
        idempotency_key=idempotency_key,
        run_at=run_at,
        schedule=schedule,
        timing=timing,
        concurrency_key=concurrency_key,
        concurrency_limit=concurrency_limit,
        callback_url=callback_url,
    )
    if idempotency_key is not None:
        replayed = store.job_for_idempotency_key(idempotency_key, job.payload_hash, owner=owner)
        if replayed is not None:
            return replayed, False
    try:
        enqueue(job, queue, delayed_sends, now=now, sqs_delay_limit_seconds=sqs_delay_limit_seconds)
    except Exception as error:
        raise EnqueueFailed("the job could not be queued; nothing was kept, please retry") from error
    try:
        return store.create_job(job)
    except ApiError:
        raise
    except Exception as error:
        logger.exception("job %s: sent but not written; its message will be consumed unrun", job.job_id)
        raise EnqueueFailed("the job could not be stored; nothing will run, please retry") from error


def new_job(
    job_type: str,
    payload: dict[str, Any],
    *,
    owner: str,
    now: datetime,
    retention_days: int,
    idempotency_key: str | None = None,
    run_at: datetime | None = None,
    schedule: str | None = None,
    timing: dict[str, Any] | None = None,
    concurrency_key: str | None = None,
    concurrency_limit: int | None = None,
    callback_url: str | None = None,
) -> Job:
    """The job a submit (single, batched or a schedule's firing) makes: QUEUED, or SCHEDULED
    with ``run_at``; not yet sent nor written."""
    # A delayed job is kept its retention after it is due, not after it was submitted.
    kept_from = max(now, run_at) if run_at is not None else now
    return Job(
        job_id=new_job_id(),
        type=job_type,
        payload=payload,
        status=JobStatus.SCHEDULED if run_at is not None else JobStatus.QUEUED,
        owner=owner,
        created_at=now,
        updated_at=now,
        queued_at=now,
        run_at=run_at,
        schedule=schedule,
        idempotency_key=idempotency_key,
        callback_url=callback_url,
        payload_hash=request_hash(job_type, payload, timing),
        concurrency_key=concurrency_key,
        # Only a key with a limit takes a slot: the claim reads the limit from the job.
        concurrency_limit=concurrency_limit if concurrency_key is not None else None,
        expires_at=int((kept_from + timedelta(days=retention_days)).timestamp()),
    )


def enqueue(
    job: Job,
    queue: JobQueue,
    delayed_sends: DelayedSends | None,
    *,
    now: datetime,
    sqs_delay_limit_seconds: int,
) -> None:
    """Send the job's message now, held back by SQS, or by a one-time schedule when due later."""
    if job.run_at is None:
        queue.send_job(job.job_id)
        return
    # Rounded up to whole seconds, less the millisecond runAt was rounded up by (else a delay of
    # 2 s would wait 3): the message is sent after ``now``, so it shows no earlier than runAt,
    # and a claim would put back one that did.
    delay = max(0, math.ceil((job.run_at - now).total_seconds() - 0.001))
    if delay <= sqs_delay_limit_seconds or delayed_sends is None:
        if delay > SQS_MAX_DELAY_SECONDS:
            raise ValueError(f"a delay of {delay} s needs a delayed-send schedule")
        queue.send_job(job.job_id, run_at=job.run_at, delay_seconds=delay)
    else:
        delayed_sends.schedule_send(job.job_id, job.run_at)


def get_job(job_id: str, *, store: JobStore, caller: Caller) -> Job:
    """The job ``caller`` may see; JobNotFoundError for a missing job and for another owner's,
    with the same message, so that the answer never tells that a job exists."""
    job = store.get_job(job_id) if JOB_ID_PATTERN.match(job_id) else None
    if job is None or not caller.may_see(job):
        raise JobNotFoundError(f"no job {job_id}")
    return job


def encode_page_token(status: JobStatus | None, cursor: str) -> str:
    raw = json.dumps({"status": status.value if status else None, "after": cursor})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, status: JobStatus | None) -> str:
    """The store's cursor a page token holds; it must belong to the same listing (the store
    checks the cursor itself, and that it is the same owner's)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
        after = decoded["after"]
        same_listing = decoded["status"] == (status.value if status else None)
    # RecursionError: a token of 1,024 characters can hold JSON nested ~760 deep, which
    # json.loads cannot read when the call stack is already deep.
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        raise InvalidPageToken("nextToken is not a token this API gave out") from None
    if not isinstance(after, str) or not after or len(after) > _MAX_CURSOR_CHARS:
        raise InvalidPageToken("nextToken is not a token this API gave out")
    if not same_listing:
        raise InvalidPageToken("nextToken belongs to a listing with another status filter")
    return after


def list_jobs(
    status: JobStatus | None,
    limit: int,
    next_token: str | None,
    *,
    store: JobStore,
    owner: str | None = DEFAULT_OWNER,
    now: datetime | None = None,
) -> JobPage:
    """One page of ``owner``'s jobs (None: every owner's), newest first; see ``cloudqueue.listing``.
    With ``now``, each job's status, and the status filter, is as read at ``now`` (a due
    SCHEDULED job is QUEUED: ``Job.status_at``)."""
    cursor = decode_page_token(next_token, status) if next_token else None
    jobs, after = store.list_jobs(owner, status, limit, cursor, now=now)
    return JobPage(
        jobs=[JobView.of(job, now) for job in jobs],
        next_token=encode_page_token(status, after) if after else None,
    )


def cancel_job(
    job_id: str,
    *,
    store: JobStore,
    now: datetime,
    caller: Caller,
    delayed_sends: DelayedSends | None = None,
) -> Job:
    """QUEUED or SCHEDULED → CANCELLED, for a job ``caller`` may see (another owner's is a
    missing job); then a SCHEDULED job's one-time schedule is deleted. The write comes first:
    a schedule that fires meanwhile, or whose delete fails, sends a message the claim skips."""
    if not caller.admin:
        # A job's owner never changes, so a check before the conditional write holds at it.
        get_job(job_id, store=store, caller=caller)
    elif not JOB_ID_PATTERN.match(job_id):
        raise JobNotFoundError(f"no job {job_id}")
    job = store.cancel_job(job_id, now)
    if job.run_at is not None and delayed_sends is not None:
        try:
            delayed_sends.cancel_send(job_id)
        except Exception:
            logger.exception("job %s: cancelled, but its schedule could not be deleted", job_id)
    return job


def job_history(
    job_id: str, *, store: JobStore, log: ExecutionLog, caller: Caller, now: datetime | None = None
) -> dict[str, Any]:
    """Every execution that touched the job, each with its steps and raw events."""
    job = get_job(job_id, store=store, caller=caller)
    executions = history.read_executions(job, log, now or utc_now())
    return {"jobId": job.job_id, "status": job.status.value, "executions": executions}
