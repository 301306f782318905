"""The jobs table in DynamoDB. Every change of status is one conditional write.

Items:
- a job: key ``jobId`` (a ULID, so ids sort by creation time), the ``Job`` fields in
  camelCase, and ``statusShard`` = ``<STATUS>#<n>``, the partition key of the
  ``ByStatus`` index (sort key ``jobId``; keys only, so a listing reads its jobs from the
  table). Sharding the status keeps one status's writes spread over ``shards`` partitions,
  past one partition's 1,000 writes/s.
- an idempotency record: key ``idem#<sha256 of the key>``, naming the job it made and the
  hash of the request. It has no ``statusShard``, so the index never sees it.
- a tombstone: key ``jobId`` with no ``status``, written by a claim for a message whose job
  was never written (the API sends before it writes), so that a late write fails. Short-lived
  (TTL); never a job.
- the sweeper's cursor: key ``sweep#pending``, where the last sweep of pending sends stopped.

A job that a writer made QUEUED before sending its message carries ``pendingSince`` and
``pendingShard`` = ``PENDING#<n>``: the sparse ``PendingSends`` index (hash ``pendingShard``,
range ``jobId``) lists exactly those jobs, and nothing else, for the sweeper.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cloudqueue import lifecycle, rerun
from cloudqueue.adapters import aws_client
from cloudqueue.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    JobNotCancellable,
    JobNotFoundError,
    JobNotRerunnable,
    LeaseLost,
    StoreBusy,
)
from cloudqueue.models import Job, JobFailure, JobStatus, format_timestamp
from cloudqueue.ports import ClaimAttempt, PendingSend
from cloudqueue.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_INDEX = "ByStatus"
PENDING_INDEX = "PendingSends"
_IDEMPOTENCY_PREFIX = "idem#"
_SWEEP_CURSOR_KEY = "sweep#pending"
_TOMBSTONE_DAYS = 1
_MAX_RECORDED_EXECUTIONS = 25
_BATCH_GET_ATTEMPTS = 6  # the first and five retries: 1.55 s of backoff at most
_BATCH_GET_BACKOFF_SECONDS = 0.05

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

    def pending_shard(self, job_id: str) -> str:
        return "PENDING#" + self.status_shard(job_id, JobStatus.QUEUED).split("#", 1)[1]

    def pending_send_marker(self, job_id: str, now: datetime) -> dict[str, Any]:
        """The attributes (plain values) a writer sets, in the same write that makes the job
        QUEUED, before it sends the job's message; remove them with ``clear_pending_send``
        after the send. ``to_item`` turns them into DynamoDB values."""
        return {"pendingSince": int(now.timestamp()), "pendingShard": self.pending_shard(job_id)}

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
        tombstoned = EnqueueFailed("the job's message was given up on before it was stored; retry")
        if job.idempotency_key is None:
            try:
                self.client.put_item(**put_job)  # type: ignore[arg-type]
            except ClientError as error:
                if not _condition_failed(error):
                    raise
                raise tombstoned from None
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
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise tombstoned from None
            return self._job_for_reused_key(job), False
        return job, True

    def job_for_idempotency_key(self, idempotency_key: str, payload_hash: str | None) -> Job | None:
        found = self.client.get_item(
            TableName=self.table_name,
            Key={"jobId": {"S": self.idempotency_item_key(idempotency_key)}},
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
        existing = self.job_for_idempotency_key(job.idempotency_key, job.payload_hash)
        if existing is None:
            raise EnqueueFailed("another request with this Idempotency-Key was just undone; retry")
        return existing

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :cancelled, statusShard = :shard, "
                "finishedAt = :now, updatedAt = :now REMOVE pendingSince, pendingShard",
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

    # --- rerun (see cloudqueue.rerun) ------------------------------------------------------

    def rerun_job(
        self, job_id: str, *, now: datetime, idempotency_key: str | None, request_hash: str
    ) -> tuple[Job, bool]:
        current, replayed = self._rerun_seen(job_id, idempotency_key, request_hash)
        if replayed:
            return current, False
        run = rerun.finished_run(current)
        marker = self.pending_send_marker(job_id, now)
        # One conditional write: the job as read (FAILED, same updatedAt) becomes QUEUED, its
        # finished run appended to `runs`, the pending-send marker set.
        update = {
            "TableName": self.table_name,
            "Key": {"jobId": {"S": job_id}},
            "UpdateExpression": "SET #status = :queued, statusShard = :shard, updatedAt = :now, "
            "expiresAt = :expires, runs = list_append(if_not_exists(runs, :empty), :run), "
            "pendingSince = :since, pendingShard = :pending "
            "REMOVE #error, #result, startedAt, finishedAt, leaseToken, leaseExpiresAt, "
            "leaseMessageId, leaseExecutionId, redrives",
            "ConditionExpression": "#status = :failed AND updatedAt = :seen",
            "ExpressionAttributeNames": {"#status": "status", "#error": "error", "#result": "result"},
            "ExpressionAttributeValues": _values(
                queued=JobStatus.QUEUED.value,
                failed=JobStatus.FAILED.value,
                shard=self.status_shard(job_id, JobStatus.QUEUED),
                now=format_timestamp(now),
                seen=format_timestamp(current.updated_at),
                expires=self._expires_at(now),
                empty=[],
                run=[run.to_json_dict(exclude_none=True)],
                since=marker["pendingSince"],
                pending=marker["pendingShard"],
            ),
        }
        writes: list[dict[str, Any]] = [{"Update": update}]
        if idempotency_key is not None:
            writes.append({"Put": self._idempotency_put(idempotency_key, job_id, request_hash, now)})
        try:
            self.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            # Another write came first: a rerun with the same key, or one that changed the job.
            now_stored, replayed = self._rerun_seen(job_id, idempotency_key, request_hash)
            if replayed:
                return now_stored, False
            raise JobNotRerunnable(
                f"job {job_id} changed while it was being rerun; retry", details={"status": "FAILED"}
            ) from None
        job = current.model_copy(
            update={
                "status": JobStatus.QUEUED,
                "updated_at": now,
                "expires_at": self._expires_at(now),
                "runs": [*current.runs, run],
                "error": None,
                "result": None,
                "started_at": None,
                "finished_at": None,
                "lease_token": None,
                "lease_expires_at": None,
                "lease_message_id": None,
                "lease_execution_id": None,
                "pending_since": marker["pendingSince"],
                "pending_shard": marker["pendingShard"],
                "redrives": 0,
            }
        )
        return job, True

    def _idempotency_put(self, key: str, job_id: str, request_hash: str, now: datetime) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": to_item(
                {
                    "jobId": self.idempotency_item_key(key),
                    "targetJobId": job_id,
                    "payloadHash": request_hash,
                    "expiresAt": self._expires_at(now),
                }
            ),
            "ConditionExpression": "attribute_not_exists(jobId)",
        }

    def _rerun_seen(self, job_id: str, key: str | None, request_hash: str) -> tuple[Job, bool]:
        """The job as it is now, and whether an earlier rerun already used ``key`` for it (a
        replay). Raises IdempotencyConflict for a key used by another request, JobNotFoundError,
        and, when it is no replay, JobNotRerunnable for a job that is not FAILED."""
        found = None
        if key is not None:
            found = self.client.get_item(
                TableName=self.table_name,
                Key={"jobId": {"S": self.idempotency_item_key(key)}},
                ConsistentRead=True,
            ).get("Item")
        if found is not None and from_item(found).get("payloadHash") != request_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request",
                details={"jobId": from_item(found).get("targetJobId")},
            )
        job = self.get_job(job_id, consistent=True)
        if job is None:
            raise JobNotFoundError(f"no job {job_id}")
        if found is None:
            rerun.check_rerunnable(job)
        return job, found is not None

    def _marker_condition(self, job: Job) -> dict[str, Any]:
        """Holds while ``job`` is QUEUED with the pending-send marker its rerun set."""
        return {
            "ConditionExpression": "#status = :queued AND pendingSince = :since AND size(runs) = :runs",
            "ExpressionAttributeNames": {"#status": "status"},
            "values": {"queued": JobStatus.QUEUED.value, "since": job.pending_since, "runs": len(job.runs)},
        }

    def undo_rerun(self, job: Job, *, now: datetime, idempotency_key: str | None) -> bool:
        if not job.runs or job.pending_since is None:
            return False
        run = job.runs[-1]
        condition = self._marker_condition(job)
        restored = {
            "failed": JobStatus.FAILED.value,
            "shard": self.status_shard(job.job_id, JobStatus.FAILED),
            "now": format_timestamp(now),
            "error": run.error.to_json_dict() if run.error else None,
            "result": run.result,
            "started": format_timestamp(run.started_at) if run.started_at else None,
            "finished": format_timestamp(run.finished_at) if run.finished_at else None,
        }
        sets = ["#status = :failed", "statusShard = :shard", "updatedAt = :now"]
        sets += [
            f"{name} = :{value}"
            for name, value in (
                ("#error", "error"),
                ("#result", "result"),
                ("startedAt", "started"),
                ("finishedAt", "finished"),
            )
            if restored[value] is not None
        ]
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": {"jobId": {"S": job.job_id}},
                    "UpdateExpression": f"SET {', '.join(sets)} "
                    f"REMOVE runs[{len(job.runs) - 1}], pendingSince, pendingShard",
                    "ConditionExpression": condition["ConditionExpression"],
                    "ExpressionAttributeNames": condition["ExpressionAttributeNames"]
                    | {name: name[1:] for name in ("#error", "#result") if name in " ".join(sets)},
                    "ExpressionAttributeValues": _values(
                        **condition["values"], **{k: v for k, v in restored.items() if v is not None}
                    ),
                }
            }
        ]
        if idempotency_key is not None:  # the key's record goes too: a retry with it reruns
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": {"jobId": {"S": self.idempotency_item_key(idempotency_key)}},
                        "ConditionExpression": "targetJobId = :job",
                        "ExpressionAttributeValues": _values(job=job.job_id),
                    }
                }
            )
        try:
            self.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return False
        return True

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
            ExpressionAttributeValues=_values(**values),
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
                if (job := self._job_from(item)) is not None:
                    jobs[job.job_id] = job
            unprocessed = response.get("UnprocessedKeys", {}).get(self.table_name)
            keys = list(unprocessed["Keys"]) if unprocessed else []
        if keys:
            raise StoreBusy(f"the jobs table left {len(keys)} of {len(job_ids)} jobs unread; retry")
        return jobs

    # --- the workflow's writes ----------------------------------------------------------

    def claim_job(
        self,
        job_id: str,
        *,
        message_id: str,
        execution_id: str,
        lease_token: str,
        now: datetime,
        lease_seconds: int,
    ) -> ClaimAttempt:
        epoch = now.timestamp()
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :in_progress, statusShard = :shard, "
                "attempts = if_not_exists(attempts, :zero) + :one, "
                "leaseToken = :token, leaseExpiresAt = :expires, "
                "leaseMessageId = :message, leaseExecutionId = :execution_id, "
                "startedAt = if_not_exists(startedAt, :now), updatedAt = :now, "
                "executions = list_append(if_not_exists(executions, :empty), :execution) "
                "REMOVE pendingSince, pendingShard",
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
                    message=message_id,
                    execution_id=execution_id,
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

    def write_tombstone(self, job_id: str, now: datetime) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(
                    {
                        "jobId": job_id,
                        "tombstonedAt": format_timestamp(now),
                        "expiresAt": int((now + timedelta(days=_TOMBSTONE_DAYS)).timestamp()),
                    }
                ),
                ConditionExpression="attribute_not_exists(#status)",
                ExpressionAttributeNames={"#status": "status"},
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return False
        return True

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
                # The token stays on the finished job: a retried finalize recognises its own write.
                UpdateExpression=f"SET #status = :status, statusShard = :shard, {outcome}, "
                "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
                "REMOVE leaseExpiresAt",
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
            if current is not None and lifecycle.is_finished_by(current, lease_token):
                return current  # a retry of a write that happened
            state = current.status.value if current else "missing"
            raise LeaseLost(f"job {job_id} is no longer leased to this worker (it is {state})") from None
        job = self._job_from(response["Attributes"])
        assert job is not None
        return job

    # --- recovery -----------------------------------------------------------------------

    def fail_abandoned_job(self, job_id: str, *, error: JobFailure, now: datetime) -> Job | None:
        return self._update_if_abandoned(
            job_id,
            now,
            "SET #status = :failed, statusShard = :shard, #error = :error, "
            "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
            "REMOVE leaseToken, leaseExpiresAt, pendingSince, pendingShard",
            names={"#error": "error"},
            failed=JobStatus.FAILED.value,
            shard=self.status_shard(job_id, JobStatus.FAILED),
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
        """Apply ``update`` if the job is QUEUED or its lease expired (no live worker holds it)."""
        try:
            response = self._update(
                job_id,
                UpdateExpression=update,
                ConditionExpression="#status = :queued OR (#status = :in_progress AND "
                "(attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt <= :epoch))",
                ExpressionAttributeNames={"#status": "status"} | (names or {}),
                ExpressionAttributeValues=_values(
                    queued=JobStatus.QUEUED.value,
                    in_progress=JobStatus.IN_PROGRESS.value,
                    epoch=now.timestamp(),
                    now=format_timestamp(now),
                    **values,
                ),
            )
        except ClientError as failure:
            if not _condition_failed(failure):
                raise
            return None
        return self._job_from(response["Attributes"])

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
            "ExpressionAttributeValues": _values(shard=pending_shard),
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
                ExpressionAttributeValues=_values(seen=pending_since),
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise

    def sweep_cursor(self) -> str | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"jobId": {"S": _SWEEP_CURSOR_KEY}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return str(from_item(item).get("cursor") or "") or None

    def save_sweep_cursor(self, cursor: str | None) -> None:
        self.client.put_item(
            TableName=self.table_name, Item=to_item({"jobId": _SWEEP_CURSOR_KEY, "cursor": cursor or ""})
        )
