"""The ``cloudqueue dev`` console: one line per job event.

::

    12:00:01 0193abcd-...-3c1f text.transform    QUEUED
    12:00:01 0193abcd-...-3c1f text.transform    QUEUED → IN_PROGRESS
    12:00:02 0193abcd-...-3c1f text.transform    IN_PROGRESS → SUCCEEDED 0.4s

The events are read where they cost nothing: the answers of the functions that change a job's
status, as the local Lambda runtime hands them back (``LambdaRuntime.observers``), in the
thread that invoked them. Each answer is a write that took effect, and each is seen once:

- ApiFunction ``POST /jobs`` answered 202: QUEUED (an idempotent replay answers 200: none);
  ``POST /jobs/{id}/rerun`` answered 202: FAILED → QUEUED; ``DELETE /jobs/{id}`` answered
  200: QUEUED → CANCELLED.
- ClaimFunction ``CLAIMED``: QUEUED → IN_PROGRESS (a later attempt, after an expired lease or
  a rerun: → IN_PROGRESS (attempt N)); ``SKIPPED``: a delivery with nothing to do, and why.
- FinalizeFunction: → SUCCEEDED (with the time since the claim) or → FAILED with the error.

A task retried by the state machine after a lost answer (a timeout) is seen once, with the
answer that came back. Lines come in the order the answers come back, which is the order of
the writes but for one race: a rerun that the Pipe claims before the API's answer is back
shows its claim line just before its rerun line (a submit practically never: the API sends
before it writes, and a claim that finds no job yet retries a second later). A job the
dead-letter function fails is not shown here (its status is in ``cloudqueue status``). The
full ids are printed: UUIDv7's first digits are a timestamp, the same for every job of a
minute.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cloudqueue_local.emulator.awslambda.invocation import Invocation

API = "ApiFunction"
CLAIM = "ClaimFunction"
FINALIZE = "FinalizeFunction"

# Claimed jobs remembered for their type and duration; a job whose worker died is forgotten
# once this many newer ones were claimed.
_REMEMBERED = 10_000
_MESSAGE_CHARS = 160


class JobEvents:
    """Turns the functions' answers into job-event lines, handed to ``emit``."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self._lock = threading.Lock()
        self._claimed: OrderedDict[str, tuple[float, str]] = OrderedDict()  # job → (claimed at, type)

    def observe(self, logical_id: str, payload: bytes, invocation: Invocation) -> None:
        """A ``LambdaRuntime`` observer."""
        if invocation.function_error is not None or logical_id not in (API, CLAIM, FINALIZE):
            return
        try:
            event, answer = json.loads(payload), invocation.json()
        except ValueError:
            return
        if not isinstance(event, dict) or not isinstance(answer, dict):
            return
        if logical_id == API:
            self._api(event, answer)
        elif logical_id == CLAIM:
            self._claim(answer)
        else:
            self._finalize(event, answer)

    def _line(self, job_id: str, job_type: str, text: str) -> None:
        self.emit(f"{datetime.now():%H:%M:%S} {job_id} {job_type:<16} {text}")

    def _api(self, event: dict[str, Any], answer: dict[str, Any]) -> None:
        route, status = str(event.get("routeKey", "")), answer.get("statusCode")
        changes: dict[tuple[str, Any], str] = {
            ("POST /jobs", 202): "QUEUED",
            ("POST /jobs/{jobId}/rerun", 202): "FAILED → QUEUED (rerun)",
            ("DELETE /jobs/{jobId}", 200): "QUEUED → CANCELLED",
        }
        text = changes.get((route, status))
        if text is None:
            return
        try:
            job = json.loads(answer.get("body") or "")
        except ValueError:
            return
        if isinstance(job, dict) and "jobId" in job:
            if job.get("runAt") and text == "QUEUED":
                text = f"SCHEDULED for {job['runAt']}"
            elif job.get("runAt") and route == "DELETE /jobs/{jobId}":
                text = "SCHEDULED → CANCELLED"
            self._line(str(job["jobId"]), str(job.get("type", "?")), text)

    def _claim(self, answer: dict[str, Any]) -> None:
        job_id, job_type = str(answer.get("jobId")), str(answer.get("type") or "?")
        if answer.get("outcome") != "CLAIMED":
            with self._lock:
                known = self._claimed.get(job_id)
            said = "deferred" if answer.get("outcome") == "DEFERRED" else "skipped"
            self._line(job_id, known[1] if known else job_type, f"{said}: {answer.get('reason')}")
            return
        with self._lock:
            self._claimed[job_id] = (time.monotonic(), job_type)
            self._claimed.move_to_end(job_id)
            while len(self._claimed) > _REMEMBERED:
                self._claimed.popitem(last=False)
        attempt = answer.get("attempt") or 1
        # A later attempt may follow an expired lease (IN_PROGRESS) or a rerun (QUEUED).
        self._line(
            job_id, job_type, "QUEUED → IN_PROGRESS" if attempt == 1 else f"→ IN_PROGRESS (attempt {attempt})"
        )

    def _finalize(self, event: dict[str, Any], answer: dict[str, Any]) -> None:
        from cloudqueue.history import error_message

        job_id, status = str(answer.get("jobId")), str(answer.get("status"))
        with self._lock:
            claimed = self._claimed.pop(job_id, None)
        job_type = claimed[1] if claimed else "?"
        text = f"IN_PROGRESS → {status}"
        if status == "SUCCEEDED" and claimed is not None:
            text += f" {time.monotonic() - claimed[0]:.1f}s"
        elif status == "FAILED":
            failure = event.get("failure") or {}
            error = str(failure.get("Error") or "UnknownError")
            message = error_message(failure.get("Cause")) or error
            text += f" {error}: {' '.join(message.split())[:_MESSAGE_CHARS]}"
        self._line(job_id, job_type, text)


__all__ = ["JobEvents"]
