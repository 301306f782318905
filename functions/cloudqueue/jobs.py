"""What the HTTP API does with jobs: submit, read, list, cancel, and show their history."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

import uuid_utils

from cloudqueue import history
from cloudqueue.errors import ApiError, EnqueueFailed, JobNotFoundError
from cloudqueue.models import Job, JobPage, JobStatus, JobView, utc_now
from cloudqueue.ports import ExecutionLog, JobQueue, JobStore

logger = logging.getLogger(__name__)

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class InvalidPageToken(ApiError):
    code = "invalid_next_token"


def new_job_id() -> str:
    """A UUIDv7: unique, and sortable as text by creation time."""
    return str(uuid_utils.uuid7())


def request_hash(job_type: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps({"type": job_type, "payload": payload}, sort_keys=True, separators=(",", ":"))
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
) -> tuple[Job, bool]:
    """Persist a QUEUED job, then enqueue it. Returns the job and whether it is new.

    If the message cannot be sent, the job is deleted again and EnqueueFailed raised, so
    that a client's retry starts clean. If that undo fails too (a crash between the two
    writes), the job stays QUEUED and ``requeue_stranded_jobs`` sends its message later.
    """
    job = Job(
        job_id=new_job_id(),
        type=job_type,
        payload=payload,
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
        idempotency_key=idempotency_key,
        payload_hash=request_hash(job_type, payload),
        expires_at=int((now + timedelta(days=retention_days)).timestamp()),
    )
    stored, created = store.create_job(job)
    if not created:
        return stored, False
    try:
        queue.send_job(job.job_id)
    except Exception as error:
        try:
            store.delete_queued_job(job)
        except Exception:
            # The job stays QUEUED without a message: it is accepted, and the stranded-job
            # sweeper sends its message later. Telling the client "retry" would run it twice.
            logger.exception(
                "could not undo job %s after a failed send; the sweeper will enqueue it", job.job_id
            )
            return job, True
        raise EnqueueFailed("the job could not be queued; nothing was kept, please retry") from error
    return job, True


def get_job(job_id: str, *, store: JobStore) -> Job:
    job = store.get_job(job_id) if JOB_ID_PATTERN.match(job_id) else None
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return job


def encode_page_token(status: JobStatus | None, last_job_id: str) -> str:
    raw = json.dumps({"status": status.value if status else None, "after": last_job_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, status: JobStatus | None) -> str:
    """The job id a page token continues after; it must belong to the same listing."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
        after = decoded["after"]
        same_listing = decoded["status"] == (status.value if status else None)
    # RecursionError: a token of 1,024 characters can hold JSON nested ~760 deep, which
    # json.loads cannot read when the call stack is already deep.
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        raise InvalidPageToken("nextToken is not a token this API gave out") from None
    if not isinstance(after, str) or not JOB_ID_PATTERN.match(after):
        raise InvalidPageToken("nextToken is not a token this API gave out")
    if not same_listing:
        raise InvalidPageToken("nextToken belongs to a listing with another status filter")
    return after


def list_jobs(status: JobStatus | None, limit: int, next_token: str | None, *, store: JobStore) -> JobPage:
    after = decode_page_token(next_token, status) if next_token else None
    jobs, last = store.list_jobs(status, limit, after)
    return JobPage(
        jobs=[JobView.of(job) for job in jobs],
        next_token=encode_page_token(status, last) if last else None,
    )


def cancel_job(job_id: str, *, store: JobStore, now: datetime) -> Job:
    if not JOB_ID_PATTERN.match(job_id):
        raise JobNotFoundError(f"no job {job_id}")
    return store.cancel_job(job_id, now)


def job_history(
    job_id: str, *, store: JobStore, log: ExecutionLog, now: datetime | None = None
) -> dict[str, Any]:
    """Every execution that touched the job, each with its steps and raw events."""
    job = get_job(job_id, store=store)
    executions = history.read_executions(job, log, now or utc_now())
    return {"jobId": job.job_id, "status": job.status.value, "executions": executions}
