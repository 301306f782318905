"""The HTTP API's own models: the views it answers with and its requests, built from the
job-type registry. Apart from ``cloudqueue.models``, which the per-job functions import.

``SubmitJobRequest`` is a union of one model per job type, discriminated by ``type``, so
the OpenAPI document shows every payload schema and an unknown type is refused with
the list of known ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from cloudqueue.camel import CamelModel
from cloudqueue.jobtypes import JOB_TYPES, JobType
from cloudqueue.models import DeliveryAttempt, Job, JobFailure, JobRun, JobStatus, Timestamp

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

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls.model_validate(job.model_dump(exclude=set(PRIVATE_JOB_FIELDS)))


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
    )


_REQUEST_MODELS = tuple(_request_model(job_type) for job_type in JOB_TYPES.values())

SubmitJobRequest = Annotated[Union[_REQUEST_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


def payload_of(request: BaseModel) -> dict[str, Any]:
    """The validated payload as plain JSON, with the field names clients use."""
    payload: BaseModel = request.payload  # type: ignore[attr-defined]
    return payload.model_dump(mode="json", by_alias=True)


def callback_url_of(request: BaseModel) -> str | None:
    """The request's ``callbackUrl``, if any (not checked yet: see ``cloudqueue.callbacks``)."""
    return request.callbackUrl  # type: ignore[attr-defined,no-any-return]


def type_of(request: BaseModel) -> str:
    return str(request.type)  # type: ignore[attr-defined]
