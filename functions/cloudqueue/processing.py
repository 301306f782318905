"""The state machine's ``ProcessJob`` step: run a job's logic by its type.

Apart from ``cloudqueue.workflow`` (claim and finalize), because the process function
loads nothing else: no job record, no store, no lifecycle rules, and only the job types
it runs (``cloudqueue.jobtypes`` imports each type's module on first use).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cloudqueue.camel import CamelModel
from cloudqueue.control import JobControl, NoControl
from cloudqueue.errors import PermanentJobError
from cloudqueue.jobtypes import JOB_TYPES, JobContext, JobType


class ProcessRequest(CamelModel):
    job_id: str
    type: str
    payload: dict[str, Any]
    attempt: int = 1
    retry_count: int = 0
    # The claim's lease token: fences the job code's progress writes (cloudqueue.control).
    lease_token: str | None = None


def resolve_job_type(name: str) -> JobType[Any]:
    job_type = JOB_TYPES.get(name)
    if job_type is None:
        raise PermanentJobError(f"unknown job type {name!r}; known types: {', '.join(sorted(JOB_TYPES))}")
    return job_type


def process_job(request: ProcessRequest, control: JobControl | None = None) -> dict[str, Any]:
    """Run the job's logic. It reads and writes nothing but its arguments, its result and,
    through ``control``, the job's cancel mark and progress."""
    job_type = resolve_job_type(request.type)
    try:
        payload = job_type.payload_model.model_validate(request.payload)
    except ValidationError as error:
        raise PermanentJobError(f"invalid payload for {request.type}: {error}") from error
    context = JobContext(
        job_id=request.job_id,
        attempt=request.attempt,
        retry_count=request.retry_count,
        control=control or NoControl(),
    )
    return job_type.run(payload, context)
