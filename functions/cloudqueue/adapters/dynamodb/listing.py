"""Listing jobs newest first: ids from the keys-only ``ByStatus`` index, across its shards, then
the jobs themselves from the table in one BatchGetItem.
"""

from __future__ import annotations

import time
from typing import Any

from cloudqueue.adapters.dynamodb.items import STATUS_INDEX, expression_values, job_from
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.errors import StoreBusy
from cloudqueue.models import Job, JobStatus

_BATCH_GET_ATTEMPTS = 6  # the first and five retries: 1.55 s of backoff at most
_BATCH_GET_BACKOFF_SECONDS = 0.05


class JobListing(JobTable):
    """``list_jobs`` of ``cloudqueue.ports.JobStore``."""

    def list_jobs(
        self, status: JobStatus | None, limit: int, after_job_id: str | None
    ) -> tuple[list[Job], str | None]:
        # The index holds keys only (KEYS_ONLY: a job's writes are not paid twice at its full
        # size), so the page is the newest ids across the shards, then the jobs themselves,
        # read from the table: each in its state now, never an index copy that lags.
        statuses = [status] if status is not None else list(JobStatus)
        ids: set[str] = set()
        more_remain = False
        for each_status in statuses:
            for shard in range(self.shards):
                # One more than a page, so that "more remain" is known, not guessed: DynamoDB
                # gives a LastEvaluatedKey whenever it stops at Limit, even with nothing left.
                found, truncated = self._query_shard(f"{each_status.value}#{shard}", limit + 1, after_job_id)
                ids.update(found)
                # A shard cut short by the 1 MB page size may still hold some.
                more_remain = more_remain or (truncated and len(found) <= limit)
        # A job that changed status between two of these queries shows up under both: one id.
        newest_first = sorted(ids, reverse=True)
        wanted = newest_first[:limit]
        more_remain = more_remain or len(newest_first) > limit
        jobs = self._get_jobs(wanted)
        # A job that left the status asked for since the index was read is not listed under
        # it; the next page still starts after the last id looked at.
        page = [
            job for job_id in wanted if (job := jobs.get(job_id)) is not None and status in (None, job.status)
        ]
        return page, (wanted[-1] if more_remain and wanted else None)

    def _query_shard(
        self, status_shard: str, limit: int, before_job_id: str | None
    ) -> tuple[list[str], bool]:
        condition = "statusShard = :shard"
        values: dict[str, Any] = {"shard": status_shard}
        if before_job_id is not None:
            condition += " AND jobId < :before"
            values["before"] = before_job_id
        response = self.client.query(
            TableName=self.table_name,
            IndexName=STATUS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=expression_values(**values),
            ProjectionExpression="jobId",
            ScanIndexForward=False,
            Limit=limit,
        )
        return [item["jobId"]["S"] for item in response.get("Items", [])], "LastEvaluatedKey" in response

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
