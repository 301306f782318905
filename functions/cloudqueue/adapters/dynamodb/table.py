"""The table every role of the store shares: its client and name, and the keys it builds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cloudqueue.adapters import aws_client
from cloudqueue.adapters.dynamodb.items import IDEMPOTENCY_PREFIX, job_from, to_item
from cloudqueue.listing import DEFAULT_OWNER, list_day, list_key, list_shard, queued_moment, shard_number
from cloudqueue.models import Job, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class JobTable:
    """One DynamoDB jobs table: the base of the store's roles (``DynamoJobStore``)."""

    def __init__(
        self,
        table_name: str,
        *,
        shards: int = 4,
        retention_days: int = 30,
        queue_retention_seconds: int = 1_209_600,
        client: DynamoDBClient | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.table_name = table_name
        self.shards = shards
        self.retention_days = retention_days
        self.retention = timedelta(days=retention_days)
        self.queue_retention = timedelta(seconds=queue_retention_seconds)
        self.client: DynamoDBClient = client or aws_client("dynamodb")
        # What "today" is for a listing; tests hand in a fixed one.
        self.clock = clock

    # --- keys ---------------------------------------------------------------------------

    def list_shard(self, job_id: str, queued_at: datetime) -> str:
        """The ``Listing`` partition of a job queued at ``queued_at``: ``<YYYY-MM-DD>#<n>``."""
        return list_shard(list_day(queued_at), shard_number(job_id, self.shards))

    def pending_shard(self, job_id: str) -> str:
        """The ``PendingSends`` partition of a job: ``PENDING#<n>``, the same n as its list shard."""
        return f"PENDING#{shard_number(job_id, self.shards)}"

    def pending_send_marker(self, job_id: str, now: datetime) -> dict[str, Any]:
        """The attributes (plain values) a writer sets, in the same write that makes the job
        QUEUED, before it sends the job's message; remove them with ``clear_pending_send``
        after the send. ``to_item`` turns them into DynamoDB values."""
        return {"pendingSince": int(now.timestamp()), "pendingShard": self.pending_shard(job_id)}

    @staticmethod
    def idempotency_item_key(idempotency_key: str, owner: str = DEFAULT_OWNER) -> str:
        """The key of the item that records what ``owner``'s Idempotency-Key made: keys are per
        owner, so two owners using the same key make two jobs.

        ``idem#<sha256 of the owner>#<sha256 of the key>``; the anonymous owner's (every caller
        of ``AuthMode=none``) stays ``idem#<sha256 of the key>``, as before owners existed, so
        a key retried across the upgrade still replays. The two forms never meet: one is 64 hex
        characters after the prefix, the other has a ``#`` in it."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        if owner == DEFAULT_OWNER:
            return IDEMPOTENCY_PREFIX + digest
        return f"{IDEMPOTENCY_PREFIX}{hashlib.sha256(owner.encode()).hexdigest()}#{digest}"

    def _job_item(self, job: Job) -> dict[str, Any]:
        values = job.to_json_dict()
        # A job that was never called back stores no record of it (every job would pay its bytes).
        if not values.get("deliveries") and not values.get("deliveryAttempts"):
            values.pop("deliveries", None)
            values.pop("deliveryAttempts", None)
        # Written here, by the submit's put, and moved only when the job is queued again.
        values["listShard"] = self.list_shard(job.job_id, queued_moment(job))
        values["listKey"] = list_key(job.owner, job.job_id)
        return to_item(values)

    def _expires_at(self, now: datetime) -> int:
        return int((now + self.retention).timestamp())

    # --- the reads and writes every role uses ---------------------------------------------

    def _update(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
        return self.client.update_item(  # type: ignore[return-value]
            TableName=self.table_name,
            Key={"jobId": {"S": job_id}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **kwargs,
        )

    def get_job(self, job_id: str, *, consistent: bool = False) -> Job | None:
        """The job of ``job_id``, or None (no such job; an idempotency record is never one)."""
        if job_id.startswith(IDEMPOTENCY_PREFIX):
            return None
        item = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": job_id}}, ConsistentRead=consistent
        ).get("Item")
        return job_from(item)
