"""Listing jobs (``cloudqueue.listing``): keys from the keys-only ``Listing`` index, day by day
and shard by shard, merged in listing order; then the jobs themselves from the table in one
BatchGetItem, where their status and owner are checked.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from cloudqueue.adapters.dynamodb.items import LIST_INDEX, expression_values, job_from
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.errors import StoreBusy
from cloudqueue.listing import (
    ListPosition,
    days_to_walk,
    list_shard,
    owner_key,
    page_of_jobs,
    parse_cursor,
    window_days,
)
from cloudqueue.models import Job, JobStatus

_BATCH_GET_ATTEMPTS = 6  # the first and five retries: 1.55 s of backoff at most
_BATCH_GET_BACKOFF_SECONDS = 0.05
# Past every character of a job id, for "the end of this owner's keys".
_AFTER_EVERY_KEY = "~"
# A listing that finds too few jobs in a day reads older days 1, 2, 4 ... at once, up to this
# many, each day's shards in parallel: a walk over the whole window (a small stack, or a rare
# status) takes a dozen rounds of queries, not one after the other for every day and shard.
_DAYS_AT_ONCE = 16
_QUERIES_AT_ONCE = 16


class JobListing(JobTable):
    """``list_jobs`` of ``cloudqueue.ports.JobStore``."""

    def list_jobs(
        self,
        owner: str | None,
        status: JobStatus | None,
        limit: int,
        cursor: str | None,
        *,
        now: datetime | None = None,
    ) -> tuple[list[Job], str | None]:
        # The index holds keys only and its key never moves on a status change, so a job's
        # writes do not write the index; the page reads its jobs from the table, each in its
        # state now, and filters status there.
        start = parse_cursor(cursor, owner) if cursor is not None else None
        prefix = owner_key(owner) + "#" if owner is not None else None
        window = window_days(self.retention_days, int(self.queue_retention.total_seconds()))

        with ThreadPoolExecutor(max_workers=_QUERIES_AT_ONCE) as pool:

            def keys_after(position: ListPosition | None, wanted: int) -> list[ListPosition]:
                days = days_to_walk(self.clock().date(), window, position)
                found: list[ListPosition] = []
                at_once = 1
                while days and len(found) < wanted:
                    chunk, days = days[:at_once], days[at_once:]
                    at_once = min(2 * at_once, _DAYS_AT_ONCE)
                    found += self._days_keys(pool, chunk, prefix, position, wanted - len(found))
                return found[:wanted]

            page, last = page_of_jobs(
                owner=owner,
                status=status,
                now=now,
                limit=limit,
                start=start,
                keys_after=keys_after,
                read_jobs=self._get_jobs,
            )
        return page, (last.cursor() if last is not None else None)

    def _days_keys(
        self,
        pool: ThreadPoolExecutor,
        days: list[date],
        prefix: str | None,
        position: ListPosition | None,
        wanted: int,
    ) -> list[ListPosition]:
        """The first ``wanted`` keys of ``days`` (newest first) in listing order, of keys starting
        with ``prefix`` (None: any) and after ``position``; every shard of every day at once."""
        queries = [(day, shard) for day in days for shard in range(self.shards)]

        def query(day_shard: tuple[date, int]) -> list[str]:
            day, shard = day_shard
            before = position.list_key if position is not None and position.day == day else None
            return self._shard_keys(list_shard(day, shard), prefix, before, wanted)

        by_day: dict[date, set[str]] = defaultdict(set)
        for (day, _), keys in zip(queries, pool.map(query, queries), strict=True):
            by_day[day].update(keys)
        found = [ListPosition(day, key) for day in days for key in sorted(by_day[day], reverse=True)]
        return found[:wanted]

    def _shard_keys(self, shard: str, prefix: str | None, before: str | None, wanted: int) -> list[str]:
        condition = "listShard = :shard"
        values: dict[str, Any] = {"shard": shard}
        if prefix is not None:
            # BETWEEN is inclusive: the key at ``before`` itself is dropped below.
            condition += " AND listKey BETWEEN :low AND :high"
            values |= {"low": prefix, "high": before or prefix + _AFTER_EVERY_KEY}
        elif before is not None:
            condition += " AND listKey < :high"
            values["high"] = before
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": expression_values(**values),
            "ProjectionExpression": "listKey",
            "ScanIndexForward": False,
        }
        keys: list[str] = []
        while True:
            response = self.client.query(**query, Limit=wanted + 1 - len(keys))
            keys += [key for item in response.get("Items", []) if (key := item["listKey"]["S"]) != before]
            last = response.get("LastEvaluatedKey")
            # Stopped by the 1 MB page rather than the limit: read on.
            if len(keys) >= wanted or last is None:
                return keys[:wanted]
            query["ExclusiveStartKey"] = last

    def _get_jobs(self, job_ids: list[str]) -> dict[str, Job]:
        """The jobs of these ids (at most 100) that exist, read in one BatchGetItem and its retries.

        DynamoDB may leave some keys unprocessed (16 MB per answer, or throttling); they are
        asked for again with exponential backoff, a bounded number of times, then
        ``StoreBusy``.
        """
        jobs: dict[str, Job] = {}
        keys: list[Any] = [{"jobId": {"S": job_id}} for job_id in job_ids]
        for attempt in range(_BATCH_GET_ATTEMPTS):
            if not keys:
                return jobs
            if attempt:
                time.sleep(_BATCH_GET_BACKOFF_SECONDS * 2 ** (attempt - 1))
            response = self.client.batch_get_item(RequestItems={self.table_name: {"Keys": keys}})
            for item in response.get("Responses", {}).get(self.table_name, []):
                if (job := job_from(item)) is not None:
                    jobs[job.job_id] = job
            unprocessed = response.get("UnprocessedKeys", {}).get(self.table_name)
            keys = list(unprocessed["Keys"]) if unprocessed else []
        if keys:
            raise StoreBusy(f"the jobs table left {len(keys)} of {len(job_ids)} jobs unread; retry")
        return jobs
