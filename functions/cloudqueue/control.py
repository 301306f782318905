"""What a running job's code may ask of its job: has it been cancelled, and where it stands.

``LeasedJobControl`` is the job context's link to the table for one claim of one job. It
reads the cancel mark at most every ``CANCEL_CHECK_SECONDS`` (a job type checks as often as
it likes; the table is read twice a second at most) and writes progress at most every
``PROGRESS_INTERVAL_SECONDS`` (the latest report wins; one between is kept and written with
the next one due). Each write is fenced by the lease token: a worker that lost its lease
is refused, and from then on reads as cancelled, so that its code stops.

Nothing here imports boto3: ``RunningJobMarks`` is the port, the DynamoDB adapter
(``cloudqueue.adapters.dynamodb.marks``) is loaded by the process function at the first job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

CANCEL_CHECK_SECONDS = 0.5
PROGRESS_INTERVAL_SECONDS = 1.0
MAX_PROGRESS_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class MarkReading:
    """What the table says of a running job: whether a cancel marked it, and whether the
    lease this worker holds is still the job's (False: it finished, or another claim took it)."""

    cancel_requested: bool
    leased: bool


class RunningJobMarks(Protocol):
    def read_marks(self, job_id: str, lease_token: str) -> MarkReading:
        """The job's cancel mark, and whether ``lease_token`` still holds it."""

    def write_progress(
        self, job_id: str, lease_token: str, *, fraction: float, message: str | None, at: float
    ) -> bool:
        """Write the job's progress while ``lease_token`` holds it IN_PROGRESS; False: refused."""


class JobControl(Protocol):
    def cancelled(self) -> bool: ...

    def report_progress(self, fraction: float, message: str | None = None) -> None: ...


class NoControl:
    """The control of a job run without a table (a test, a direct call): never cancelled."""

    def cancelled(self) -> bool:
        return False

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        return None


class LeasedJobControl:
    """``JobControl`` for the worker holding ``lease_token`` on ``job_id``."""

    def __init__(
        self,
        job_id: str,
        lease_token: str,
        marks: RunningJobMarks,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.job_id = job_id
        self.lease_token = lease_token
        self.marks = marks
        self.clock = clock
        self.wall_clock = wall_clock
        self._stop = False  # once cancelled (or the lease lost), always: the mark is never removed
        self._checked_at: float | None = None
        self._written_at: float | None = None
        self._unwritten: tuple[float, str | None, float] | None = None
        self.writes = 0

    def cancelled(self) -> bool:
        """True once a cancel marked the job or this worker lost its lease; read from the table
        at most every ``CANCEL_CHECK_SECONDS``, cached in between."""
        if self._stop:
            return True
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= CANCEL_CHECK_SECONDS:
            self._checked_at = now
            reading = self.marks.read_marks(self.job_id, self.lease_token)
            self._stop = reading.cancel_requested or not reading.leased
        return self._stop

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        """Record how far the job is (0.0 to 1.0, clamped) and an optional short message.
        Written at once if the last write is a second old, else kept for the next write due."""
        if math.isnan(fraction):  # no position at all
            raise ValueError("progress fraction must be a number between 0 and 1")
        fraction = min(1.0, max(0.0, float(fraction)))
        text = message[:MAX_PROGRESS_MESSAGE_CHARS] if message else None
        self._unwritten = (fraction, text, self.wall_clock())
        self.flush(force=False)

    def flush(self, *, force: bool = True) -> None:
        """Write the latest unwritten report if one is due (``force``: even if not a second yet)."""
        if self._unwritten is None or self._stop:
            return
        now = self.clock()
        if not force and self._written_at is not None and now - self._written_at < PROGRESS_INTERVAL_SECONDS:
            return
        fraction, message, at = self._unwritten
        self._unwritten = None
        self._written_at = now
        self.writes += 1
        if not self.marks.write_progress(
            self.job_id, self.lease_token, fraction=fraction, message=message, at=at
        ):
            self._stop = True  # refused: the lease is no longer this worker's (or it finished)
