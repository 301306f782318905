"""The shapes CloudQueue passes around: the job record and the workflow's messages.

The HTTP API's own views are in ``cloudqueue.api_models`` and the process step's request in
``cloudqueue.processing``, so that each function defines at cold start only the models it uses.

Field names are snake_case in Python and camelCase everywhere else (DynamoDB
attributes, Lambda payloads, the HTTP API), through one alias generator.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainSerializer, model_validator
from pydantic.alias_generators import to_camel

from cloudqueue.camel import CamelModel

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
"""A job id: a UUIDv7 in lower case (see ``cloudqueue.jobs.new_job_id``)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, sortable as text: ``2026-11-28T04:32:50.123Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


class JobStatus(StrEnum):
    # Submitted with a delay: not to be claimed before ``run_at``.
    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class JobFailure(CamelModel):
    """Why a job ended FAILED: the error name (a class name) and a message for people."""

    type: str
    message: str


class JobProgress(CamelModel):
    """The latest progress a running job reported (``JobContext.report_progress``)."""

    fraction: float = Field(ge=0.0, le=1.0)
    message: str | None = None
    at: Timestamp


class JobRun(CamelModel):
    """One finished run of a job that was rerun: what it ended as, kept when the job went back
    to QUEUED so that the earlier error stays visible. ``first_attempt`` is None for a run
    that was never claimed (a job dead-lettered before any claim)."""

    run: int
    status: JobStatus
    error: JobFailure | None = None
    result: dict[str, Any] | None = None
    first_attempt: int | None = None
    last_attempt: int | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    executions: list[str] = Field(default_factory=list)


class DeliveryAttempt(CamelModel):
    """One POST of a job's end to its ``callbackUrl``: when, what came back, what follows.
    ``outcome``: DELIVERED (2xx), RETRYING (5xx, 408, 429, a timeout: tried again later),
    FAILED (any other answer, a refused address, or 24 hours of retries: dead-lettered)."""

    webhook_id: str
    attempt: int
    at: Timestamp
    status_code: int | None = None
    error: str | None = None
    outcome: Literal["DELIVERED", "RETRYING", "FAILED"]


MAX_DELIVERIES_KEPT = 20
"""A job keeps its last 20 delivery attempts (and counts them all): its item stays small."""


class Job(CamelModel):
    """One job, as the table holds it."""

    job_id: str
    type: str
    payload: dict[str, Any]
    status: JobStatus
    # Who submitted it: the listing lists each owner's jobs apart (``cloudqueue.listing``).
    owner: str = "anonymous"
    attempts: int = 0
    created_at: Timestamp
    updated_at: Timestamp
    # When it was last queued (the submit, a rerun, the sweeper's re-send of a stranded job):
    # the day it is listed under, and how old its newest message can be. None: written before
    # queuedAt existed; ``created_at`` stands in.
    queued_at: Timestamp | None = None
    # When a delayed job is due (it is SCHEDULED until then): no claim takes it earlier.
    run_at: Timestamp | None = None
    # The recurring schedule whose firing made the job, if any.
    schedule: str | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    result: dict[str, Any] | None = None
    error: JobFailure | None = None
    lease_token: str | None = None
    lease_expires_at: float | None = None
    # Which delivery holds the lease: the SQS message id and the execution that claimed it.
    lease_message_id: str | None = None
    lease_execution_id: str | None = None
    # Set by a writer that made the job QUEUED before sending its message (a rerun); removed
    # once sent or claimed. Only such jobs are in the PendingSends index the sweeper reads.
    pending_since: int | None = None
    pending_shard: str | None = None
    redrives: int = 0
    executions: list[str] = Field(default_factory=list)
    idempotency_key: str | None = None
    payload_hash: str | None = None
    expires_at: int | None = None
    runs: list[JobRun] = Field(default_factory=list)
    # Set by a cancel of an IN_PROGRESS job (its code sees it through ``cancelled()``):
    # finalize then writes CANCELLED, whatever the code returned.
    cancel_requested_at: Timestamp | None = None
    progress: JobProgress | None = None
    # Per-key concurrency: the submit's key and its type's limit (recorded at submit, so that
    # the claim needs no job type); the slot entry a claim holds; why a QUEUED job waits.
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    slot_index: int | None = None
    waiting_for: str | None = None
    # Where to POST the job's end (checked at submit: cloudqueue.callbacks), and what came of it.
    callback_url: str | None = None
    deliveries: list[DeliveryAttempt] = Field(default_factory=list)
    delivery_attempts: int = 0

    def status_at(self, now: datetime) -> JobStatus:
        """The status a reader sees at ``now``: a SCHEDULED job reads QUEUED from its ``runAt``
        on (it is due: its message waits to be taken, or it waits for a slot). The table keeps
        SCHEDULED until a claim takes it, so that no write is needed at the due time and the
        claim's condition still knows the job was delayed."""
        if self.status is JobStatus.SCHEDULED and self.run_at is not None and self.run_at <= now:
            return JobStatus.QUEUED
        return self.status


# --- The workflow's messages -------------------------------------------------------------


class JobMessage(CamelModel):
    """The body of a queue message: the id (the table holds the job) and, for a delayed job,
    when it is due, so that a claim can put back an early delivery without reading the table."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True
    )

    job_id: str = Field(min_length=1, max_length=64)
    run_at: Timestamp | None = None


class QueueRecord(CamelModel):
    """The part of the Pipe's SQS record that ``ParseMessage`` passes on: its id, its body
    and its SQS attributes (any may be missing when a record is written by hand)."""

    message_id: str
    body: str
    receive_count: int = 1
    # When SQS accepted the message (epoch milliseconds); None when unknown.
    sent_timestamp: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_attributes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
            return data
        attributes = data["attributes"]
        found = {
            "receiveCount": attributes.get("ApproximateReceiveCount"),
            "sentTimestamp": attributes.get("SentTimestamp"),
        }
        return {key: value for key, value in found.items() if value is not None} | data


class ClaimRequest(CamelModel):
    message: QueueRecord
    execution_id: str


class ClaimResponse(CamelModel):
    """Every key is always present: the state machine's ResultSelector reads each one.
    POISON: the message names no job and was kept in the poison-message queue (``job_id`` is
    None when the body could not be read at all). DEFERRED: the job is not due yet; its
    message was sent again to come back when it is (``reason`` says when). WAITING: every slot
    of the job's concurrency key is held; a new message was sent with a short delay and this
    one is consumed."""

    outcome: Literal["CLAIMED", "SKIPPED", "POISON", "DEFERRED", "WAITING"]
    job_id: str | None
    reason: str | None = None
    lease_token: str | None = None
    type: str | None = None
    payload: dict[str, Any] | None = None
    attempt: int | None = None


class TaskFailure(CamelModel):
    """A Step Functions Catch output: the error name and its cause (often a JSON string)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    error: str = Field(validation_alias="Error", serialization_alias="Error")
    cause: str | None = Field(default=None, validation_alias="Cause", serialization_alias="Cause")


class FinalizeRequest(CamelModel):
    job_id: str
    lease_token: str
    outcome: Literal["SUCCEEDED", "FAILED"]
    result: dict[str, Any] | None = None
    failure: TaskFailure | None = None


class FinalizeResponse(CamelModel):
    job_id: str
    status: JobStatus


# --- recurring schedules -----------------------------------------------------------------


class ScheduledJob(CamelModel):
    """The job a recurring schedule submits at each firing: a submit's body without its timing
    (the schedule says when)."""

    type: str
    payload: dict[str, Any]
    concurrency_key: str | None = None
    callback_url: str | None = None  # checked when the schedule is made (cloudqueue.callbacks)


class RecurringSchedule(CamelModel):
    """An owner's recurring schedule, as EventBridge Scheduler keeps it: each firing submits
    ``job`` once (idempotency key: the name and the scheduled time), marked ``schedule: name``."""

    name: str
    expression: str
    timezone: str = "UTC"
    state: Literal["ENABLED", "DISABLED"] = "ENABLED"
    job: ScheduledJob
    owner: str = "anonymous"
