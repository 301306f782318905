"""CloudWatch Logs for the functions: what each prints lands where Lambda puts it.

Lambda sends a function's output, and its own ``START`` / ``END`` / ``REPORT`` lines, to the
log group ``/aws/lambda/<FunctionName>``, one log stream per execution environment, named
``YYYY/MM/DD/[$LATEST]<32 hex digits>``. Here each environment hands its lines, in the order
Lambda would write them (``environment.py``), to ``FunctionLogs``, which keeps them in a
small buffer. A thread of its own writes the buffer to moto's CloudWatch Logs backend,
in-process, one ``PutLogEvents`` per stream and batch: an invocation never waits for moto.
The batch goes out when a ``REPORT`` line (or a JSON ``platform.report``) arrives (an
invocation ended), or every ``flush_seconds`` at the latest.

A group the template declares (``AWS::Logs::LogGroup``, with its retention) is created by
the provisioner; one it does not declare is created on first use without retention, as
Lambda creates it. Read them on the local AWS endpoint like on AWS (``aws logs
filter-log-events``, ``cloudqueue logs``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudqueue_local.emulator.awslambda.platform_logs import is_report

logger = logging.getLogger("cloudqueue.local")

# What one PutLogEvents call takes at most on AWS.
MAX_BATCH_EVENTS = 10_000
# Buffered events past which the writer is woken before its next round.
_WAKE_AT = 1_000


def log_group_name(function_name: str) -> str:
    """The log group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


def new_stream_name(now: datetime | None = None) -> str:
    """A log stream name as Lambda gives each new execution environment."""
    return f"{(now or datetime.now(UTC)):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


@dataclass(frozen=True)
class LogStream:
    """Where one execution environment's lines go."""

    group: str
    name: str

    @classmethod
    def for_function(cls, function_name: str) -> LogStream:
        """A new environment's stream in the function's group."""
        return cls(log_group_name(function_name), new_stream_name())


class FunctionLogs:
    """A buffer of log lines, written to moto's CloudWatch Logs in batches by one thread."""

    def __init__(self, *, account: str, region: str, flush_seconds: float = 0.5) -> None:
        self.account = account
        self.region = region
        self.flush_seconds = flush_seconds
        self._buffer: dict[LogStream, list[dict[str, Any]]] = defaultdict(list)
        self._buffered = 0
        self._last_timestamp: dict[LogStream, int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._known: set[LogStream] = set()  # streams created in moto
        self._write_lock = threading.Lock()  # one writer at a time: the thread, or a flush()

    # --- taking lines (any thread; never blocks on moto) --------------------------------

    def put(self, stream: LogStream, message: str, timestamp_ms: int | None = None) -> None:
        """Add one line to ``stream``; it reaches CloudWatch Logs with the next batch."""
        with self._lock:  # the time taken under the lock: a later batch never holds an earlier line
            now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
            # PutLogEvents wants each batch in time order: a clock stepping back must not break it.
            now = max(now, self._last_timestamp.get(stream, 0))
            self._last_timestamp[stream] = now
            self._buffer[stream].append({"timestamp": now, "message": message})
            self._buffered += 1
            wake = self._buffered >= _WAKE_AT or is_report(message)
        if wake:
            self._wake.set()

    def forget(self, stream: LogStream) -> None:
        """An environment ended: its stream gets no more lines (what is buffered still goes)."""
        with self._lock:
            self._last_timestamp.pop(stream, None)

    # --- writing (the writer thread) ----------------------------------------------------

    def start(self) -> None:
        """Start the writer (moto's backends must be live until ``close``)."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="function-logs", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is buffered and stop the writer."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            self.flush()
        except Exception:  # stopping the stack goes on
            logger.exception("function logs: could not write the last lines to CloudWatch Logs")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a failed batch must not end the writer, nor the stack
                logger.exception("function logs: could not write a batch to CloudWatch Logs")

    def flush(self) -> None:
        """Write every buffered line now."""
        with self._lock:
            batches, self._buffer = self._buffer, defaultdict(list)
            self._buffered = 0
        if not batches:
            return
        from moto.logs.models import logs_backends

        backend = logs_backends[self.account][self.region]
        with self._write_lock:
            for stream, events in batches.items():
                if stream not in self._known:
                    backend.ensure_log_group(stream.group)
                    backend.ensure_log_stream(stream.group, stream.name)
                    self._known.add(stream)
                for start in range(0, len(events), MAX_BATCH_EVENTS):
                    batch = events[start : start + MAX_BATCH_EVENTS]
                    backend.put_log_events(stream.group, stream.name, batch)


__all__ = ["FunctionLogs", "LogStream", "log_group_name", "new_stream_name"]
