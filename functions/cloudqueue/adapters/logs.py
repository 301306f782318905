"""Execution history of the Express state machine, read from its CloudWatch Logs log group.

Express workflows keep no history of their own: with logging at level ALL, each
history event is one JSON log record ``{id, type, details, previous_event_id,
event_timestamp, execution_arn}`` in the state machine's log group.

A read is bounded: by the time window the caller gives (``startTime``/``endTime``: a job's
own times, see ``cloudqueue.history.read_window``), so that its cost does not grow with the
log group's retention, and by a number of pages, so that it fits in the API's timeout.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloudqueue.adapters import aws_client

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

MAX_EVENTS_PER_EXECUTION = 500
MAX_PAGES_PER_READ = 10


class CloudWatchExecutionLog:
    """``cloudqueue.ports.ExecutionLog`` on a CloudWatch Logs log group."""

    def __init__(
        self,
        log_group_name: str,
        *,
        client: CloudWatchLogsClient | None = None,
        max_pages: int = MAX_PAGES_PER_READ,
    ) -> None:
        self.log_group_name = log_group_name
        self.client: CloudWatchLogsClient = client or aws_client("logs")
        self.max_pages = max_pages

    def events_of(
        self, execution_arn: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        # A quoted term, not a JSON filter: it narrows the search on AWS and works on moto,
        # which ignores JSON filter patterns. Each record is still checked below.
        request: dict[str, Any] = {"logGroupName": self.log_group_name, "filterPattern": f'"{execution_arn}"'}
        if since is not None:
            request["startTime"] = _epoch_millis(since)
        if until is not None:
            request["endTime"] = _epoch_millis(until)
        events: list[dict[str, Any]] = []
        try:
            for page_number, page in enumerate(
                self.client.get_paginator("filter_log_events").paginate(**request)
            ):
                for record in page.get("events", []):
                    event = _parse(record.get("message", ""))
                    if event is not None and event.get("execution_arn") == execution_arn:
                        events.append(event)
                if len(events) >= MAX_EVENTS_PER_EXECUTION or page_number + 1 >= self.max_pages:
                    break
        except self.client.exceptions.ResourceNotFoundException:
            return []
        events.sort(key=lambda event: int(event.get("id", 0)))
        return events[:MAX_EVENTS_PER_EXECUTION]


def _epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _parse(message: str) -> dict[str, Any] | None:
    try:
        event = json.loads(message)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
