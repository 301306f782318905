"""A client of the CloudQueue HTTP API, on httpx: the local stack's or a deployed stack's.

One method per route (``POST /jobs``, ``GET /jobs/{id}``, ``GET /jobs``, ``GET
/jobs/{id}/history``, ``DELETE /jobs/{id}``, ``POST /jobs/{id}/rerun``, ``GET /job-types``),
each answering the route's JSON body. With ``admin`` the job routes are their ``/admin/jobs``
twins, which act on every owner's jobs. ``auth`` (``client.auth``) proves who calls.

A refusal (4xx, 5xx) or an API that cannot be reached is an :class:`ApiError` said in one
line, with the exit status the CLI gives it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from cloudqueue_local.client import hints

DEFAULT_API_URL = "http://127.0.0.1:3000"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})

# How often `follow` asks: after 200 ms (a job on AWS takes a few hundred ms end to end), then
# twice as long each time, at most every 3 s. A job of one second costs 4 GETs (7 when this
# started at 50 ms), one of a minute 24 (67): each a billed API request and Lambda invocation.
FIRST_DELAY = 0.2
MAX_DELAY = 3.0
BACKOFF = 2.0


def backoff(first: float, most: float, factor: float) -> Iterator[float]:
    """Waits that grow by ``factor`` from ``first`` up to ``most``, then stay there."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, most)


# The gateway's 401 and 403 ({"message": ...}), and what the user can do about each.
_GATEWAY_REFUSALS = {
    401: "the API wants a valid token (--token or CLOUDQUEUE_TOKEN; `cloudqueue token` makes one locally)",
    403: "the token lacks this route's scope, or the request is not signed (--sigv4) by a caller allowed it",
}


class ApiError(Exception):
    """Said to the user in one line; ``code`` is the exit status (2: nothing to reach, 3: a wait
    ran out, 1: the API refused)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Api:
    """The API at ``base_url``; use it as a context manager to close its connections.

    ``transport`` replaces the network (an ``httpx.MockTransport`` in tests)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30,
        transport: httpx.BaseTransport | None = None,
        *,
        auth: httpx.Auth | None = None,
        admin: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, auth=auth)
        self.jobs_path = "/admin/jobs" if admin else "/jobs"

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its JSON body, or an :class:`ApiError` for a refusal or no answer."""
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            if isinstance(error, httpx.ConnectError):
                raise ApiError(hints.unreachable("the API", self.base_url), 2) from None
            raise ApiError(f"the API at {self.base_url} did not answer ({error})", 2) from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "unexpected_response", "message": response.text[:300]}}
        if response.status_code >= 400:
            problem = body.get("error") if isinstance(body, dict) else None
            if isinstance(problem, dict):
                raise ApiError(f"{response.status_code} {problem.get('code')}: {problem.get('message')}")
            if response.status_code in _GATEWAY_REFUSALS and isinstance(body, dict) and "message" in body:
                # API Gateway's own refusal, before the function ran: say what to do about it.
                raise ApiError(
                    f"{response.status_code} {body['message']}: {_GATEWAY_REFUSALS[response.status_code]}"
                )
            raise ApiError(f"{response.status_code}: {json.dumps(body)[:300]}")
        return body

    def submit(self, job_type: str, payload: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """``POST /jobs``: the job as accepted (QUEUED), or as first accepted under the same key."""
        body = {"type": job_type, "payload": payload}
        result: dict[str, Any] = self.call("POST", "/jobs", json=body, headers=_keyed(idempotency_key))
        return result

    def rerun(self, job_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """``POST /jobs/{id}/rerun``: a FAILED job queued again under the same id."""
        result: dict[str, Any] = self.call(
            "POST", f"{self.jobs_path}/{job_id}/rerun", headers=_keyed(idempotency_key)
        )
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}``."""
        result: dict[str, Any] = self.call("GET", f"{self.jobs_path}/{job_id}")
        return result

    def jobs(
        self,
        status: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """``GET /jobs``: one page, newest first (``jobs``, and ``nextToken`` when there are more).
        ``owner`` (admin only) lists that owner's jobs."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status.upper()
        if next_token:
            params["nextToken"] = next_token
        if owner:
            params["owner"] = owner
        result: dict[str, Any] = self.call("GET", self.jobs_path, params=params)
        return result

    def history(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/history``: every execution of the job, step by step."""
        result: dict[str, Any] = self.call("GET", f"{self.jobs_path}/{job_id}/history")
        return result

    def cancel(self, job_id: str) -> dict[str, Any]:
        """``DELETE /jobs/{id}``: a QUEUED job CANCELLED."""
        result: dict[str, Any] = self.call("DELETE", f"{self.jobs_path}/{job_id}")
        return result

    def job_types(self) -> dict[str, Any]:
        """``GET /job-types``: each type's name, description and example payload."""
        result: dict[str, Any] = self.call("GET", "/job-types")
        return result

    def follow(
        self,
        job_id: str,
        timeout: float,
        on_change: Callable[[dict[str, Any]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll with backoff until the job is finished; ``on_change`` sees it at each new status.

        An :class:`ApiError` (exit status 3) when it is still not finished after ``timeout`` s;
        the last wait is cut short so that the last look is at the deadline, not after it.
        """
        deadline = clock() + timeout
        delays, last = backoff(FIRST_DELAY, MAX_DELAY, BACKOFF), None
        while True:
            job = self.job(job_id)
            if job["status"] != last:
                last = job["status"]
                on_change(job)
            if job["status"] in TERMINAL:
                return job
            left = deadline - clock()
            if left <= 0:
                raise ApiError(f"job {job_id} is still {job['status']} after {timeout:.0f}s", 3)
            sleep(min(next(delays), left))


def _keyed(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key} if idempotency_key else {}
