"""A local stack's table, queues and log group, read through its AWS endpoint as a user's tools
would: what the stack scenarios and the mixed load check their jobs with."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

if TYPE_CHECKING:
    from cloudqueue_local.devtools.stack import LocalStack

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints or floats, so that results compare and print as JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class AwsView:
    """The table, the queues and the log group of a local stack, seen through its AWS endpoint."""

    def __init__(self, stack: LocalStack) -> None:
        if stack.aws_url is None:
            raise ValueError("the bench needs the local stack's AWS endpoint")
        region, endpoint = stack.region, stack.aws_url
        self.dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
        self.sqs = boto3.client("sqs", region_name=region, endpoint_url=endpoint)
        self.logs = boto3.client("logs", region_name=region, endpoint_url=endpoint)
        self.table = stack.table_name()
        self.queue_url = stack.queue_url("JobQueue")
        self.dlq_url = stack.queue_url("DeadLetterQueue")
        self.log_group = stack.template.log_groups["ExecutionLogGroup"].name
        self.functions_by_arn = {spec.arn: name for name, spec in stack.template.functions.items()}
        self._deserialize = TypeDeserializer().deserialize

    def send_job_message(self, job_id: str) -> None:
        """Send the job queue the message a redelivery of ``job_id`` would carry."""
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"jobId": job_id}))

    def jobs(self, job_ids: list[str], projection: str | None = None) -> dict[str, dict[str, Any]]:
        """The items of ``job_ids`` that exist, by id (BatchGetItem, 100 at a time)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(job_ids), 100):
            request: dict[str, Any] = {
                "Keys": [{"jobId": {"S": job_id}} for job_id in job_ids[start : start + 100]]
            }
            if projection:
                request["ProjectionExpression"] = projection
                request["ExpressionAttributeNames"] = {"#s": "status"}
            pending: dict[str, Any] = {self.table: request}
            while pending:
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, []):
                    job = _plain({key: self._deserialize(value) for key, value in item.items()})
                    found[job["jobId"]] = job
                pending = response.get("UnprocessedKeys") or {}
        return found

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        """The status of each of ``job_ids`` that exists."""
        return {job_id: job["status"] for job_id, job in self.jobs(job_ids, "jobId, #s").items()}

    def unfinished(self, job_ids: list[str]) -> int:
        """How many of ``job_ids`` have not ended (or are missing)."""
        statuses = self.statuses(job_ids)
        return sum(1 for job_id in job_ids if statuses.get(job_id) not in TERMINAL)

    def messages(self, queue_url: str) -> int:
        """Messages in a queue: visible, in flight and delayed."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return sum(
            int(attributes.get(name, 0))
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )

    def history_records(self) -> list[dict[str, Any]]:
        """Every history record in the state machine's log group."""
        records: list[dict[str, Any]] = []
        paginator = self.logs.get_paginator("filter_log_events")
        for page in paginator.paginate(logGroupName=self.log_group):
            for event in page.get("events", []):
                try:
                    record = json.loads(event.get("message", ""))
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records
