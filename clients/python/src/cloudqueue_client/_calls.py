"""What each method sends and how it reads the answer, shared by ``Client`` and ``AsyncClient``
(which differ only in how they send and sleep). A new route is one function here and one
method on each client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
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
# The request extension that marks a request safe to repeat (``retries.safe_to_repeat``).
REPEATABLE = "cloudqueue.repeatable"
# What one POST /jobs/batch takes at most.
MAX_BATCH = 100


@dataclass(frozen=True)
class Call:
    """One request: its method, path, query, JSON body and headers."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Safe to send again though it carries no Idempotency-Key header (a batch whose every
    # item has its own key).
    repeatable: bool = False

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request``."""
        extra: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.json is not None:
            extra["json"] = self.json
        if self.repeatable:
            extra["extensions"] = {REPEATABLE: True}
        return extra


def keyed(idempotency_key: str | None) -> dict[str, str]:
    """The ``Idempotency-Key`` header: the caller's key, else a new one for this logical call,
    which the transport's retries then send again unchanged."""
    return {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


def submit(
    job_type: str, payload: Any, idempotency_key: str | None, options: dict[str, Any] | None = None
) -> Call:
    """``POST /jobs``; ``options``: the submit's optional fields (see ``options``)."""
    body = {"type": job_type, "payload": payload} | (options or {})
    return Call("POST", "/jobs", json=body, headers=keyed(idempotency_key))


def options(
    delay_seconds: int | None = None,
    run_at: str | None = None,
    concurrency_key: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any] | None:
    """A submit's optional fields as the API names them (``delaySeconds`` or ``runAt``: delayed;
    ``concurrencyKey``; ``callbackUrl``: POSTed the job's end, signed, on a stack with webhooks
    on), None when none is given."""
    found = {
        "delaySeconds": delay_seconds,
        "runAt": run_at,
        "concurrencyKey": concurrency_key,
        "callbackUrl": callback_url,
    }
    return {key: value for key, value in found.items() if value is not None} or None


def batch(items: Sequence[Mapping[str, Any]]) -> Call:
    """``POST /jobs/batch``: each item a submit's body (``type``, ``payload``, optional
    ``idempotencyKey``); an item without a key gets a new one, so that the request can be sent
    again and every item is answered as first accepted, never made twice."""
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} jobs, not {len(items)}")
    keyed_items = [
        dict(item) | {"idempotencyKey": item.get("idempotencyKey") or str(uuid.uuid4())} for item in items
    ]
    return Call("POST", "/jobs/batch", json={"jobs": keyed_items}, repeatable=True)


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


def create_schedule(
    name: str,
    expression: str,
    job_type: str,
    payload: Any,
    timezone: str | None,
    *,
    concurrency_key: str | None = None,
    callback_url: str | None = None,
) -> Call:
    """``POST /schedules`` (no timezone: the API's default, UTC)."""
    job: dict[str, Any] = {"type": job_type, "payload": payload}
    if concurrency_key is not None:
        job["concurrencyKey"] = concurrency_key
    if callback_url is not None:
        job["callbackUrl"] = callback_url
    body: dict[str, Any] = {"name": name, "expression": expression, "job": job}
    if timezone is not None:
        body["timezone"] = timezone
    return Call("POST", "/schedules", json=body)


def list_schedules() -> Call:
    return Call("GET", "/schedules")


def schedule(method: str, name: str, action: str | None = None) -> Call:
    """``method`` on ``/schedules/{name}`` (``GET``, ``DELETE``), or ``POST`` on its ``action``
    (``pause``, ``resume``)."""
    return Call(method, f"/schedules/{_segment(name)}" + (f"/{action}" if action else ""))


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


def _segment(value: str) -> str:
    # A job id or a schedule's name is one path segment: quote anything that would change the path.
    return quote(value, safe="")
