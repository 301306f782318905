"""Request models of the HTTP API, built from the job-type registry.

``SubmitJobRequest`` is a union of one model per job type, discriminated by ``type``, so
the OpenAPI document shows every payload schema and an unknown type is refused with
the list of known ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from cloudqueue.jobtypes import JOB_TYPES, JobType


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


def payload_of(request: BaseModel) -> dict[str, Any]:
    """The validated payload as plain JSON, with the field names clients use."""
    payload: BaseModel = request.payload  # type: ignore[attr-defined]
    return payload.model_dump(mode="json", by_alias=True)


def type_of(request: BaseModel) -> str:
    return str(request.type)  # type: ignore[attr-defined]
