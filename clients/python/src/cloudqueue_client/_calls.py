"""What each method sends and how it reads the answer, shared by ``Client`` and ``AsyncClient``
(which differ only in how they send and sleep). A new route is one function here and one
method on each client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from cloudqueue_client.errors import CloudQueueError, error_for
from cloudqueue_client.models import ApiModel, JobStatus

Model = TypeVar("Model", bound=ApiModel)

# How `wait` polls: soon at first (a job often ends within a second), then less and less
# often, at most every few seconds, so that a long job costs the API little.
FIRST_POLL = 0.2
POLL_FACTOR = 2.0
MAX_POLL = 3.0


@dataclass(frozen=True)
class Call:
    """One request: its method, path, query, JSON body and headers."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request``."""
        extra: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.json is not None:
            extra["json"] = self.json
        return extra


def keyed(idempotency_key: str | None) -> dict[str, str]:
    """The ``Idempotency-Key`` header: the caller's key, else a new one for this logical call,
    which the transport's retries then send again unchanged."""
    return {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


def submit(
    job_type: str,
    payload: Any,
    idempotency_key: str | None,
    timing: dict[str, Any] | None = None,
    callback_url: str | None = None,
) -> Call:
    """``POST /jobs``; ``timing``: ``{"delaySeconds": n}`` or ``{"runAt": "<RFC 3339>"}`` (delayed);
    ``callback_url``: POSTed the job's end, signed (a stack with webhooks on)."""
    body = {"type": job_type, "payload": payload} | (timing or {})
    if callback_url is not None:
        body["callbackUrl"] = callback_url
    return Call("POST", "/jobs", json=body, headers=keyed(idempotency_key))


def timing(delay_seconds: int | None, run_at: str | None) -> dict[str, Any] | None:
    """A submit's timing fields, None for a job to run at once."""
    found = {"delaySeconds": delay_seconds, "runAt": run_at}
    return {key: value for key, value in found.items() if value is not None} or None


def rerun(jobs_path: str, job_id: str, idempotency_key: str | None) -> Call:
    return Call("POST", f"{jobs_path}/{_segment(job_id)}/rerun", headers=keyed(idempotency_key))


def get(jobs_path: str, job_id: str) -> Call:
    return Call("GET", f"{jobs_path}/{_segment(job_id)}")


def history(jobs_path: str, job_id: str) -> Call:
    return Call("GET", f"{jobs_path}/{_segment(job_id)}/history")


def cancel(jobs_path: str, job_id: str) -> Call:
    return Call("DELETE", f"{jobs_path}/{_segment(job_id)}")


def page(
    jobs_path: str,
    status: JobStatus | str | None,
    limit: int,
    next_token: str | None,
    owner: str | None,
) -> Call:
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = str(status).upper()
    if next_token:
        params["nextToken"] = next_token
    if owner:
        params["owner"] = owner
    return Call("GET", jobs_path, params=params)


def job_types() -> Call:
    return Call("GET", "/job-types")


def answer(response: httpx.Response) -> Any:
    """The answer's JSON body, or the typed exception of a refusal."""
    if response.status_code >= 400:
        raise error_for(response)
    try:
        return response.json()
    except ValueError:
        raise CloudQueueError(
            f"the API answered {response.status_code} with a body that is not JSON: {response.text[:300]}",
            status=response.status_code,
            code="unexpected_response",
            response=response,
        ) from None


def read(model: type[Model], body: Any) -> Model:
    """``body`` as ``model``; an answer of another shape is a :class:`CloudQueueError`."""
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as error:
        raise CloudQueueError(
            f"the API's answer is not a {model.__name__}: {error}", code="unexpected_response"
        ) from None


def poll_delays() -> Iterator[float]:
    """The pauses between polls of ``wait``: 0.2 s, doubling, at most 3 s."""
    delay = FIRST_POLL
    while True:
        yield delay
        delay = min(delay * POLL_FACTOR, MAX_POLL)


def _segment(job_id: str) -> str:
    # A job id is one path segment: quote anything that would change the path.
    return quote(job_id, safe="")
