"""A job's executions, read from their history events (Express log records), as steps people read.

``summarize`` is pure: it takes one execution's records as CloudWatch Logs holds them and
returns plain dicts. ``read_executions`` reads them through the ``ExecutionLog`` port, each
read bounded by the job's own times (``read_window``): a log group keeps every job's
executions for its retention (30 days by default), and an unbounded search for one
execution's records would grow with all of them, past the API's timeout.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudqueue.lifecycle import is_terminal
from cloudqueue.models import Job, format_timestamp
from cloudqueue.ports import ExecutionLog

# Around the job's own times: clock differences between the API, the functions and Step
# Functions' event timestamps, and the last events an execution logs after its final write.
READ_MARGIN = timedelta(seconds=60)


def _job_id_time(job_id: str) -> datetime | None:
    """When a UUIDv7 job id was made (its first 48 bits are Unix milliseconds), else None."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return datetime.fromtimestamp((parsed.int >> 80) / 1000, UTC)


def read_window(job: Job, now: datetime) -> tuple[datetime, datetime]:
    """The time span in which the job's executions logged: from its id's time (the message can
    be sent before the job is written) or its creation, to its end (or now), with a margin."""
    start = min(filter(None, (job.created_at, _job_id_time(job.job_id))))
    end = job.finished_at if is_terminal(job.status) and job.finished_at is not None else now
    return start - READ_MARGIN, end + READ_MARGIN


def read_executions(job: Job, log: ExecutionLog, now: datetime) -> list[dict[str, Any]]:
    """Every recorded execution of the job, summarized, each read within the job's window.

    An execution with no events in it, of a job that ended before now, is a duplicate
    delivery that came after the end (it only saw the job finished): it is read again from
    the end of the window to now (the adapter caps the pages of every read). Once such a
    read finds nothing (the log level keeps no record of those executions), no other is made.
    """
    since, until = read_window(job, now)
    look_later = until < now
    summaries = []
    for execution_arn in job.executions:
        events = log.events_of(execution_arn, since=since, until=until)
        if not events and look_later:
            events = log.events_of(execution_arn, since=until, until=now)
            look_later = bool(events)
        summaries.append(summarize(execution_arn, events))
    return summaries


_STATE_ENTERED = "StateEntered"
_STATE_EXITED = "StateExited"


def _timestamp(event: dict[str, Any]) -> datetime | None:
    raw = event.get("event_timestamp")
    try:
        return datetime.fromtimestamp(int(raw) / 1000, UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment else None


def _millis(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)


def error_message(cause: str | None) -> str:
    """The message inside a Lambda error cause (``{"errorMessage": ...}``), or the cause itself."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else cause


def _failure(details: dict[str, Any]) -> dict[str, str]:
    return {"error": str(details.get("error", "")), "message": error_message(details.get("cause"))}


_EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
_TASK_FAILURES = (
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
)


def _step_status(step: dict[str, Any], execution_status: str) -> str:
    if step["exitedAt"] is not None:
        # Left the state after its last attempt failed: a Catch moved the execution on.
        return "CAUGHT" if step["lastAttemptFailed"] else "SUCCEEDED"
    return "RUNNING" if execution_status == "RUNNING" else "FAILED"


def summarize(execution_arn: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One execution: its status, timings, the steps it went through, and the raw events.

    A step's ``status`` is SUCCEEDED, CAUGHT (its error was caught and the workflow went
    on), FAILED (the execution failed in it) or RUNNING; ``retries`` counts the attempts
    after the first, and ``failures`` lists each failed attempt's error and message.
    """
    steps: list[dict[str, Any]] = []
    status = "RUNNING"
    started = stopped = None
    failure: dict[str, str] | None = None

    for event in events:
        kind = str(event.get("type", ""))
        details = event.get("details") or {}
        moment = _timestamp(event)
        current = steps[-1] if steps else None
        if kind == "ExecutionStarted":
            started = moment
        elif kind in _EXECUTION_ENDS:
            status, stopped = _EXECUTION_ENDS[kind], moment
            if kind != "ExecutionSucceeded":
                failure = _failure(details)
        elif kind.endswith(_STATE_ENTERED):
            steps.append(
                {
                    "name": details.get("name", "?"),
                    "type": kind.removesuffix(_STATE_ENTERED),
                    "enteredAt": moment,
                    "exitedAt": None,
                    "attempts": 0,
                    "failures": [],
                    "lastAttemptFailed": False,
                }
            )
        elif current is None:
            continue
        elif kind.endswith(_STATE_EXITED):
            current["exitedAt"] = moment
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            current["attempts"] += 1
        elif kind in _TASK_FAILURES:
            current["failures"].append(_failure(details) | {"at": _iso(moment)})
            current["lastAttemptFailed"] = True
        elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            current["lastAttemptFailed"] = False

    for step in steps:
        step["status"] = _step_status(step, status)
        step["retries"] = max(step["attempts"] - 1, 0)
        step["durationMs"] = _millis(step["enteredAt"], step["exitedAt"])
        step["enteredAt"] = _iso(step["enteredAt"])
        step["exitedAt"] = _iso(step["exitedAt"])
        del step["lastAttemptFailed"]

    return {
        "executionArn": execution_arn,
        "name": execution_arn.rsplit(":", 1)[-1],
        "status": status,
        "startedAt": _iso(started),
        "stoppedAt": _iso(stopped),
        "durationMs": _millis(started, stopped),
        "error": failure,
        "steps": steps,
        "events": [_event_row(event) for event in events],
    }


def _event_row(event: dict[str, Any]) -> dict[str, Any]:
    kind = str(event.get("type", ""))
    details = event.get("details") or {}
    row: dict[str, Any] = {
        "id": int(event.get("id", 0)),
        "type": kind,
        "timestamp": _iso(_timestamp(event)),
        "state": details.get("name"),
    }
    if kind in _TASK_FAILURES or kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
        row |= _failure(details)
    return row
