"""The lines Lambda itself writes to a function's log group, as its ``LoggingConfig`` asks.

With the default ``LogFormat: Text`` Lambda writes ``START``, ``END`` and ``REPORT`` lines
around each invocation (and, for an environment that died, its error). With ``LogFormat:
JSON`` the same events are JSON objects, ``{"time": ..., "type": "platform.start", "record":
{...}}`` and ``platform.report`` (whose ``record.metrics`` holds the durations and memory),
with no END line, and ``SystemLogLevel`` filters them: ``platform.start`` and
``platform.report`` are INFO events, so ``WARN`` writes neither. JSON also sets the runtime's
``AWS_LAMBDA_LOG_FORMAT`` and ``AWS_LAMBDA_LOG_LEVEL`` (the application log level, INFO unless
``ApplicationLogLevel`` says otherwise), and Lambda drops a JSON application line whose
``level`` is below that level; a line without a level counts as INFO.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudqueue_local.template import LoggingSpec

_SYSTEM_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30}
_APPLICATION_LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "WARN": 30,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
    "FATAL": 50,
}
# The level of the platform's per-invocation events (platform.start, platform.report).
_INVOCATION_EVENT_LEVEL = _SYSTEM_LEVELS["INFO"]


@dataclass(frozen=True)
class Report:
    """What a REPORT line says about one invocation."""

    request_id: str
    duration_ms: float
    memory_mb: int
    max_memory_mb: int
    init_duration_ms: float | None = None  # an environment's first invocation only
    status: str | None = None  # None: success; "timeout" or "error" when the platform ended it
    error_type: str | None = None


@dataclass(frozen=True)
class PlatformLog:
    """The platform's lines for one function's ``LoggingConfig``."""

    config: LoggingSpec

    @property
    def json(self) -> bool:
        return self.config.log_format == "JSON"

    @property
    def writes_invocation_events(self) -> bool:
        """Whether START / REPORT (or platform.start / platform.report) are written at all."""
        return not self.json or _SYSTEM_LEVELS[self.config.system_log_level] <= _INVOCATION_EVENT_LEVEL

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for the runtime (awslambdaric reads them)."""
        if not self.json:
            return {}
        return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": self.application_level_name}

    @property
    def application_level_name(self) -> str:
        return (self.config.application_log_level or "INFO").upper()

    def start(self, request_id: str) -> list[str]:
        """The lines before an invocation is handed to the runtime."""
        if not self.writes_invocation_events:
            return []
        if self.json:
            return [_event("platform.start", {"requestId": request_id, "version": "$LATEST"})]
        return [f"START RequestId: {request_id} Version: $LATEST"]

    def report(self, report: Report) -> list[str]:
        """The lines after an invocation ended."""
        if not self.writes_invocation_events:
            return []
        if self.json:
            metrics: dict[str, Any] = {
                "durationMs": round(report.duration_ms, 3),
                "billedDurationMs": math.ceil(report.duration_ms),
                "memorySizeMB": report.memory_mb,
                "maxMemoryUsedMB": report.max_memory_mb,
            }
            if report.init_duration_ms is not None:
                metrics["initDurationMs"] = round(report.init_duration_ms, 3)
            record: dict[str, Any] = {
                "requestId": report.request_id,
                "metrics": metrics,
                "status": report.status or "success",
            }
            if report.error_type is not None:
                record["errorType"] = report.error_type
            return [_event("platform.report", record)]
        parts = [
            f"REPORT RequestId: {report.request_id}",
            f"Duration: {report.duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(report.duration_ms)} ms",
            f"Memory Size: {report.memory_mb} MB",
            f"Max Memory Used: {report.max_memory_mb} MB",
        ]
        if report.init_duration_ms is not None:
            parts.append(f"Init Duration: {report.init_duration_ms:.2f} ms")
        if report.status is not None:
            parts.append(f"Status: {report.status}")
        if report.error_type is not None:
            parts.append(f"Error Type: {report.error_type}")
        return [f"END RequestId: {report.request_id}", "\t".join(parts)]

    def crashed(self, request_id: str, reason: str, error_type: str) -> list[str]:
        """The lines for an environment that died mid-invocation (in JSON, its report says it)."""
        if self.json:
            return []
        return [f"RequestId: {request_id} Error: Runtime exited with error: {reason}", error_type]

    def keeps(self, line: str) -> bool:
        """Whether Lambda sends this application line on (JSON format filters by its level)."""
        if not self.json or not line.startswith("{"):
            return True
        try:
            parsed = json.loads(line)
        except ValueError:
            return True
        level = parsed.get("level") if isinstance(parsed, dict) else None
        value = _APPLICATION_LEVELS.get(str(level).upper(), _APPLICATION_LEVELS["INFO"])
        return value >= _APPLICATION_LEVELS.get(self.application_level_name, _APPLICATION_LEVELS["INFO"])


def is_report(line: str) -> bool:
    """A line that ends an invocation's lines (text or JSON)."""
    return line.startswith("REPORT ") or (line.startswith('{"time":') and '"type":"platform.report"' in line)


def _event(kind: str, record: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    stamp = f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"
    return json.dumps({"time": stamp, "type": kind, "record": record}, separators=(",", ":"))


__all__ = ["PlatformLog", "Report", "is_report"]
