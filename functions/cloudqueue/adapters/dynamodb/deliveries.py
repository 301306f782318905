"""The record of a job's webhook attempts: the last ``MAX_DELIVERIES_KEPT`` and their count.

A list cannot be appended to and trimmed in one update (the two paths overlap), so the record
is read and written back under a condition on the count it read: two writers at once (a
redelivered message) make one of them read again. Attempts are rare (one or a few a job), and
the list is bounded, so the item stays far from 400 KB. The write changes no status: the events
Pipe makes no event of it, and the webhook Pipe's filter takes none.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from cloudqueue.adapters.dynamodb.items import condition_failed, expression_values, from_item
from cloudqueue.adapters.dynamodb.table import JobTable
from cloudqueue.models import MAX_DELIVERIES_KEPT, DeliveryAttempt

_TRIES = 5


class DynamoDeliveryLog(JobTable):
    """``cloudqueue.webhooks.DeliveryLog`` on the jobs table."""

    def record_delivery(self, job_id: str, attempt: DeliveryAttempt) -> None:
        """Add ``attempt`` to the job's deliveries; nothing if the job is gone (retention)."""
        for _ in range(_TRIES):
            item = self.client.get_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}},
                ProjectionExpression="deliveries, deliveryAttempts, jobId",
                ConsistentRead=True,
            ).get("Item")
            if item is None:
                return
            current = from_item(item)
            count = int(current.get("deliveryAttempts", 0))
            kept = [*current.get("deliveries", []), attempt.to_json_dict(exclude_none=True)][
                -MAX_DELIVERIES_KEPT:
            ]
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key={"jobId": {"S": job_id}},
                    UpdateExpression="SET deliveries = :kept, deliveryAttempts = :count",
                    ConditionExpression=(
                        "attribute_exists(jobId) AND "
                        "(deliveryAttempts = :read OR attribute_not_exists(deliveryAttempts))"
                    ),
                    ExpressionAttributeValues=expression_values(kept=kept, count=count + 1, read=count),
                )
                return
            except ClientError as error:
                if not condition_failed(error):
                    raise
        raise RuntimeError(f"the deliveries of {job_id} kept changing; the message is retried")
