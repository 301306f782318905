"""EventBridge Scheduler: the one-time schedules that send a delayed job's message when a delay
is longer than SQS can hold a message back (``cloudqueue.ports.DelayedSends``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cloudqueue.adapters import aws_client
from cloudqueue.adapters.sqs import job_message_body

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def at_expression(when: datetime) -> str:
    """Scheduler's one-time expression in UTC, to the second, rounded up (a schedule that fires
    early sends a message the claim puts back): ``at(2026-12-06T13:00:01)`` for 13:00:00.2."""
    utc = when.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({utc.strftime('%Y-%m-%dT%H:%M:%S')})"


def delayed_send_name(job_id: str) -> str:
    """The one-time schedule of a job: found again by its id to cancel it."""
    return f"job-{job_id}"


class SchedulerDelayedSends:
    """One-time schedules in the stack's schedule group whose target is SQS ``SendMessage`` of
    the job's message to the job queue, through the template's role. Its client is made on
    first use."""

    def __init__(
        self, *, group: str, role_arn: str, queue_arn: str, client: EventBridgeSchedulerClient | None = None
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.queue_arn = queue_arn
        self._client = client

    @property
    def client(self) -> EventBridgeSchedulerClient:
        if self._client is None:
            self._client = aws_client("scheduler")
        return self._client

    def schedule_send(self, job_id: str, run_at: datetime) -> None:
        target: dict[str, Any] = {
            "Arn": self.queue_arn,
            "RoleArn": self.role_arn,
            "Input": job_message_body(job_id, run_at),
        }
        self.client.create_schedule(
            Name=delayed_send_name(job_id),
            GroupName=self.group,
            ScheduleExpression=at_expression(run_at),
            ScheduleExpressionTimezone="UTC",
            # OFF: Scheduler fires within its minute of the time, not a window after it.
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target=target,  # type: ignore[arg-type]
        )

    def cancel_send(self, job_id: str) -> bool:
        try:
            self.client.delete_schedule(Name=delayed_send_name(job_id), GroupName=self.group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True
