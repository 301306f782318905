"""Recovery's reads and writes (see ``cloudqueue.recovery``): failing or redriving an abandoned
job, and the sweep of pending sends over the sparse ``PendingSends`` index with its cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue.adapters.dynamodb.items import (
    PENDING_INDEX,
    SWEEP_CURSOR_KEY,
    condition_failed,
    expression_values,
    from_item,
    job_from,
    to_item,
)
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.models import Job, JobFailure, JobStatus, format_timestamp
from cloudqueue.ports import PendingSend


class RecoveryWrites(JobTable):
    """``fail_abandoned_job``, ``mark_redriven``, ``pending_sends``, ``clear_pending_send`` and
    the sweep cursor of ``cloudqueue.ports.JobStore``."""

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        return self._update_if_abandoned(
            job_id,
            now,
            "SET #status = :failed, #error = :error, "
            "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
            "REMOVE leaseToken, leaseExpiresAt, pendingSince, pendingShard",
            names={"#error": "error"},
            failed=JobStatus.FAILED.value,
            error=error.to_json_dict(),
            expires=self._expires_at(now),
        )

    def mark_redriven(self, job_id: str, now: datetime) -> Job | None:
        return self._update_if_abandoned(
            job_id,
            now,
            "SET redrives = if_not_exists(redrives, :zero) + :one, updatedAt = :now",
            zero=0,
            one=1,
        )

    def _update_if_abandoned(
        self, job_id: str, now: datetime, update: str, *, names: dict[str, str] | None = None, **values: Any
    ) -> Job | None:
        """Apply ``update`` if the job is QUEUED (or SCHEDULED) or its lease expired (no live worker
        holds it)."""
        try:
            response = self._update(
                job_id,
                UpdateExpression=update,
                ConditionExpression="#status IN (:queued, :scheduled) OR (#status = :in_progress AND "
                "(attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt <= :epoch))",
                ExpressionAttributeNames={"#status": "status"} | (names or {}),
                ExpressionAttributeValues=expression_values(
                    queued=JobStatus.QUEUED.value,
                    scheduled=JobStatus.SCHEDULED.value,
                    in_progress=JobStatus.IN_PROGRESS.value,
                    epoch=now.timestamp(),
                    now=format_timestamp(now),
                    **values,
                ),
            )
        except ClientError as failure:
            if not condition_failed(failure):
                raise
            return None
        return job_from(response["Attributes"])

    # --- pending sends (the sweeper) ----------------------------------------------------

    def pending_sends(self, cursor: str | None, limit: int) -> tuple[list[PendingSend], str | None]:
        """One page of one shard of ``PendingSends``. The cursor is ``<shard>|<last jobId>``."""
        shard_text, _, after = (cursor or "0|").partition("|")
        shard = int(shard_text) if shard_text.isdigit() and int(shard_text) < self.shards else 0
        pending_shard = f"PENDING#{shard}"
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pendingShard = :shard",
            "ExpressionAttributeValues": expression_values(shard=pending_shard),
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = to_item({"pendingShard": pending_shard, "jobId": after})
        response = self.client.query(**query)
        found = [
            PendingSend(
                job_id=str(values["jobId"]),
                pending_since=int(values["pendingSince"]),
                status=JobStatus(values["status"]),
            )
            for item in response.get("Items", [])
            if "status" in (values := from_item(item)) and "pendingSince" in values
        ]
        last = response.get("LastEvaluatedKey")
        if last is not None:
            return found, f"{shard}|{from_item(last)['jobId']}"
        return found, (f"{shard + 1}|" if shard + 1 < self.shards else None)

    def clear_pending_send(self, job_id: str, pending_since: int) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}},
                UpdateExpression="REMOVE pendingSince, pendingShard",
                ConditionExpression="pendingSince = :seen",
                ExpressionAttributeValues=expression_values(seen=pending_since),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def sweep_cursor(self) -> str | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": SWEEP_CURSOR_KEY}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return str(from_item(item).get("cursor") or "") or None

    def save_sweep_cursor(self, cursor: str | None) -> None:
        self.client.put_item(
            TableName=self.table_name, Item=to_item({"jobId": SWEEP_CURSOR_KEY, "cursor": cursor or ""})
        )
