"""Demo job types that make the workflow's failure paths visible.

- ``demo.flaky`` fails transiently ``failTimes`` times, then succeeds: shows Retry.
- ``demo.fail`` always fails permanently: shows a job ending FAILED with its error.
- ``demo.sleep`` sleeps: shows a job IN_PROGRESS, its progress, and a cancel of a running
  job (it checks ``cancelled()`` every quarter second); lets tests kill a worker mid-job.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloudqueue.errors import PermanentJobError, TransientJobError
from cloudqueue.jobtypes.base import JobContext, JobType


class FlakyPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    fail_times: int = Field(
        default=2,
        ge=0,
        le=10,
        alias="failTimes",
        description="How many times to fail before succeeding. The workflow retries 3 times.",
    )


def run_flaky(payload: FlakyPayload, context: JobContext) -> dict[str, Any]:
    if context.retry_count < payload.fail_times:
        raise TransientJobError(
            f"simulated transient failure {context.retry_count + 1} of {payload.fail_times}"
        )
    return {"failedTimes": context.retry_count, "attempt": context.attempt}


class FailPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    reason: str = Field(default="this job always fails", min_length=1, max_length=500)


def run_fail(payload: FailPayload, context: JobContext) -> dict[str, Any]:
    raise PermanentJobError(payload.reason)


# The process function must return before its timeout: demo.sleep sleeps at most the
# timeout less this margin (for the handler's own work).
SLEEP_MARGIN_SECONDS = 1.0
_sleep_limit = {"seconds": 25 - SLEEP_MARGIN_SECONDS}  # the default ProcessTimeoutSeconds


def limit_sleep_to(process_timeout_seconds: float) -> None:
    """Called at cold start with the function's ProcessTimeoutSeconds (see settings)."""
    _sleep_limit["seconds"] = max(0.001, process_timeout_seconds - SLEEP_MARGIN_SECONDS)


def sleep_limit_seconds() -> float:
    return _sleep_limit["seconds"]


def _schema_with_limit(schema: dict[str, Any]) -> None:
    schema["properties"]["seconds"]["maximum"] = sleep_limit_seconds()


class SleepPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra=_schema_with_limit)

    # At least a millisecond: DynamoDB numbers stop at 1E-130, and a smaller float would be
    # accepted here, then fail to store (a 500 for a request the API had validated).
    seconds: float = Field(
        default=5.0,
        ge=0.001,
        description="How long the job runs; at most the process function's timeout less a second.",
    )

    @field_validator("seconds")
    @classmethod
    def _within_the_process_timeout(cls, seconds: float) -> float:
        limit = sleep_limit_seconds()
        if seconds > limit:
            raise ValueError(
                f"demo.sleep can sleep at most {limit:g} s: the process function's timeout "
                f"(ProcessTimeoutSeconds) less {SLEEP_MARGIN_SECONDS:g} s"
            )
        return seconds


# How often demo.sleep looks at its cancel mark (and reports its progress).
SLEEP_STEP_SECONDS = 0.25


def run_sleep(payload: SleepPayload, context: JobContext) -> dict[str, Any]:
    started = time.monotonic()
    while (slept := time.monotonic() - started) < payload.seconds:
        if context.cancelled():
            # Whatever it returns is discarded: finalize writes CANCELLED.
            return {"sleptSeconds": round(slept, 3), "cancelled": True}
        context.report_progress(slept / payload.seconds, f"slept {slept:.1f} of {payload.seconds:g} s")
        time.sleep(min(SLEEP_STEP_SECONDS, payload.seconds - slept))
    return {"sleptSeconds": payload.seconds}


FLAKY = JobType(
    name="demo.flaky",
    description="Fails transiently failTimes times, then succeeds. Shows retries.",
    payload_model=FlakyPayload,
    run=run_flaky,
    example={"failTimes": 2},
)
FAIL = JobType(
    name="demo.fail",
    description="Always fails permanently. Shows a FAILED job and its error.",
    payload_model=FailPayload,
    run=run_fail,
    example={"reason": "this job always fails"},
)
SLEEP = JobType(
    name="demo.sleep",
    description="Sleeps for a while. Shows a job IN_PROGRESS.",
    payload_model=SleepPayload,
    run=run_sleep,
    example={"seconds": 5},
    concurrency_limit=2,
)
