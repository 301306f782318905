"""Per-key concurrency: a slot is a lease.

A job type with a concurrency limit N has, per concurrency key, one slot item
``slot#<sha256 of type and key>`` holding up to N entries ``e0`` .. ``e<N-1>``, each
``{jobId, token, expiresAt}``: the job that holds it, its lease token, its lease's expiry.
The claim of such a job reads the slot item, picks an entry that is missing, expired, or the
job's own, and writes the job's claim and that entry in ONE transaction, each write on its
condition (the job still claimable; the entry still free). So at most N jobs of a key hold a
live lease at once, under any load: two claims that pick the same entry cannot both commit.
An expired entry is free, so a dead worker's slot frees when its lease does. Finalize
releases the entry on condition that it still holds the worker's token.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue.adapters.dynamodb.items import condition_failed, expression_values, from_item
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.models import Job, JobStatus, format_timestamp
from cloudqueue.ports import ClaimAttempt

SLOT_PREFIX = "slot#"


def slot_item_key(job_type: str, concurrency_key: str) -> str:
    digest = hashlib.sha256(f"{job_type}\0{concurrency_key}".encode()).hexdigest()
    return SLOT_PREFIX + digest


def free_entry(slots: dict[str, Any], limit: int, job_id: str, epoch: float) -> int | None:
    """The first entry a claim of ``job_id`` may take: missing, expired, or its own."""
    for index in range(limit):
        entry = slots.get(f"e{index}")
        if entry is None or entry["expiresAt"] <= epoch or entry["jobId"] == job_id:
            return index
    return None


class SlotClaims(JobTable):
    """The claim and release of a concurrency slot, beside the job's own writes."""

    def _claim_with_slot(
        self, current: Job, claim_update: dict[str, Any], *, lease_token: str, epoch: float, expires: float
    ) -> ClaimAttempt:
        assert current.concurrency_key is not None and current.concurrency_limit is not None
        key = slot_item_key(current.type, current.concurrency_key)
        found = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": key}}, ConsistentRead=True
        ).get("Item")
        index = free_entry(
            from_item(found) if found else {}, current.concurrency_limit, current.job_id, epoch
        )
        if index is None:
            return ClaimAttempt(claimed=False, job=current, waiting=True)
        claim_update = dict(claim_update)
        claim_update["UpdateExpression"] = claim_update["UpdateExpression"].replace(
            "SET ", "SET slotIndex = :slot, ", 1
        )
        claim_update["ExpressionAttributeValues"] = claim_update[
            "ExpressionAttributeValues"
        ] | expression_values(slot=index)
        entry = f"e{index}"
        slot_update = {
            "TableName": self.table_name,
            "Key": {"jobId": {"S": key}},
            "UpdateExpression": f"SET {entry} = :entry",
            "ConditionExpression": f"attribute_not_exists({entry}) OR {entry}.expiresAt <= :epoch "
            f"OR {entry}.jobId = :job",
            "ExpressionAttributeValues": expression_values(
                entry={"jobId": current.job_id, "token": lease_token, "expiresAt": expires},
                epoch=epoch,
                job=current.job_id,
            ),
        }
        writes: list[dict[str, Any]] = [{"Update": claim_update}, {"Update": slot_update}]
        try:
            self.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            # Either the job changed (another claim took it) or another claim took the entry.
            now_stored = self.get_job(current.job_id, consistent=True)
            still_claimable = now_stored is not None and now_stored.status in (
                JobStatus.QUEUED,
                JobStatus.SCHEDULED,
            )
            return ClaimAttempt(claimed=False, job=now_stored, waiting=still_claimable)
        return ClaimAttempt(claimed=True, job=self.get_job(current.job_id, consistent=True))

    def release_slot(self, job: Job, lease_token: str) -> None:
        """Free the slot entry ``job``'s claim holds, if it still holds ``lease_token``."""
        if job.concurrency_key is None or job.slot_index is None:
            return
        entry = f"e{job.slot_index}"
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": slot_item_key(job.type, job.concurrency_key)}},
                UpdateExpression=f"REMOVE {entry}",
                ConditionExpression=f"{entry}.#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=expression_values(token=lease_token),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise  # taken over after it expired, or released by a retry: nothing to free

    def mark_waiting(self, job_id: str, reason: str, now: datetime) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}},
                UpdateExpression="SET waitingFor = :reason, updatedAt = :now",
                ConditionExpression="#status IN (:queued, :scheduled)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=expression_values(
                    reason=reason,
                    queued=JobStatus.QUEUED.value,
                    scheduled=JobStatus.SCHEDULED.value,
                    now=format_timestamp(now),
                ),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
