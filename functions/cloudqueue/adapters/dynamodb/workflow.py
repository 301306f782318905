"""The workflow's writes (see ``cloudqueue.workflow``): the claim that takes a lease, the
tombstone for a message whose job was never written, the record of an execution that only
looked, and the finalize fenced by the lease token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from cloudqueue import lifecycle
from cloudqueue.adapters.dynamodb.items import condition_failed, expression_values, job_from, to_item
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.errors import LeaseLost
from cloudqueue.models import Job, JobFailure, JobStatus, format_timestamp
from cloudqueue.ports import ClaimAttempt

_TOMBSTONE_DAYS = 1
_MAX_RECORDED_EXECUTIONS = 25


class WorkflowWrites(JobTable):
    """``claim_job``, ``write_tombstone``, ``record_execution`` and ``finish_job`` of
    ``cloudqueue.ports.JobStore``."""

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
                UpdateExpression="SET #status = :in_progress, "
                "attempts = if_not_exists(attempts, :zero) + :one, "
                "leaseToken = :token, leaseExpiresAt = :expires, "
                "leaseMessageId = :message, leaseExecutionId = :execution_id, "
                "startedAt = if_not_exists(startedAt, :now), updatedAt = :now, "
                "executions = list_append(if_not_exists(executions, :empty), :execution) "
                "REMOVE pendingSince, pendingShard",
                # A SCHEDULED job is taken only from its runAt on (sortable UTC text).
                ConditionExpression="attribute_exists(#status) AND (#status = :queued OR "
                "(#status = :scheduled AND runAt <= :now) OR "
                "(#status = :in_progress AND leaseExpiresAt <= :epoch))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=expression_values(
                    in_progress=JobStatus.IN_PROGRESS.value,
                    queued=JobStatus.QUEUED.value,
                    scheduled=JobStatus.SCHEDULED.value,
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
            if not condition_failed(error):
                raise
            return ClaimAttempt(claimed=False, job=job_from(error.response.get("Item")))  # type: ignore[arg-type]
        return ClaimAttempt(claimed=True, job=job_from(response["Attributes"]))

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
            if not condition_failed(error):
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
                ExpressionAttributeValues=expression_values(
                    empty=[], execution=[execution_id], most=_MAX_RECORDED_EXECUTIONS
                ),
            )
        except ClientError as error:
            if not condition_failed(error):
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
                UpdateExpression=f"SET #status = :status, {outcome}, "
                "finishedAt = :now, updatedAt = :now, expiresAt = :expires "
                "REMOVE leaseExpiresAt",
                ConditionExpression="#status = :in_progress AND leaseToken = :token",
                ExpressionAttributeNames={"#status": "status"}
                | ({"#result": "result"} if status is JobStatus.SUCCEEDED else {"#error": "error"}),
                ExpressionAttributeValues=expression_values(
                    status=status.value,
                    in_progress=JobStatus.IN_PROGRESS.value,
                    outcome=outcome_value if outcome_value is not None else {},
                    now=format_timestamp(now),
                    expires=self._expires_at(now),
                    token=lease_token,
                ),
            )
        except ClientError as failure:
            if not condition_failed(failure):
                raise
            current = job_from(failure.response.get("Item"))  # type: ignore[arg-type]
            if current is not None and lifecycle.is_finished_by(current, lease_token):
                return current  # a retry of a write that happened
            state = current.status.value if current else "missing"
            raise LeaseLost(f"job {job_id} is no longer leased to this worker (it is {state})") from None
        job = job_from(response["Attributes"])
        assert job is not None
        return job
