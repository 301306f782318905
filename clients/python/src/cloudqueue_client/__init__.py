"""A typed Python client (sync and async) for the CloudQueue HTTP API::

from cloudqueue_client import Client

with Client("http://127.0.0.1:3000") as queue:
    job = queue.submit("text.transform", {"text": "hello"})
    print(queue.wait(job.job_id).result)
"""

from __future__ import annotations

from cloudqueue_client.async_client import AsyncClient
from cloudqueue_client.auth import BearerToken, SigV4
from cloudqueue_client.client import Client
from cloudqueue_client.errors import (
    CloudQueueError,
    Conflict,
    Forbidden,
    MissingCredentials,
    NotFound,
    PayloadTooLarge,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
    ValidationError,
    WaitTimeout,
)
from cloudqueue_client.models import (
    TERMINAL_STATUSES,
    Job,
    JobFailure,
    JobPage,
    JobRun,
    JobStatus,
    JobType,
    JobTypeList,
)
from cloudqueue_client.retries import Retries
from cloudqueue_client.version import __version__

__all__ = [
    "TERMINAL_STATUSES",
    "AsyncClient",
    "BearerToken",
    "Client",
    "CloudQueueError",
    "Conflict",
    "Forbidden",
    "Job",
    "JobFailure",
    "JobPage",
    "JobRun",
    "JobStatus",
    "JobType",
    "JobTypeList",
    "MissingCredentials",
    "NotFound",
    "PayloadTooLarge",
    "Retries",
    "ServerError",
    "SigV4",
    "TooManyRequests",
    "Unauthorized",
    "Unreachable",
    "ValidationError",
    "WaitTimeout",
    "__version__",
]
