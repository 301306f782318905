"""The sweep of stranded jobs (see ``cloudqueue.recovery``, item 7): a day's jobs read through
the ``Listing`` index, the re-send recorded on the job, and the sweep's cursor item.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue.adapters.dynamodb.items import (
    LIST_INDEX,
    STRANDED_CURSOR_KEY,
    condition_failed,
    expression_values,
    from_item,
    job_from,
    to_item,
)
from cloudqueue.adapters.dynamodb.listing import JobListing
from cloudqueue.listing import list_shard, queued_moment
from cloudqueue.models import Job, JobStatus, format_timestamp
from cloudqueue.ports import StrandedSweep

_BATCH_GET_KEYS = 100  # BatchGetItem's most keys a call


class StrandedWrites(JobListing):
    """``stranded_sweep``, ``save_stranded_sweep``, ``jobs_listed_on`` and ``requeue_stranded``
    of ``cloudqueue.ports.JobStore``."""

    def stranded_sweep(self) -> StrandedSweep | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": STRANDED_CURSOR_KEY}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        values = from_item(item)
        return StrandedSweep(date.fromisoformat(str(values["day"])), str(values.get("after") or "") or None)

    def save_stranded_sweep(self, previous: StrandedSweep | None, position: StrandedSweep) -> bool:
        # The cursor item has no listShard: it is never listed.
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": to_item(
                {"jobId": STRANDED_CURSOR_KEY, "day": position.day.isoformat(), "after": position.after or ""}
            ),
        }
        # Conditional on where this sweep found it: of two sweeps at once, one moves it on.
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(jobId)"
        else:
            put["ConditionExpression"] = "#day = :day AND #after = :after"
            put["ExpressionAttributeNames"] = {"#day": "day", "#after": "after"}
            put["ExpressionAttributeValues"] = expression_values(
                day=previous.day.isoformat(), after=previous.after or ""
            )
        try:
            self.client.put_item(**put)
        except ClientError as error:
            if not condition_failed(error):
                raise
            return False
        return True

    def jobs_listed_on(self, day: date, after: str | None, limit: int) -> tuple[list[Job], str | None]:
        """One page of one shard of the day, in ``listKey`` order. ``after`` is
        ``<shard>|<last listKey>``."""
        shard_text, _, last_key = (after or "0|").partition("|")
        shard = int(shard_text) if shard_text.isdigit() and int(shard_text) < self.shards else 0
        partition = list_shard(day, shard)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "listShard = :shard",
            "ExpressionAttributeValues": expression_values(shard=partition),
            "Limit": limit,
        }
        if last_key:
            query["ExclusiveStartKey"] = to_item(
                {"listShard": partition, "listKey": last_key, "jobId": last_key.partition("#")[2]}
            )
        response = self.client.query(**query)
        job_ids = [from_item(item)["jobId"] for item in response.get("Items", [])]
        jobs: dict[str, Job] = {}
        for start in range(0, len(job_ids), _BATCH_GET_KEYS):
            jobs |= self._get_jobs(job_ids[start : start + _BATCH_GET_KEYS])
        found = [job for job_id in job_ids if (job := jobs.get(job_id)) is not None]
        last = response.get("LastEvaluatedKey")
        if last is not None:
            return found, f"{shard}|{from_item(last)['listKey']}"
        return found, (f"{shard + 1}|" if shard + 1 < self.shards else None)

    def requeue_stranded(self, job: Job, now: datetime) -> Job | None:
        try:
            response = self._update(
                job.job_id,
                # Queued today: listed among today's jobs, and found again by this sweep if
                # this message also expires. It lives its retention from now, as a rerun does.
                UpdateExpression="SET queuedAt = :now, listShard = :list, updatedAt = :now, "
                "expiresAt = :expires",
                ConditionExpression="#status = :queued AND listShard = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=expression_values(
                    now=format_timestamp(now),
                    list=self.list_shard(job.job_id, now),
                    expires=self._expires_at(now),
                    queued=JobStatus.QUEUED.value,
                    seen=self.list_shard(job.job_id, queued_moment(job)),
                ),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            return None
        return job_from(response["Attributes"])
