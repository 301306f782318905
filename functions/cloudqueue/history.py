"""Turn one execution's history events (Express log records) into steps people can read.

Pure: takes the records as CloudWatch Logs holds them and returns plain dicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cloudqueue.models import format_timestamp

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
