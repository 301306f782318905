"""The history scenario of ``cloudqueue bench``: one job's history read from a large log group.

A log group with 30 days of level-ALL execution logs holds every job's executions. This
scenario fills moto's CloudWatch Logs backend directly (fast: no API calls) with
``executions`` executions spread over 30 days, a few records each, then times reading one
job's execution with the same adapter the API uses: without a time bound (how the history
was read before) and bounded by the job's own times (``cloudqueue.history.read_window``).
The figures are local (moto scans in Python; CloudWatch Logs scans only the window's data),
so the ratio is what to read.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

RETENTION = timedelta(days=30)
EVENT_KINDS = ("ExecutionStarted", "TaskStateEntered", "TaskStateExited", "ExecutionSucceeded")
LOG_GROUP = "/aws/vendedlogs/states/cloudqueue-bench-history"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def execution_arn(number: int) -> str:
    name = f"run-{number:08d}"
    return f"arn:aws:states:{REGION}:{ACCOUNT}:express:cloudqueue-local-jobs:{name}:{name}"


def fill(executions: int, now: datetime) -> dict[int, datetime]:
    """Write ``executions`` executions' records into moto's backend, one stream per day.

    Returns when each execution started, by number.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[ACCOUNT][REGION]
    backend.create_log_group(LOG_GROUP, tags={})
    group = backend.groups[LOG_GROUP]
    spacing = RETENTION / executions
    first = now - RETENTION
    started: dict[int, datetime] = {}
    by_day: dict[str, list[dict[str, Any]]] = {}
    for number in range(executions):
        moment = first + spacing * number
        started[number] = moment
        millis = int(moment.timestamp() * 1000)
        arn = execution_arn(number)
        stream = by_day.setdefault(f"states/{moment:%Y-%m-%d}", [])
        for event_id, kind in enumerate(EVENT_KINDS, start=1):
            record = {
                "id": str(event_id),
                "type": kind,
                "details": {},
                "previous_event_id": str(event_id - 1),
                "event_timestamp": str(millis + event_id),
                "execution_arn": arn,
            }
            stream.append({"timestamp": millis + event_id, "message": json.dumps(record)})
    for name, events in by_day.items():
        backend.create_log_stream(LOG_GROUP, name)
        group.streams[name].put_log_events(events)
    return started


def _median_seconds(read: Any, runs: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(runs):
        begun = time.perf_counter()
        result = read()
        samples.append(time.perf_counter() - begun)
    return statistics.median(samples), result


def measure_history_read(executions: int = 100_000, runs: int = 3) -> dict[str, Any]:
    """Fill a log group, then time one execution's read unbounded and bounded (median of ``runs``)."""
    import boto3
    from moto import mock_aws

    from cloudqueue.adapters.logs import CloudWatchExecutionLog
    from cloudqueue.history import read_window
    from cloudqueue.models import Job, JobStatus

    with mock_aws():
        now = datetime.now(UTC)
        fill_started = time.perf_counter()
        started = fill(executions, now)
        fill_seconds = time.perf_counter() - fill_started
        target = executions // 2
        arn = execution_arn(target)
        job = Job(
            job_id="01900000-0000-4000-8000-000000000001",  # not a UUIDv7: the window is its own times
            type="text.transform",
            payload={"text": "history"},
            status=JobStatus.SUCCEEDED,
            created_at=started[target] - timedelta(milliseconds=200),
            updated_at=started[target] + timedelta(seconds=1),
            finished_at=started[target] + timedelta(seconds=1),
            executions=[arn],
        )
        log = CloudWatchExecutionLog(LOG_GROUP, client=boto3.client("logs", region_name=REGION))
        since, until = read_window(job, now)
        unbounded, everything = _median_seconds(lambda: log.events_of(arn), runs)
        bounded, windowed = _median_seconds(lambda: log.events_of(arn, since=since, until=until), runs)
    if everything != windowed or len(windowed) != len(EVENT_KINDS):
        raise AssertionError("the bounded read did not return the execution's events")
    return {
        "executions": executions,
        "events": executions * len(EVENT_KINDS),
        "fill_seconds": round(fill_seconds, 2),
        "unbounded_ms": round(unbounded * 1000, 1),
        "bounded_ms": round(bounded * 1000, 1),
        "ratio": round(unbounded / bounded, 1),
        "window_seconds": (until - since).total_seconds(),
    }
