"""The process function's two touches of a running job's item: read its cancel mark, write its
progress (``cloudqueue.control.RunningJobMarks``). Each is one small request; the progress
write is fenced by the lease token, so a worker that lost its job never writes over it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from cloudqueue.adapters import aws_client
from cloudqueue.adapters.dynamodb.items import condition_failed, expression_values
from cloudqueue.control import MarkReading

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_IN_PROGRESS = "IN_PROGRESS"  # the status, spelled here so that this loads no job record


def _timestamp(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DynamoJobMarks:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.client: DynamoDBClient = client or aws_client("dynamodb")

    def read_marks(self, job_id: str, lease_token: str) -> MarkReading:
        # Eventually consistent (half the read's price): a mark is seen within about a second.
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"jobId": {"S": job_id}},
            ProjectionExpression="#status, leaseToken, cancelRequestedAt",
            ExpressionAttributeNames={"#status": "status"},
        ).get("Item", {})
        leased = (
            item.get("status", {}).get("S") == _IN_PROGRESS
            and item.get("leaseToken", {}).get("S") == lease_token
        )
        return MarkReading(cancel_requested="cancelRequestedAt" in item, leased=leased)

    def write_progress(
        self, job_id: str, lease_token: str, *, fraction: float, message: str | None, at: float
    ) -> bool:
        progress = {"fraction": fraction, "at": _timestamp(at)} | ({"message": message} if message else {})
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}},
                UpdateExpression="SET progress = :progress",
                ConditionExpression="#status = :in_progress AND leaseToken = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=expression_values(
                    progress=progress, in_progress=_IN_PROGRESS, token=lease_token
                ),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            return False
        return True
