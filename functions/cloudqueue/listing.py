"""The job listing, said once for every store: its keys, its order, its cursor and its paging.

A job is listed under the UTC day it was (last) queued and under its owner:

- ``listShard`` = ``<YYYY-MM-DD>#<n>``: that day, and n = a stable hash of the job id modulo
  the shard count, so that one day's submits spread over that many index partitions;
- ``listKey`` = ``<owner key>#<jobId>``: the owner key is the first 16 hex characters of
  sha256(owner), a fixed length, so that a prefix query for one owner never matches another
  owner whose name merely starts the same. Two owners whose keys collide are told apart by
  re-checking ``owner`` on the jobs read.

Both are written once, by the submit, and moved only when the job is queued again (a rerun,
or the sweeper's re-send of a stranded job): claim, finalize, cancel and the dead-letter
consumer never touch them, so the index is written about once a job.

The order is newest day first, and within a day ``listKey`` descending: for one owner that
is newest job first (job ids are UUIDv7, time ordered); across owners (an admin listing) a
day's jobs come grouped by owner key. ``ListPosition`` is a place in that order; the cursor a
store gives out is one, as text.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cloudqueue.errors import InvalidPageToken
from cloudqueue.models import Job, JobStatus

DEFAULT_OWNER = "anonymous"
OWNER_KEY_CHARS = 16
# A page reads its jobs at most this many times (one BatchGetItem each) to fill itself when a
# status or owner filter drops some; then it answers short, with a cursor.
PAGE_READS = 3

_LIST_KEY = re.compile(r"^[0-9a-f]{16}#[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def owner_key(owner: str) -> str:
    """The fixed-length key of an owner in ``listKey``."""
    return hashlib.sha256(owner.encode()).hexdigest()[:OWNER_KEY_CHARS]


def list_key(owner: str, job_id: str) -> str:
    return f"{owner_key(owner)}#{job_id}"


def shard_number(job_id: str, shards: int) -> int:
    """A stable hash of the job id modulo ``shards``."""
    return int.from_bytes(hashlib.sha1(job_id.encode(), usedforsecurity=False).digest()[:4]) % shards


def list_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def list_shard(day: date, shard: int) -> str:
    return f"{day.isoformat()}#{shard}"


def queued_moment(job: Job) -> datetime:
    """When the job was last queued: ``queuedAt``, or its creation for a job written without it."""
    return job.queued_at or job.created_at


def window_days(retention_days: int, queue_retention_seconds: int) -> int:
    """How many days before today a listed job can still exist: a job may wait in the queue up
    to its message's retention, then lives ``retention_days`` after it finished (TTL)."""
    return retention_days + math.ceil(queue_retention_seconds / 86_400) + 1


@dataclass(frozen=True, order=True)
class ListPosition:
    """One job's place in the listing. Newest first is descending order of these."""

    day: date
    list_key: str

    @property
    def job_id(self) -> str:
        return self.list_key.split("#", 1)[1]

    def cursor(self) -> str:
        """This position as a store's cursor (the listing goes on after it)."""
        return f"{self.day.isoformat()}|{self.list_key}"


def position_of(job: Job) -> ListPosition:
    return ListPosition(list_day(queued_moment(job)), list_key(job.owner, job.job_id))


def parse_cursor(cursor: str, owner: str | None) -> ListPosition:
    """The position a store's cursor names. InvalidPageToken for text no listing gave out, or
    a cursor of another owner's listing."""
    day_text, _, key = cursor.partition("|")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise InvalidPageToken("nextToken is not a token this API gave out") from None
    if len(day_text) != 10 or not _LIST_KEY.match(key):
        raise InvalidPageToken("nextToken is not a token this API gave out")
    if owner is not None and not key.startswith(owner_key(owner) + "#"):
        raise InvalidPageToken("nextToken belongs to another owner's listing")
    return ListPosition(day, key)


def days_to_walk(today: date, window: int, start: ListPosition | None) -> list[date]:
    """The days a listing reads, newest first: from the cursor's day (never after today: a
    cursor is not trusted to bound the walk) back to the oldest day a job can still exist."""
    first = min(start.day, today) if start is not None else today
    oldest = today - timedelta(days=window)
    return [first - timedelta(days=n) for n in range((first - oldest).days + 1)]


KeysAfter = Callable[[ListPosition | None, int], list[ListPosition]]
"""Up to n positions after the one given (None: from the start), in listing order."""

ReadJobs = Callable[[list[str]], dict[str, Job]]
"""The jobs of these ids that exist, each as the table holds it now."""


def page_of_jobs(
    *,
    owner: str | None,
    status: JobStatus | None,
    limit: int,
    now: datetime | None = None,
    start: ListPosition | None,
    keys_after: KeysAfter,
    read_jobs: ReadJobs,
) -> tuple[list[Job], ListPosition | None]:
    """One page: up to ``limit`` jobs of ``owner`` (None: every owner) in ``status`` (None: any;
    as read at ``now`` when given: a due SCHEDULED job is QUEUED), after ``start``; and the
    position to go on from when more may remain (None: the end).

    The index knows neither status nor (past its hash) owner, so both are checked on the jobs
    read, each as the table holds it now. A page that the filters thin out reads on, at most
    ``PAGE_READS`` times (``limit`` jobs each); it may then hold fewer than ``limit`` jobs, or
    none, with a position: the client asks again.
    """
    page: list[Job] = []
    position = start
    for _ in range(PAGE_READS):
        # A page's worth of keys, and one more, so that "more remain" is known, not guessed.
        found = keys_after(position, limit + 1)
        taken = found[:limit]
        jobs = read_jobs([each.job_id for each in taken])
        for index, each in enumerate(taken):
            job = jobs.get(each.job_id)
            if (
                job is not None
                # Listed where it is now: a job queued again since the index was read (a
                # rerun) is listed under its new day, once.
                and position_of(job) == each
                and (owner is None or job.owner == owner)
                and status in (None, job.status_at(now) if now is not None else job.status)
            ):
                page.append(job)
                if len(page) == limit:
                    more = index + 1 < len(found)
                    return page, (each if more else None)
        if len(found) <= limit:
            return page, None
        position = taken[-1]
    return page, position
