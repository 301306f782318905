"""Submit: a new job's conditional put, and the Idempotency-Key record written with it."""

from __future__ import annotations

from botocore.exceptions import ClientError

from cloudqueue.adapters.dynamodb.items import condition_failed, from_item, to_item
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.errors import EnqueueFailed, IdempotencyConflict
from cloudqueue.listing import DEFAULT_OWNER
from cloudqueue.models import Job


class SubmitWrites(JobTable):
    """``create_job`` and ``job_for_idempotency_key`` of ``cloudqueue.ports.JobStore``."""

    def create_job(self, job: Job) -> tuple[Job, bool]:
        job_item = self._job_item(job)
        put_job = {
            "TableName": self.table_name,
            "Item": job_item,
            "ConditionExpression": "attribute_not_exists(jobId)",
        }
        tombstoned = EnqueueFailed("the job's message was given up on before it was stored; retry")
        if job.idempotency_key is None:
            try:
                self.client.put_item(**put_job)  # type: ignore[arg-type]
            except ClientError as error:
                if not condition_failed(error):
                    raise
                raise tombstoned from None
            return job, True

        key_item = to_item(
            {
                "jobId": self.idempotency_item_key(job.idempotency_key, job.owner),
                "targetJobId": job.job_id,
                "payloadHash": job.payload_hash,
                "expiresAt": job.expires_at,
            }
        )
        put_key = {
            "TableName": self.table_name,
            "Item": key_item,
            "ConditionExpression": "attribute_not_exists(jobId)",
        }
        try:
            self.client.transact_write_items(TransactItems=[{"Put": put_job}, {"Put": put_key}])  # type: ignore[typeddict-item]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise tombstoned from None
            return self._job_for_reused_key(job), False
        return job, True

    def job_for_idempotency_key(
        self, idempotency_key: str, payload_hash: str | None, *, owner: str = DEFAULT_OWNER
    ) -> Job | None:
        found = self.client.get_item(
            TableName=self.table_name,
            Key={"jobId": {"S": self.idempotency_item_key(idempotency_key, owner)}},
            ConsistentRead=True,
        ).get("Item")
        if found is None:
            return None
        record = from_item(found)
        if record.get("payloadHash") != payload_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body",
                details={"jobId": record.get("targetJobId")},
            )
        existing = self.get_job(str(record["targetJobId"]), consistent=True)
        if existing is None:
            raise EnqueueFailed("the job made with this Idempotency-Key is being created; retry")
        return existing

    def _job_for_reused_key(self, job: Job) -> Job:
        assert job.idempotency_key is not None
        existing = self.job_for_idempotency_key(job.idempotency_key, job.payload_hash, owner=job.owner)
        if existing is None:
            raise EnqueueFailed("another request with this Idempotency-Key was just undone; retry")
        return existing
