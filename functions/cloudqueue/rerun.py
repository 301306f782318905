"""Rerun a FAILED job: the same jobId goes back to QUEUED and is enqueued again.

A rerun is the one writer that makes a job QUEUED before its message is sent, so it follows
the pending-send protocol: the store's ``rerun_job`` is one conditional write (FAILED →
QUEUED) that also moves the finished run into ``runs`` and sets the pending-send marker
(``pendingSince``, ``pendingShard``); then the message is sent; then the marker is removed.

- send fails → ``undo_rerun`` puts the job back to FAILED (conditional on the marker this
  rerun set) and the client gets 503: nothing changed, retry.
- the undo fails too → the job stays QUEUED with its marker, and the sweeper sends its
  message once the marker is older than its grace. The client gets 202: the rerun happens.
- removing the marker fails → harmless: the claim removes it too, and a message sent twice
  is a duplicate delivery, which the claim skips.

``attempts`` goes on counting across runs, ``executions`` keeps every execution (so the
history shows them all), and each entry of ``runs`` names its own attempts and executions.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from cloudqueue.callers import Caller
from cloudqueue.errors import EnqueueFailed, JobNotFoundError
from cloudqueue.models import JOB_ID_PATTERN, Job
from cloudqueue.ports import JobQueue, JobStore

logger = logging.getLogger(__name__)


def rerun_request_hash(job_id: str) -> str:
    """What an Idempotency-Key used for a rerun is bound to (a submit's key hashes its body)."""
    return hashlib.sha256(f"rerun:{job_id}".encode()).hexdigest()


def rerun_job(
    job_id: str,
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    caller: Caller,
    idempotency_key: str | None = None,
) -> tuple[Job, bool]:
    """Put a FAILED job back to QUEUED and enqueue it. Returns the job and whether this call
    reran it (False: an idempotent replay of an earlier rerun with the same key). Another
    owner's job is a missing one (JobNotFoundError), unless ``caller`` is an admin."""
    if not JOB_ID_PATTERN.match(job_id):
        raise JobNotFoundError(f"no job {job_id}")
    if not caller.admin:
        # The owner never changes: checked before the conditional write, it holds at it.
        found = store.get_job(job_id)
        if found is None or not caller.may_see(found):
            raise JobNotFoundError(f"no job {job_id}")
    # The key is the caller's own (an admin rerunning another's job uses the admin's keys).
    job, created = store.rerun_job(
        job_id,
        now=now,
        idempotency_key=idempotency_key,
        request_hash=rerun_request_hash(job_id),
        owner=caller.owner,
    )
    if not created:
        return job, False
    try:
        queue.send_job(job_id)
    except Exception as error:
        try:
            undone = store.undo_rerun(job, now=now, idempotency_key=idempotency_key, owner=caller.owner)
        except Exception:
            undone = False
        if not undone:
            logger.exception("could not undo the rerun of %s; the sweeper will send its message", job_id)
            return job, True
        raise EnqueueFailed("the job could not be queued; it is FAILED as before, please retry") from error
    try:
        if job.pending_since is not None:
            store.clear_pending_send(job.job_id, job.pending_since)
    except Exception:
        logger.exception("could not clear the pending-send marker of %s (the claim clears it)", job_id)
        return job, True
    return job.model_copy(update={"pending_since": None, "pending_shard": None}), True
