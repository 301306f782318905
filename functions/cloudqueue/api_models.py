"""The HTTP API's own models: the views it answers with and its requests, built from the
job-type registry. Apart from ``cloudqueue.models``, which the per-job functions import.

``SubmitJobRequest`` is a union of one model per job type, discriminated by ``type``, so
the OpenAPI document shows every payload schema and an unknown type is refused with
the list of known ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)

from cloudqueue.camel import CamelModel
from cloudqueue.jobtypes import JOB_TYPES, JobType
from cloudqueue.models import (
    DeliveryAttempt,
    Job,
    JobFailure,
    JobProgress,
    JobRun,
    JobStatus,
    RecurringSchedule,
    ScheduledJob,
    Timestamp,
    utc_now,
)
from cloudqueue.schedule_expressions import parse_expression, parse_timezone

# How far ahead a job may be delayed: a year, as Inngest's longest sleep.
MAX_DELAY_SECONDS = 31_536_000
MAX_CONCURRENCY_KEY_CHARS = 128

# What a client may see of a job: the lease token is a fencing secret and the hash is bookkeeping.
PRIVATE_JOB_FIELDS = frozenset(
    {
        "lease_token",
        "payload_hash",
        "expires_at",
        "lease_message_id",
        "lease_execution_id",
        "pending_since",
        "pending_shard",
        "redrives",
        "concurrency_limit",
        "slot_index",
    }
)


class JobView(CamelModel):
    """A job as the API answers it."""

    job_id: str
    type: str
    payload: dict[str, Any]
    status: JobStatus
    # Who submitted it (a JWT's sub, an IAM ARN, or anonymous): an admin listing shows whose.
    owner: str
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
    callback_url: str | None = None
    # The last attempts to POST the job's end to callbackUrl (deliveryAttempts counts them all).
    deliveries: list[DeliveryAttempt] = Field(default_factory=list)
    delivery_attempts: int = 0
    run_at: Timestamp | None = None
    schedule: str | None = None
    # When a cancel of the running job was asked for; it ends CANCELLED.
    cancel_requested_at: Timestamp | None = None
    progress: JobProgress | None = None
    concurrency_key: str | None = None
    # QUEUED, and why it has not started: "concurrency" (every slot of its key is held).
    waiting_for: str | None = None

    @classmethod
    def of(cls, job: Job, now: datetime | None = None) -> JobView:
        """``job`` as a reader sees it at ``now`` (``Job.status_at``: a due SCHEDULED job reads
        QUEUED); as stored when ``now`` is None."""
        view = job.model_dump(exclude=set(PRIVATE_JOB_FIELDS))
        if now is not None:
            view["status"] = job.status_at(now)
        return cls.model_validate(view)


class JobPage(CamelModel):
    jobs: list[JobView]
    next_token: str | None = None


class JobTypeInfo(CamelModel):
    name: str
    description: str
    example: dict[str, Any]
    payload_schema: dict[str, Any]


class JobTypeList(CamelModel):
    job_types: list[JobTypeInfo]


class ErrorDetail(CamelModel):
    code: str
    message: str
    details: Any | None = None


class ErrorBody(CamelModel):
    error: ErrorDetail


def _check_timing(request: Any) -> Any:
    """A submit may say when the job is due one way, not two; a time must be ahead, within a year."""
    delay, run_at = request.delaySeconds, request.runAt
    if delay is not None and run_at is not None:
        raise ValueError("give delaySeconds or runAt, not both")
    if run_at is not None:
        ahead = (run_at - utc_now()).total_seconds()
        if ahead <= 0:
            raise ValueError(f"runAt {run_at.isoformat()} is not in the future")
        if ahead > MAX_DELAY_SECONDS:
            raise ValueError(f"runAt {run_at.isoformat()} is more than a year ({MAX_DELAY_SECONDS} s) ahead")
    return request


def due_time(request: BaseModel, now: datetime) -> datetime | None:
    """When the submitted job is due, or None: at once. Rounded up to the millisecond, the
    precision the table keeps (its condition compares the text), so that it is never early."""
    delay: int | None = getattr(request, "delaySeconds", None)
    run_at: datetime | None = getattr(request, "runAt", None)
    if delay is not None:
        due = now + timedelta(seconds=delay)
    elif run_at is not None:
        due = run_at.astimezone(UTC)
    else:
        return None
    return due + timedelta(microseconds=-due.microsecond % 1000)


def timing_of(request: BaseModel) -> dict[str, Any] | None:
    """The request's timing, concurrency key and callback URL as sent (what an Idempotency-Key
    is bound to, beside the type and payload), None without any."""
    timing = request.model_dump(
        mode="json", include={"delaySeconds", "runAt", "concurrencyKey", "callbackUrl"}, exclude_none=True
    )
    return timing or None


_DELAY_FIELD = Field(
    default=None,
    ge=1,
    le=MAX_DELAY_SECONDS,
    description="Run the job this many seconds from now (it reads SCHEDULED until then). Not with runAt.",
)
_RUN_AT_FIELD = Field(
    default=None,
    description="Run the job at this time (RFC 3339 with an offset, in the future, at most a year "
    "ahead; it reads SCHEDULED until then). Not with delaySeconds.",
)


def _key_description(job_type: JobType[Any]) -> str:
    if job_type.concurrency_limit is None:
        return f"Recorded; {job_type.name} declares no concurrency limit, so it limits nothing."
    return f"At most {job_type.concurrency_limit} {job_type.name} jobs with this key run at once."


def _request_model(job_type: JobType[Any]) -> type[BaseModel]:
    model_name = (
        "Submit" + "".join(part.title() for part in job_type.name.replace("-", ".").split(".")) + "Job"
    )
    return create_model(
        model_name,
        # defer_build: built on the first submit, not at the API's cold start.
        __config__=ConfigDict(extra="forbid", title=f"Submit a {job_type.name} job", defer_build=True),
        type=(Literal[job_type.name], Field(description=job_type.description)),  # type: ignore[arg-type]
        payload=(job_type.payload_model, ...),
        callbackUrl=(
            str | None,
            Field(
                default=None,
                min_length=1,
                max_length=2048,
                description="POSTed the job's final state when it ends, signed the Standard Webhooks way.",
            ),
        ),
        delaySeconds=(int | None, _DELAY_FIELD),
        runAt=(AwareDatetime | None, _RUN_AT_FIELD),
        __validators__={"_timing": model_validator(mode="after")(_check_timing)},  # type: ignore[dict-item]
        concurrencyKey=(
            str | None,
            Field(
                default=None,
                min_length=1,
                max_length=MAX_CONCURRENCY_KEY_CHARS,
                description="At most the type's limit of jobs with this key run at once"
                + (
                    f" ({job_type.concurrency_limit} for {job_type.name})"
                    if job_type.concurrency_limit
                    else ""
                )
                + "; a type without a limit runs them all.",
            ),
        ),
    )


_REQUEST_MODELS = tuple(_request_model(job_type) for job_type in JOB_TYPES.values())

SubmitJobRequest = Annotated[Union[_REQUEST_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


def concurrency_key_of(request: BaseModel) -> str | None:
    key: str | None = request.concurrencyKey  # type: ignore[attr-defined]
    return key


def _batch_item_model(request_model: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        request_model.__name__.replace("Submit", "Batch", 1),
        __base__=request_model,
        idempotency_key=(
            str | None,
            Field(
                None,
                alias="idempotencyKey",
                min_length=1,
                max_length=255,
                description="This item's Idempotency-Key: retrying with it returns the same job.",
            ),
        ),
    )


# A batch's item: a single submit's body, plus the key the single submit takes as a header.
BatchItemRequest = Annotated[  # type: ignore[valid-type]
    Union[tuple(_batch_item_model(model) for model in _REQUEST_MODELS)],  # noqa: UP007
    Field(discriminator="type"),
]


class BatchSubmitRequest(CamelModel):
    """``POST /jobs/batch``: 1 to 100 items, each checked on its own (a bad item fails alone)."""

    # Any: an item that is not even an object fails alone, as its own result.
    jobs: list[Any] = Field(
        description="Up to 100 items, each a single submit's body with an optional `idempotencyKey`."
    )


class BatchItemResult(CamelModel):
    """One item's outcome: its job's id and 201 (new) or 200 (a replay), or its error."""

    job_id: str | None = None
    status: int | None = None
    error: ErrorDetail | None = None


class BatchSubmitResult(CamelModel):
    results: list[BatchItemResult]


def payload_of(request: BaseModel) -> dict[str, Any]:
    """The validated payload as plain JSON, with the field names clients use."""
    payload: BaseModel = request.payload  # type: ignore[attr-defined]
    return payload.model_dump(mode="json", by_alias=True)


def callback_url_of(request: BaseModel) -> str | None:
    """The request's ``callbackUrl``, if any (not checked yet: see ``cloudqueue.callbacks``)."""
    return request.callbackUrl  # type: ignore[attr-defined,no-any-return]


def type_of(request: BaseModel) -> str:
    return str(request.type)  # type: ignore[attr-defined]


# --- recurring schedules -----------------------------------------------------------------

_submit_adapter: TypeAdapter[Any] | None = None


def validate_job(job: dict[str, Any]) -> BaseModel:
    """A schedule's job, checked as ``POST /jobs`` checks a submit (type, payload, concurrency
    key, callback URL's form); no timing. Where a callback URL may point is the route's check."""
    global _submit_adapter  # noqa: PLW0603 - built on first use, not at cold start
    if _submit_adapter is None:
        _submit_adapter = TypeAdapter(SubmitJobRequest)
    request: BaseModel = _submit_adapter.validate_python(job)
    if getattr(request, "delaySeconds", None) is not None or getattr(request, "runAt", None) is not None:
        raise ValueError("a schedule's job takes no delaySeconds or runAt: the schedule says when")
    return request


class CreateScheduleRequest(CamelModel):
    """``POST /schedules``: a recurring schedule that submits ``job`` at each firing."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[0-9A-Za-z_.-]+$",
        description="Yours only (another owner may use the same name): letters, digits, '.', '_', '-'.",
    )
    expression: str = Field(
        max_length=256,
        description="rate(<n> minutes|hours|days) or cron(minutes hours day-of-month month "
        "day-of-week year), as EventBridge Scheduler defines them.",
    )
    timezone: str = Field(default="UTC", max_length=64, description="An IANA time zone for cron().")
    job: dict[str, Any] = Field(
        description="The job each firing submits: {type, payload, concurrencyKey?, callbackUrl?}, "
        "as POST /jobs takes it without delaySeconds or runAt."
    )

    @field_validator("expression")
    @classmethod
    def _expression(cls, value: str) -> str:
        parse_expression(value)  # ExpressionError is a ValueError: a 422 that says what is wrong
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value

    @field_validator("job")
    @classmethod
    def _job(cls, value: dict[str, Any]) -> dict[str, Any]:
        request = validate_job(value)
        return ScheduledJob(
            type=type_of(request),
            payload=payload_of(request),
            concurrency_key=concurrency_key_of(request),
            callback_url=callback_url_of(request),
        ).to_json_dict()

    def schedule_of(self, owner: str) -> RecurringSchedule:
        return RecurringSchedule(
            name=self.name,
            expression=self.expression,
            timezone=self.timezone,
            job=ScheduledJob.model_validate(self.job),
            owner=owner,
        )


class ScheduleView(CamelModel):
    """A recurring schedule as the API answers it (its owner is the caller)."""

    name: str
    expression: str
    timezone: str
    state: str
    job: ScheduledJob

    @classmethod
    def of(cls, schedule: RecurringSchedule) -> ScheduleView:
        return cls.model_validate(schedule.model_dump(exclude={"owner"}))


class ScheduleList(CamelModel):
    schedules: list[ScheduleView]
