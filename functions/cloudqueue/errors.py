"""Every error CloudQueue raises on purpose, in one tree.

The class names of the workflow errors are part of the contract with the state
machine: a Lambda that raises ``TransientJobError`` fails its task with the error
name ``TransientJobError``, which is what ``statemachine/jobs.asl.json`` matches
in its ``Retry`` and ``Catch`` fields. Rename one and the workflow changes.

    CloudQueueError
    ├── JobError                    raised inside the workflow (claim, process, finalize)
    │   ├── PermanentJobError       job logic refuses the job: no retry, job ends FAILED
    │   ├── TransientJobError       job logic may succeed later: retried, then FAILED
    │   ├── JobLeased               claim: a live worker holds the lease: retried, then the
    │   │                           execution fails and SQS redelivers the message later
    │   ├── LeaseLost               finalize: the fencing token no longer matches; this worker
    │   │                           lost the job to another one and must not write
    │   ├── JobNotYetWritten        claim: the message names a job not (yet) in the table; the
    │   │                           API sends before it writes, so retried for a grace period
    │   └── InvalidMessage          the message body is not {"jobId": ...}: the claim (and the
    │                               dead-letter function) keep it as poison, not raised to
    │                               the state machine
    └── ApiError                    answered to an HTTP client as {"error": {code, message}}
        ├── RequestTooLarge         413
        ├── InvalidBatch            422: a batch submit with no jobs or over 100
        ├── JobNotFoundError        404
        ├── JobNotCancellable       409: the job has left QUEUED
        ├── JobNotRerunnable        409: only a FAILED job can be rerun
        ├── IdempotencyConflict     409: the key was used with another request body
        ├── EnqueueFailed           503: the job could not be queued; nothing was kept
        ├── InvalidPageToken        400: a listing's nextToken that no listing gave out
        ├── StoreBusy               503: the table left part of a read undone; retry
        ├── CallbackRefused         422: a callbackUrl CloudQueue will not call (scheme, or
        │                           an address that is not public: see cloudqueue.callbacks)
        └── WebhooksDisabled        422: a callbackUrl on a stack deployed with Webhooks=off
"""

from __future__ import annotations

from http import HTTPStatus


class CloudQueueError(Exception):
    """Root of every error CloudQueue raises on purpose."""


class JobError(CloudQueueError):
    """An error raised by a workflow step; its class name is the ASL error name."""


class PermanentJobError(JobError):
    """The job can never succeed as submitted (bad input, unsupported)."""


class TransientJobError(JobError):
    """The job failed this time and may succeed if retried."""


class JobLeased(JobError):
    """Another worker holds a live lease on the job."""


class LeaseLost(JobError):
    """The worker's lease token no longer matches: another worker owns the job."""


class JobNotYetWritten(JobError):
    """The message names a job that is not in the table (yet): the API sends, then writes."""


class InvalidMessage(JobError):
    """The queue message is not a CloudQueue job message."""


class ApiError(CloudQueueError):
    """An error answered to an HTTP client; each subclass fixes its status and code."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class RequestTooLarge(ApiError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "request_too_large"


class InvalidBatch(ApiError):
    """A batch submit with no jobs, or more than a batch takes."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_batch"


class JobNotFoundError(ApiError):
    status = HTTPStatus.NOT_FOUND
    code = "job_not_found"


class JobNotCancellable(ApiError):
    status = HTTPStatus.CONFLICT
    code = "job_not_cancellable"


class JobNotRerunnable(ApiError):
    status = HTTPStatus.CONFLICT
    code = "job_not_rerunnable"


class IdempotencyConflict(ApiError):
    status = HTTPStatus.CONFLICT
    code = "idempotency_key_reused"


class EnqueueFailed(ApiError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "enqueue_failed"


class InvalidPageToken(ApiError):
    """A listing's ``nextToken`` (or a store's cursor) that no listing gave out, or that belongs
    to another listing (another status filter or owner)."""

    code = "invalid_next_token"


class StoreBusy(ApiError):
    """The table would not answer a whole read (throttled, or over a batch's size) in time."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "store_busy"


class CallbackRefused(ApiError):
    """A ``callbackUrl`` that is not http(s), or whose host is or resolves to an address that
    is not public (loopback, private, link-local, unique-local, unspecified...)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "callback_url_refused"


class WebhooksDisabled(ApiError):
    """A ``callbackUrl`` on a stack without webhooks: nothing would deliver it."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "webhooks_disabled"


class ScheduleNotFound(ApiError):
    """No schedule by that name among the caller's (another owner's answers the same)."""

    status = HTTPStatus.NOT_FOUND
    code = "schedule_not_found"


class ScheduleExists(ApiError):
    status = HTTPStatus.CONFLICT
    code = "schedule_exists"
