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
from cloudqueue.models import Job, JobFailure, JobRun, JobStatus, Timestamp

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
    )


_REQUEST_MODELS = tuple(_request_model(job_type) for job_type in JOB_TYPES.values())

SubmitJobRequest = Annotated[Union[_REQUEST_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


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


def type_of(request: BaseModel) -> str:
    return str(request.type)  # type: ignore[attr-defined]
