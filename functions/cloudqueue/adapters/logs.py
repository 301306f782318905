"""Execution history of the Express state machine, read from its CloudWatch Logs log group.

Express workflows keep no history of their own: with logging at level ALL, each
history event is one JSON log record ``{id, type, details, previous_event_id,
event_timestamp, execution_arn}`` in the state machine's log group.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudqueue.adapters import aws_client

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_MAX_EVENTS_PER_EXECUTION = 500


class CloudWatchExecutionLog:
    """``cloudqueue.ports.ExecutionLog`` on a CloudWatch Logs log group."""

    def __init__(self, log_group_name: str, *, client: CloudWatchLogsClient | None = None) -> None:
        self.log_group_name = log_group_name
        self.client: CloudWatchLogsClient = client or aws_client("logs")

    def events_of(self, execution_arn: str) -> list[dict[str, Any]]:
        # A quoted term, not a JSON filter: it narrows the search on AWS and works on moto,
        # which ignores JSON filter patterns. Each record is still checked below.
        events: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("filter_log_events")
        try:
            pages = paginator.paginate(logGroupName=self.log_group_name, filterPattern=f'"{execution_arn}"')
            for page in pages:
                for record in page.get("events", []):
                    event = _parse(record.get("message", ""))
                    if event is not None and event.get("execution_arn") == execution_arn:
                        events.append(event)
                if len(events) >= _MAX_EVENTS_PER_EXECUTION:
                    break
        except self.client.exceptions.ResourceNotFoundException:
            return []
        events.sort(key=lambda event: int(event.get("id", 0)))
        return events[:_MAX_EVENTS_PER_EXECUTION]


def _parse(message: str) -> dict[str, Any] | None:
    try:
        event = json.loads(message)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
