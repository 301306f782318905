"""The API's records as typed models: a job, its status, a page of jobs, a job type, a
recurring schedule.

Field names are snake_case in Python and camelCase on the wire, as the API sends them. A field
the server adds that this client does not know yet is kept (``model_extra``) and dumped again,
so nothing the API said is lost. ``model_dump(mode="json", by_alias=True, exclude_unset=True)``
gives back the JSON the API answered; a test holds this against the server's own models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel


def _timestamp(value: datetime) -> str:
    # The API's format (ISO 8601, UTC, milliseconds, "Z"), so that a dumped job reads as sent.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


Timestamp = Annotated[datetime, PlainSerializer(_timestamp, return_type=str)]


class JobStatus(StrEnum):
    """Where a job is in its lifecycle; SUCCEEDED, FAILED and CANCELLED are terminal."""

    SCHEDULED = "SCHEDULED"  # delayed: not started before run_at
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """True once the job has ended (a rerun of a FAILED job starts a new run)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        """The JSON object the API answered (the fields it sent, under its names)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class JobFailure(ApiModel):
    """Why a job FAILED: the error's name and a message for people."""

    type: str
    message: str


class JobRun(ApiModel):
    """One earlier run of a job that was rerun, kept with its outcome."""

    run: int
    status: JobStatus
    error: JobFailure | None = None
    result: dict[str, Any] | None = None
    first_attempt: int | None = None
    last_attempt: int | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    executions: list[str] = Field(default_factory=list)


class JobProgress(ApiModel):
    """The latest progress a running job's code reported: 0.0 to 1.0, a message, and when."""

    fraction: float
    message: str | None = None
    at: Timestamp


class DeliveryAttempt(ApiModel):
    """One POST of a finished job to its ``callbackUrl``: DELIVERED, RETRYING or FAILED."""

    webhook_id: str
    attempt: int
    at: Timestamp
    status_code: int | None = None
    error: str | None = None
    outcome: str


class Job(ApiModel):
    """A job as the API answers it (``GET /jobs/{jobId}``)."""

    job_id: str
    type: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    result: dict[str, Any] | None = None
    error: JobFailure | None = None
    lease_expires_at: float | None = None
    executions: list[str] = Field(default_factory=list)
    idempotency_key: str | None = None
    runs: list[JobRun] = Field(default_factory=list)
    # Who submitted it, on a stack with AuthMode jwt or iam ("anonymous" with none).
    owner: str | None = None
    # Where its end is POSTed, and the last attempts to (deliveryAttempts counts them all).
    callback_url: str | None = None
    deliveries: list[DeliveryAttempt] = Field(default_factory=list)
    delivery_attempts: int = 0
    # A delayed job's due time (it is SCHEDULED until then); the recurring schedule that made it.
    run_at: Timestamp | None = None
    schedule: str | None = None
    # A running job: its latest progress report, and when a cancel asked it to stop.
    progress: JobProgress | None = None
    cancel_requested_at: Timestamp | None = None
    # Per-key concurrency: the submit's key, and why a QUEUED job waits ("concurrency").
    concurrency_key: str | None = None
    waiting_for: str | None = None


class BatchItemError(ApiModel):
    """Why one item of a batch was not accepted: the error a single submit would have had."""

    code: str
    message: str
    details: Any | None = None


class BatchResult(ApiModel):
    """One item's outcome in ``POST /jobs/batch``: its job's id and ``status`` 201 (new) or 200
    (an idempotent replay), or its ``error``."""

    job_id: str | None = None
    status: int | None = None
    error: BatchItemError | None = None

    @property
    def accepted(self) -> bool:
        """True when the item has its job (new or replayed)."""
        return self.job_id is not None


class BatchResultList(ApiModel):
    """``POST /jobs/batch``'s answer: one result per item, in order."""

    results: list[BatchResult]


class JobPage(ApiModel):
    """One page of ``GET /jobs``, newest first; ``next_token`` asks for the next one."""

    jobs: list[Job]
    next_token: str | None = None


class JobType(ApiModel):
    """A job type the API runs: its name, what it does, an example payload and its JSON Schema."""

    name: str
    description: str
    example: dict[str, Any]
    payload_schema: dict[str, Any]


class JobTypeList(ApiModel):
    """``GET /job-types``."""

    job_types: list[JobType]


class ScheduledJob(ApiModel):
    """The job a recurring schedule submits at each firing."""

    type: str
    payload: dict[str, Any]
    concurrency_key: str | None = None
    callback_url: str | None = None


class Schedule(ApiModel):
    """A recurring schedule as the API answers it (``GET /schedules/{name}``); its owner is the
    caller. ``state`` is ``ENABLED``, or ``DISABLED`` while paused."""

    name: str
    expression: str
    timezone: str
    state: str
    job: ScheduledJob

    @property
    def paused(self) -> bool:
        """True while the schedule is paused (it fires no more until resumed)."""
        return self.state == "DISABLED"


class ScheduleList(ApiModel):
    """``GET /schedules``: the caller's schedules."""

    schedules: list[Schedule]
