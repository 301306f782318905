"""The jobs table in DynamoDB. Every change of status is one conditional write.

Items:
- a job: key ``jobId`` (a ULID, so ids sort by creation time), the ``Job`` fields in
  camelCase, and ``statusShard`` = ``<STATUS>#<n>``, the partition key of the
  ``ByStatus`` index (sort key ``jobId``). Sharding the status keeps one status's writes
  spread over ``shards`` partitions, past one partition's 1,000 writes/s.
- an idempotency record: key ``idem#<sha256 of the key>``, naming the job it made and the
  hash of the request. It has no ``statusShard``, so the index never sees it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cloudqueue import lifecycle
from cloudqueue.adapters import aws_client
from cloudqueue.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    JobNotCancellable,
    JobNotFoundError,
    LeaseLost,
)
from cloudqueue.models import Job, JobFailure, JobStatus, format_timestamp
from cloudqueue.ports import ClaimAttempt
from cloudqueue.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_INDEX = "ByStatus"
_IDEMPOTENCY_PREFIX = "idem#"
_MAX_RECORDED_EXECUTIONS = 25

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values (floats travel as Decimal)."""
    plain = json.loads(json.dumps(values), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in plain.items() if value is not None}


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(inner) for key, inner in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(inner) for inner in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in item.items()}


def _values(**values: Any) -> dict[str, Any]:
    return to_item({f":{name}": value for name, value in values.items()})


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class DynamoJobStore:
    """``cloudqueue.ports.JobStore`` on one DynamoDB table."""

    def __init__(
        self,
        table_name: str,
        *,
        shards: int = 4,
        retention_days: int = 30,
        client: DynamoDBClient | None = None,
    ) -> None:
        self.table_name = table_name
        self.shards = shards
        self.retention = timedelta(days=retention_days)
        self.client: DynamoDBClient = client or aws_client("dynamodb")

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoJobStore:
        """The store a function's settings (its environment) describe."""
        return cls(settings.table_name, shards=settings.status_shards, retention_days=settings.retention_days)

    # --- keys ---------------------------------------------------------------------------

    def status_shard(self, job_id: str, status: JobStatus) -> str:
        shard = (
            int.from_bytes(hashlib.sha1(job_id.encode(), usedforsecurity=False).digest()[:4]) % self.shards
        )
        return f"{status.value}#{shard}"

    @staticmethod
    def idempotency_item_key(idempotency_key: str) -> str:
        return _IDEMPOTENCY_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()

    def _job_item(self, job: Job) -> dict[str, Any]:
        values = job.to_json_dict()
        values["statusShard"] = self.status_shard(job.job_id, job.status)
        return to_item(values)

    def _expires_at(self, now: datetime) -> int:
        return int((now + self.retention).timestamp())

    def _update(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
        return self.client.update_item(  # type: ignore[return-value]
            TableName=self.table_name,
            Key={"jobId": {"S": job_id}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **kwargs,
        )

    @staticmethod
    def _job_from(item: dict[str, Any] | None) -> Job | None:
        if not item or "status" not in item:
            return None
        return Job.model_validate(from_item(item))

    # --- the API's writes ---------------------------------------------------------------

    def create_job(self, job: Job) -> tuple[Job, bool]:
        job_item = self._job_item(job)
        put_job = {
            "TableName": self.table_name,
            "Item": job_item,
            "ConditionExpression": "attribute_not_exists(jobId)",
        }
        if job.idempotency_key is None:
            self.client.put_item(**put_job)  # type: ignore[arg-type]
            return job, True

        key_item = to_item(
            {
                "jobId": self.idempotency_item_key(job.idempotency_key),
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
            return self._job_for_reused_key(job), False
        return job, True

    def _job_for_reused_key(self, job: Job) -> Job:
        assert job.idempotency_key is not None
        found = self.client.get_item(
            TableName=self.table_name,
            Key={"jobId": {"S": self.idempotency_item_key(job.idempotency_key)}},
            ConsistentRead=True,
        ).get("Item")
        if found is None:
            raise EnqueueFailed("another request with this Idempotency-Key was just undone; retry")
        record = from_item(found)
        if record.get("payloadHash") != job.payload_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body",
                details={"jobId": record.get("targetJobId")},
            )
        existing = self.get_job(str(record["targetJobId"]), consistent=True)
        if existing is None:
            raise EnqueueFailed("the job made with this Idempotency-Key is being created; retry")
        return existing

    def delete_queued_job(self, job: Job) -> None:
        deletes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": {"jobId": {"S": job.job_id}},
                    "ConditionExpression": "#status = :queued",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _values(queued=JobStatus.QUEUED.value),
                }
            }
        ]
        if job.idempotency_key is not None:
            deletes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": {"jobId": {"S": self.idempotency_item_key(job.idempotency_key)}},
                        "ConditionExpression": "targetJobId = :job",
                        "ExpressionAttributeValues": _values(job=job.job_id),
                    }
                }
            )
        self.client.transact_write_items(TransactItems=deletes)  # type: ignore[arg-type]

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :cancelled, statusShard = :shard, "
                "finishedAt = :now, updatedAt = :now",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    cancelled=JobStatus.CANCELLED.value,
                    queued=JobStatus.QUEUED.value,
                    shard=self.status_shard(job_id, JobStatus.CANCELLED),
                    now=format_timestamp(now),
                ),
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            current = self._job_from(error.response.get("Item"))  # type: ignore[arg-type]
            if current is None:
                raise JobNotFoundError(f"no job {job_id}") from None
            raise JobNotCancellable(
                f"job {job_id} is {current.status.value}; only a QUEUED job can be cancelled",
                details={"status": current.status.value},
            ) from None
        job = self._job_from(response["Attributes"])
        assert job is not None
        return job

    # --- reads --------------------------------------------------------------------------

    def get_job(self, job_id: str, *, consistent: bool = False) -> Job | None:
        if job_id.startswith(_IDEMPOTENCY_PREFIX):
            return None
        item = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": job_id}}, ConsistentRead=consistent
        ).get("Item")
        return self._job_from(item)

    def list_jobs(
        self, status: JobStatus | None, limit: int, after_job_id: str | None
    ) -> tuple[list[Job], str | None]:
        statuses = [status] if status is not None else list(JobStatus)
        found: list[Job] = []
        more_remain = False
        for each_status in statuses:
            for shard in range(self.shards):
                # One more than a page, so that "more remain" is known, not guessed: DynamoDB
                # gives a LastEvaluatedKey whenever it stops at Limit, even with nothing left.
                page, truncated = self._query_shard(f"{each_status.value}#{shard}", limit + 1, after_job_id)
                found.extend(page)
                # A shard cut short by the 1 MB page size may still hold some.
                more_remain = more_remain or (truncated and len(page) <= limit)
        # A job that changed status between two of these queries shows up under both: keep
        # its newest state.
        newest: dict[str, Job] = {}
        for job in found:
            if job.job_id not in newest or job.updated_at > newest[job.job_id].updated_at:
                newest[job.job_id] = job
        found = sorted(newest.values(), key=lambda job: job.job_id, reverse=True)
        page = found[:limit]
        more_remain = more_remain or len(found) > limit
        return page, (page[-1].job_id if more_remain and page else None)

    def _query_shard(
        self, status_shard: str, limit: int, before_job_id: str | None
    ) -> tuple[list[Job], bool]:
        condition = "statusShard = :shard"
        values: dict[str, Any] = {"shard": status_shard}
        if before_job_id is not None:
            condition += " AND jobId < :before"
            values["before"] = before_job_id
        response = self.client.query(
            TableName=self.table_name,
            IndexName=STATUS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_values(**values),
            ScanIndexForward=False,
            Limit=limit,
        )
        jobs = [job for item in response.get("Items", []) if (job := self._job_from(item)) is not None]
        return jobs, "LastEvaluatedKey" in response

    # --- the workflow's writes ----------------------------------------------------------

    def claim_job(
        self, job_id: str, *, execution_id: str, lease_token: str, now: datetime, lease_seconds: int
    ) -> ClaimAttempt:
        epoch = now.timestamp()
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :in_progress, statusShard = :shard, "
                "attempts = if_not_exists(attempts, :zero) + :one, "
                "leaseToken = :token, leaseExpiresAt = :expires, "
                "startedAt = if_not_exists(startedAt, :now), updatedAt = :now, "
                "executions = list_append(if_not_exists(executions, :empty), :execution)",
                ConditionExpression="attribute_exists(#status) AND (#status = :queued OR "
                "(#status = :in_progress AND leaseExpiresAt <= :epoch))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    in_progress=JobStatus.IN_PROGRESS.value,
                    queued=JobStatus.QUEUED.value,
                    shard=self.status_shard(job_id, JobStatus.IN_PROGRESS),
                    zero=0,
                    one=1,
                    token=lease_token,
                    expires=epoch + lease_seconds,
                    epoch=epoch,
                    now=format_timestamp(now),
                    empty=[],
                    execution=[execution_id],
                ),
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return ClaimAttempt(claimed=False, job=self._job_from(error.response.get("Item")))  # type: ignore[arg-type]
        return ClaimAttempt(claimed=True, job=self._job_from(response["Attributes"]))

    def record_execution(self, job_id: str, execution_id: str) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}},
                UpdateExpression="SET executions = "
                "list_append(if_not_exists(executions, :empty), :execution)",
                ConditionExpression="attribute_exists(#status) AND "
                "(attribute_not_exists(executions) OR size(executions) < :most)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    empty=[], execution=[execution_id], most=_MAX_RECORDED_EXECUTIONS
                ),
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise

    def finish_job(
        self,
        job_id: str,
        *,
        lease_token: str,
        status: JobStatus,
        result: dict[str, Any] | None,
        error: JobFailure | None,
        now: datetime,
    ) -> Job:
        assert lifecycle.can_transition(JobStatus.IN_PROGRESS, status) and lifecycle.is_terminal(status)
        outcome = "#result = :outcome" if status is JobStatus.SUCCEEDED else "#error = :outcome"
        outcome_value = result if status is JobStatus.SUCCEEDED else (error.to_json_dict() if error else None)
        try:
            response = self._update(
                job_id,
                UpdateExpression=f"SET #status = :status, statusShard = :shard, {outcome}, "
                "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
                "REMOVE leaseToken, leaseExpiresAt",
                ConditionExpression="#status = :in_progress AND leaseToken = :token",
                ExpressionAttributeNames={"#status": "status"}
                | ({"#result": "result"} if status is JobStatus.SUCCEEDED else {"#error": "error"}),
                ExpressionAttributeValues=_values(
                    status=status.value,
                    in_progress=JobStatus.IN_PROGRESS.value,
                    shard=self.status_shard(job_id, status),
                    outcome=outcome_value if outcome_value is not None else {},
                    now=format_timestamp(now),
                    expires=self._expires_at(now),
                    token=lease_token,
                ),
            )
        except ClientError as failure:
            if not _condition_failed(failure):
                raise
            current = self._job_from(failure.response.get("Item"))  # type: ignore[arg-type]
            state = current.status.value if current else "missing"
            raise LeaseLost(f"job {job_id} is no longer leased to this worker (it is {state})") from None
        job = self._job_from(response["Attributes"])
        assert job is not None
        return job

    # --- recovery -----------------------------------------------------------------------

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :failed, statusShard = :shard, #error = :error, "
                "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
                "REMOVE leaseToken, leaseExpiresAt",
                ConditionExpression="#status = :queued OR (#status = :in_progress AND "
                "(attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt <= :epoch))",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues=_values(
                    failed=JobStatus.FAILED.value,
                    queued=JobStatus.QUEUED.value,
                    in_progress=JobStatus.IN_PROGRESS.value,
                    shard=self.status_shard(job_id, JobStatus.FAILED),
                    error=error.to_json_dict(),
                    now=format_timestamp(now),
                    expires=self._expires_at(now),
                    epoch=now.timestamp(),
                ),
            )
        except ClientError as failure:
            if not _condition_failed(failure):
                raise
            return None
        return self._job_from(response["Attributes"])

    def find_stranded_jobs(self, *, queued_before: datetime, lease_expired_before: datetime) -> list[Job]:
        stranded: list[Job] = []
        for shard in range(self.shards):
            stranded += self._scan_index(
                f"{JobStatus.QUEUED.value}#{shard}",
                "updatedAt < :cutoff",
                _values(cutoff=format_timestamp(queued_before)),
            )
            stranded += self._scan_index(
                f"{JobStatus.IN_PROGRESS.value}#{shard}",
                "leaseExpiresAt < :cutoff",
                _values(cutoff=lease_expired_before.timestamp()),
            )
        return stranded

    def _scan_index(self, status_shard: str, job_filter: str, values: dict[str, Any]) -> list[Job]:
        paginator = self.client.get_paginator("query")
        jobs: list[Job] = []
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=STATUS_INDEX,
            KeyConditionExpression="statusShard = :shard",
            FilterExpression=job_filter,
            ExpressionAttributeValues=_values(shard=status_shard) | values,
        ):
            jobs += [job for item in page.get("Items", []) if (job := self._job_from(item)) is not None]
        return jobs

    def mark_requeued(self, job: Job, now: datetime) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job.job_id}},
                UpdateExpression="SET updatedAt = :now",
                ConditionExpression="#status = :status AND updatedAt = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    now=format_timestamp(now),
                    status=job.status.value,
                    seen=format_timestamp(job.updated_at),
                ),
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return False
        return True
