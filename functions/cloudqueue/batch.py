"""Batch submit: up to 100 jobs in one request, each with the guarantees of a single submit.

The order per job is the single submit's (``jobs.submit_job``), done for many jobs at once:

1. a replayed Idempotency-Key is answered from the table, before anything is sent;
2. every new job's message is sent, ten to a ``SendMessageBatch`` call (``JobQueue.send_jobs``,
   which retries the entries SQS reports ``Failed``); a delayed item's (``delaySeconds`` or
   ``runAt``) is sent alone, held back by SQS or by a one-time schedule, as a single delayed
   submit's is (``jobs.enqueue``); a job whose message could not be sent is that item's error
   and is never written;
3. every sent job is written by the single submit's own conditional put (``JobStore.create_job``:
   no overwrite, the key record in the same transaction), several at once. A write that fails
   is retried with backoff a bounded number of times; a job still unwritten after that is the
   case of a single submit that died between its send and its write: the item's error, and the
   claim's grace consumes the orphan message (then tombstones the id), so it never runs.

``BatchWriteItem`` is not used for the jobs: it has no condition, so it could overwrite a job
and could not make an Idempotency-Key's record and its job one write. ``TransactWriteItems``
would, but all-or-nothing (one bad item fails the batch) at twice the write units.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudqueue.errors import ApiError, EnqueueFailed
from cloudqueue.jobs import SQS_MAX_DELAY_SECONDS, enqueue, new_job
from cloudqueue.models import Job
from cloudqueue.ports import DelayedSends, JobQueue, JobStore

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 100
# A write is tried this many times; between tries 50 ms, then 100, 200 (0.35 s at most, well
# inside the API function's timeout).
WRITE_ATTEMPTS = 4
WRITE_BACKOFF_SECONDS = 0.05
# Writes at once: enough to write 100 jobs in a few round trips, few enough for one vCPU.
WRITERS = 16


@dataclass(frozen=True)
class BatchItem:
    """One valid item of a batch: a single submit's type, payload and options, and its key."""

    job_type: str
    payload: dict[str, Any]
    idempotency_key: str | None = None
    run_at: datetime | None = None
    # The item's delaySeconds or runAt as sent (what its key is bound to), and its concurrency key.
    timing: dict[str, Any] | None = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    callback_url: str | None = None  # checked as a single submit's (cloudqueue.callbacks)


@dataclass(frozen=True)
class ItemError:
    """Why one item of a batch was not accepted (the other items are not affected)."""

    code: str
    message: str
    details: Any = None

    @classmethod
    def of(cls, error: ApiError) -> ItemError:
        return cls(error.code, error.message, error.details)


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: its job and whether it is new (False: a replay), or its error."""

    job: Job | None = None
    created: bool = False
    error: ItemError | None = None


def submit_batch(
    items: Sequence[BatchItem | ItemError],
    *,
    store: JobStore,
    queue: JobQueue,
    now: datetime,
    retention_days: int,
    owner: str,
    deadline: float | None = None,
    delayed_sends: DelayedSends | None = None,
    sqs_delay_limit_seconds: int = SQS_MAX_DELAY_SECONDS,
) -> list[ItemResult]:
    """Submit each valid item as ``jobs.submit_job`` would; one result per item, in order.

    An ``ItemError`` given in ``items`` (an item that failed validation) is its own result. Two
    items with the same key are one request sent twice: the later one replays the earlier one's
    job (or is a conflict, when the bodies differ), as a retried single submit would.

    ``deadline`` (``time.monotonic()``): past it no item is started (its error asks for a
    retry), so that the batch is answered before the function's timeout; a job sent but not
    written then is an orphan message, as after a crash."""
    results: list[ItemResult | None] = [None] * len(items)
    jobs: dict[int, Job] = {}
    first_with_key: dict[str, int] = {}
    repeats: dict[int, int] = {}
    for index, item in enumerate(items):
        if isinstance(item, ItemError):
            results[index] = ItemResult(error=item)
            continue
        jobs[index] = _new_job(item, owner=owner, now=now, retention_days=retention_days)
        key = item.idempotency_key
        if key is not None and key in first_with_key:
            repeats[index] = first_with_key[key]  # its job is kept for its payload hash only
        elif key is not None:
            first_with_key[key] = index

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        # The keys' lookups, at once: a replay answers its job and sends nothing.
        keyed = [index for index in first_with_key.values()]
        for index, found in zip(
            keyed, pool.map(lambda i: _lookup(jobs[i], store, deadline), keyed), strict=True
        ):
            if found is not None:
                results[index] = found
        to_send = {
            index: job for index, job in jobs.items() if index not in repeats and results[index] is None
        }
        if _past(deadline):
            unsent = {job.job_id for job in to_send.values()}
        else:
            unsent = _send(list(to_send.values()), queue, delayed_sends, now, sqs_delay_limit_seconds)
        to_write = {index: job for index, job in to_send.items() if job.job_id not in unsent}
        for index, job in to_send.items():
            if job.job_id in unsent:
                results[index] = ItemResult(error=_UNSENT)
        written = pool.map(lambda job: _write(job, store, deadline), to_write.values())
        for index, result in zip(to_write, written, strict=True):
            results[index] = result

    for index, first in repeats.items():
        results[index] = _repeat(results[first], jobs[index])
    return [result if result is not None else ItemResult(error=_LOST) for result in results]


_UNSENT = ItemError("enqueue_failed", "the job could not be queued; nothing was kept, please retry")
_LATE = ItemError(
    "enqueue_failed", "the batch ran out of time before this job; nothing was kept, please retry"
)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _lookup(job: Job, store: JobStore, deadline: float | None) -> ItemResult | None:
    """The result of a keyed item whose key was used before (a replay, or a conflict); None for
    a new key."""
    assert job.idempotency_key is not None
    if _past(deadline):
        return ItemResult(error=_LATE)
    try:
        replayed = store.job_for_idempotency_key(job.idempotency_key, job.payload_hash, owner=job.owner)
    except ApiError as error:
        return ItemResult(error=ItemError.of(error))
    return None if replayed is None else ItemResult(job=replayed, created=False)


_LOST = ItemError("internal_error", "this item was not handled; nothing was kept, please retry")


def _new_job(item: BatchItem, *, owner: str, now: datetime, retention_days: int) -> Job:
    return new_job(
        item.job_type,
        item.payload,
        owner=owner,
        now=now,
        retention_days=retention_days,
        idempotency_key=item.idempotency_key,
        run_at=item.run_at,
        timing=item.timing,
        concurrency_key=item.concurrency_key,
        concurrency_limit=item.concurrency_limit,
        callback_url=item.callback_url,
    )


def _send(
    jobs: list[Job],
    queue: JobQueue,
    delayed_sends: DelayedSends | None,
    now: datetime,
    sqs_delay_limit_seconds: int,
) -> set[str]:
    """Send each job's message: the immediate ones ten to a call, each delayed one alone (its
    own delay, or its one-time schedule). The ids whose message could not be sent."""
    immediate = [job.job_id for job in jobs if job.run_at is None]
    unsent = queue.send_jobs(immediate) if immediate else set()
    for job in jobs:
        if job.run_at is None:
            continue
        try:
            enqueue(job, queue, delayed_sends, now=now, sqs_delay_limit_seconds=sqs_delay_limit_seconds)
        except Exception:
            logger.warning("job %s: its delayed message could not be sent", job.job_id, exc_info=True)
            unsent.add(job.job_id)
    return unsent


def _write(job: Job, store: JobStore, deadline: float | None = None) -> ItemResult:
    """The single submit's conditional put of ``job`` (its message is sent), retried with backoff
    when the table fails; the item's error once the attempts (or the time) are spent."""
    failed_before = False
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:
            time.sleep(WRITE_BACKOFF_SECONDS * 2 ** (attempt - 1))
        if _past(deadline):
            break
        try:
            stored, created = store.create_job(job)
            return ItemResult(job=stored, created=created)
        except EnqueueFailed as error:
            # A try whose answer was lost may have written the job: then the id's condition
            # fails on the next try, and the job is there (ids are never reused).
            if failed_before and (existing := store.get_job(job.job_id)) is not None:
                return ItemResult(job=existing, created=True)
            return ItemResult(error=ItemError.of(error))
        except ApiError as error:  # an Idempotency-Key used meanwhile with another body
            return ItemResult(error=ItemError.of(error))
        except Exception:
            failed_before = True
            logger.warning("job %s: write failed (attempt %d)", job.job_id, attempt + 1, exc_info=True)
    logger.error("job %s: sent but not written; its message will be consumed unrun", job.job_id)
    return ItemResult(
        error=ItemError("enqueue_failed", "the job could not be stored; nothing will run, please retry")
    )


def _repeat(first: ItemResult | None, job: Job) -> ItemResult:
    """The result of an item that repeats an earlier item's Idempotency-Key."""
    if first is None or first.job is None:
        return first or ItemResult(error=_LOST)
    if first.job.payload_hash != job.payload_hash:
        return ItemResult(
            error=ItemError(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request body",
                {"jobId": first.job.job_id},
            )
        )
    return ItemResult(job=first.job, created=False)
