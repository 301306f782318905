"""The API's changes to a stored job: cancel (QUEUED → CANCELLED), and rerun (FAILED →
QUEUED, with its pending-send marker) and the undo of a rerun whose message was not sent.
See ``cloudqueue.rerun`` for the protocol.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue import lifecycle
from cloudqueue.adapters.dynamodb.items import (
    condition_failed,
    expression_values,
    from_item,
    job_from,
    to_item,
)
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.errors import IdempotencyConflict, JobNotCancellable, JobNotFoundError, JobNotRerunnable
from cloudqueue.listing import DEFAULT_OWNER
from cloudqueue.models import Job, JobStatus, format_timestamp


class JobChanges(JobTable):
    """``cancel_job``, ``rerun_job`` and ``undo_rerun`` of ``cloudqueue.ports.JobStore``."""

    def cancel_job(self, job_id: str, now: datetime) -> Job:
        try:
            response = self._update(
                job_id,
                UpdateExpression="SET #status = :cancelled, "
                "finishedAt = :now, updatedAt = :now REMOVE pendingSince, pendingShard",
                ConditionExpression="#status IN (:queued, :scheduled)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=expression_values(
                    cancelled=JobStatus.CANCELLED.value,
                    queued=JobStatus.QUEUED.value,
                    scheduled=JobStatus.SCHEDULED.value,
                    now=format_timestamp(now),
                ),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            current = job_from(error.response.get("Item"))  # type: ignore[arg-type]
            if current is None:
                raise JobNotFoundError(f"no job {job_id}") from None
            raise JobNotCancellable(
                f"job {job_id} is {current.status.value}; only a QUEUED or SCHEDULED job can be cancelled",
                details={"status": current.status.value},
            ) from None
        job = job_from(response["Attributes"])
        assert job is not None
        return job

    # --- rerun -------------------------------------------------------------------------

    def rerun_job(
        self,
        job_id: str,
        *,
        now: datetime,
        idempotency_key: str | None,
        request_hash: str,
        owner: str = DEFAULT_OWNER,
    ) -> tuple[Job, bool]:
        current, replayed = self._rerun_seen(job_id, idempotency_key, request_hash, owner)
        if replayed:
            return current, False
        run = lifecycle.finished_run(current)
        marker = self.pending_send_marker(job_id, now)
        # One conditional write: the job as read (FAILED, same updatedAt) becomes QUEUED, its
        # finished run appended to `runs`, the pending-send marker set, and it is queued today:
        # listed among today's jobs (the index's one rare move), found by the stranded sweep
        # from today if its message ever expires.
        update = {
            "TableName": self.table_name,
            "Key": {"jobId": {"S": job_id}},
            "UpdateExpression": "SET #status = :queued, listShard = :list, queuedAt = :now, "
            "updatedAt = :now, expiresAt = :expires, runs = list_append(if_not_exists(runs, :empty), :run), "
            "pendingSince = :since, pendingShard = :pending "
            "REMOVE #error, #result, startedAt, finishedAt, leaseToken, leaseExpiresAt, "
            "leaseMessageId, leaseExecutionId, redrives",
            "ConditionExpression": "#status = :failed AND updatedAt = :seen",
            "ExpressionAttributeNames": {"#status": "status", "#error": "error", "#result": "result"},
            "ExpressionAttributeValues": expression_values(
                queued=JobStatus.QUEUED.value,
                failed=JobStatus.FAILED.value,
                list=self.list_shard(job_id, now),
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
            writes.append({"Put": self._idempotency_put(idempotency_key, owner, job_id, request_hash, now)})
        try:
            self.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            # Another write came first: a rerun with the same key, or one that changed the job.
            now_stored, replayed = self._rerun_seen(job_id, idempotency_key, request_hash, owner)
            if replayed:
                return now_stored, False
            raise JobNotRerunnable(
                f"job {job_id} changed while it was being rerun; retry", details={"status": "FAILED"}
            ) from None
        job = current.model_copy(
            update={
                "status": JobStatus.QUEUED,
                "updated_at": now,
                "queued_at": now,
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

    def _idempotency_put(
        self, key: str, owner: str, job_id: str, request_hash: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": to_item(
                {
                    "jobId": self.idempotency_item_key(key, owner),
                    "targetJobId": job_id,
                    "payloadHash": request_hash,
                    "expiresAt": self._expires_at(now),
                }
            ),
            "ConditionExpression": "attribute_not_exists(jobId)",
        }

    def _rerun_seen(self, job_id: str, key: str | None, request_hash: str, owner: str) -> tuple[Job, bool]:
        """The job as it is now, and whether an earlier rerun already used ``owner``'s ``key``
        for it (a replay). Raises IdempotencyConflict for a key used by another request, JobNotFoundError,
        and, when it is no replay, JobNotRerunnable for a job that is not FAILED."""
        found = None
        if key is not None:
            found = self.client.get_item(
                TableName=self.table_name,
                Key={"jobId": {"S": self.idempotency_item_key(key, owner)}},
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
            lifecycle.check_rerunnable(job)
        return job, found is not None

    def _marker_condition(self, job: Job) -> dict[str, Any]:
        """Holds while ``job`` is QUEUED with the pending-send marker its rerun set."""
        return {
            "ConditionExpression": "#status = :queued AND pendingSince = :since AND size(runs) = :runs",
            "ExpressionAttributeNames": {"#status": "status"},
            "values": {"queued": JobStatus.QUEUED.value, "since": job.pending_since, "runs": len(job.runs)},
        }

    def undo_rerun(
        self, job: Job, *, now: datetime, idempotency_key: str | None, owner: str = DEFAULT_OWNER
    ) -> bool:
        if not job.runs or job.pending_since is None:
            return False
        run = job.runs[-1]
        condition = self._marker_condition(job)
        restored = {
            "failed": JobStatus.FAILED.value,
            "now": format_timestamp(now),
            "error": run.error.to_json_dict() if run.error else None,
            "result": run.result,
            "started": format_timestamp(run.started_at) if run.started_at else None,
            "finished": format_timestamp(run.finished_at) if run.finished_at else None,
        }
        # The job stays listed under the day of the rerun (and queuedAt says when it was tried):
        # a FAILED job is never swept as stranded, and the undo moves no index key.
        sets = ["#status = :failed", "updatedAt = :now"]
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
                    "ExpressionAttributeValues": expression_values(
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
                        "Key": {"jobId": {"S": self.idempotency_item_key(idempotency_key, owner)}},
                        "ConditionExpression": "targetJobId = :job",
                        "ExpressionAttributeValues": expression_values(job=job.job_id),
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
