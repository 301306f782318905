"""What a job type is: a payload model and a pure function from payload to result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cloudqueue.control import JobControl, NoControl

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class JobContext:
    """What a job function may know besides its payload."""

    job_id: str
    attempt: int  # which claim of the job this is: 1, then 2 after a worker died, ...
    retry_count: int  # how often the state machine has retried this step in this execution
    # The link to the job's record (cloudqueue.control): its cancel mark and its progress.
    control: JobControl = field(default_factory=NoControl)

    def cancelled(self) -> bool:
        """True once the job was cancelled while running (or this worker lost it): stop, and
        return anything; the job ends CANCELLED. Cheap to call often (read twice a second)."""
        return self.control.cancelled()

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        """Say how far the job is (0.0 to 1.0) and, optionally, what it is doing. Written at
        most once a second, the latest report winning; call it as often as is natural."""
        self.control.report_progress(fraction, message)


@dataclass(frozen=True)
class JobType(Generic[P]):
    """One kind of job. ``run`` reads and writes nothing outside its arguments."""

    name: str
    description: str
    payload_model: type[P]
    run: Callable[[P, JobContext], dict[str, Any]]
    example: dict[str, Any] = field(default_factory=dict)
    # At most this many jobs of this type with the same concurrencyKey run at once (None: no
    # limit; a key is then recorded and ignored).
    concurrency_limit: int | None = None

    def payload_schema(self) -> dict[str, Any]:
        return self.payload_model.model_json_schema()
