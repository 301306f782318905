"""The CLI's client of the CloudQueue HTTP API: the Python client (``cloudqueue_client``), its
answers as the API's JSON for ``render``, and its errors said in one line.

One method per route (``POST /jobs``, ``POST /jobs/batch``, ``GET /jobs/{id}``, ``GET /jobs``, ``GET
/jobs/{id}/history``, ``DELETE /jobs/{id}``, ``POST /jobs/{id}/rerun``, ``GET /job-types``, and
the ``/schedules`` routes), each answering the route's JSON body. The client retries what is
safe to retry, and a submit or rerun without ``--idempotency-key`` carries a key the client
makes, so a retry never makes a second job. With ``admin`` the job routes are their
``/admin/jobs`` twins, which act on every owner's jobs; ``auth`` (``client.auth``) proves who
calls.

A refusal (4xx, 5xx) or an API that cannot be reached is an :class:`ApiError` said in one
line, with the exit status the CLI gives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx

from cloudqueue_client import Client, CloudQueueError, Unreachable, WaitTimeout
from cloudqueue_local.client import hints

DEFAULT_API_URL = "http://127.0.0.1:3000"

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
        self.client = Client(self.base_url, timeout=timeout, transport=transport, auth=auth, admin=admin)

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.client.close()

    @contextmanager
    def said(self) -> Iterator[None]:
        """The client's errors as :class:`ApiError`: one line, with its exit status."""
        try:
            yield
        except Unreachable as error:
            if isinstance(error.__cause__, httpx.ConnectError):
                raise ApiError(hints.unreachable("the API", self.base_url), 2) from None
            raise ApiError(f"the API at {self.base_url} did not answer ({error.__cause__})", 2) from None
        except WaitTimeout as error:
            raise ApiError(str(error), 3) from None
        except CloudQueueError as error:
            if error.code is None and error.status in _GATEWAY_REFUSALS:
                # API Gateway's own refusal, before the function ran: say what to do about it.
                raise ApiError(f"{error}: {_GATEWAY_REFUSALS[error.status]}") from None
            raise ApiError(str(error)) from None

    def submit(
        self,
        job_type: str,
        payload: Any,
        idempotency_key: str | None = None,
        concurrency_key: str | None = None,
        callback_url: str | None = None,
        **timing: Any,
    ) -> dict[str, Any]:
        """``POST /jobs``: the job as accepted (QUEUED; SCHEDULED with ``delaySeconds`` or
        ``runAt`` in ``timing``), or as first accepted under the same key; ``callback_url``:
        POSTed its end (a stack with webhooks on)."""
        with self.said():
            job = self.client.submit(
                job_type,
                payload,
                idempotency_key,
                concurrency_key=concurrency_key,
                delay_seconds=timing.get("delaySeconds"),
                run_at=timing.get("runAt"),
                callback_url=callback_url,
            )
            return job.to_json()

    def submit_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``POST /jobs/batch``: up to 100 items (each ``{type, payload, idempotencyKey?}``); one
        result per item, in order: ``{jobId, status}`` (201 new, 200 replayed) or ``{error}``."""
        with self.said():
            return [result.to_json() for result in self.client.batch(items)]

    def rerun(self, job_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """``POST /jobs/{id}/rerun``: a FAILED job queued again under the same id."""
        with self.said():
            return self.client.rerun(job_id, idempotency_key).to_json()

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}``."""
        with self.said():
            return self.client.get(job_id).to_json()

    def jobs(
        self,
        status: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """``GET /jobs``: one page, newest first (``jobs``, and ``nextToken`` when there are more).
        ``owner`` (admin only) lists that owner's jobs."""
        with self.said():
            return self.client.page(status, limit=limit, next_token=next_token, owner=owner).to_json()

    def history(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/history``: every execution of the job, step by step."""
        with self.said():
            return self.client.history(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """``DELETE /jobs/{id}``: a QUEUED job CANCELLED (200), or a running one marked to stop
        (202: it is still IN_PROGRESS with ``cancelRequestedAt``, and ends CANCELLED)."""
        with self.said():
            return self.client.cancel(job_id).to_json()

    def create_schedule(
        self,
        name: str,
        expression: str,
        job_type: str,
        payload: Any,
        timezone: str | None = None,
        *,
        concurrency_key: str | None = None,
        callback_url: str | None = None,
    ) -> dict[str, Any]:
        """``POST /schedules``: the schedule as made."""
        with self.said():
            made = self.client.create_schedule(
                name,
                expression,
                job_type,
                payload,
                timezone,
                concurrency_key=concurrency_key,
                callback_url=callback_url,
            )
            return made.to_json()

    def schedules(self) -> dict[str, Any]:
        """``GET /schedules``: ``{"schedules": [...]}``, the caller's."""
        with self.said():
            return {"schedules": [each.to_json() for each in self.client.list_schedules()]}

    def schedule(self, name: str) -> dict[str, Any]:
        """``GET /schedules/{name}``."""
        with self.said():
            return self.client.get_schedule(name).to_json()

    def delete_schedule(self, name: str) -> None:
        """``DELETE /schedules/{name}``."""
        with self.said():
            self.client.delete_schedule(name)

    def pause_schedule(self, name: str) -> dict[str, Any]:
        """``POST /schedules/{name}/pause``: the schedule, DISABLED."""
        with self.said():
            return self.client.pause_schedule(name).to_json()

    def resume_schedule(self, name: str) -> dict[str, Any]:
        """``POST /schedules/{name}/resume``: the schedule, ENABLED."""
        with self.said():
            return self.client.resume_schedule(name).to_json()

    def job_types(self) -> dict[str, Any]:
        """``GET /job-types``: each type's name, description and example payload."""
        with self.said():
            return self.client.job_types().to_json()

    def follow(
        self,
        job_id: str,
        timeout: float,
        on_change: Callable[[dict[str, Any]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll with backoff (the client's ``wait``: from 200 ms, doubling, at most 3 s apart) until
        the job is finished; ``on_change`` sees it at each new status and progress report.

        An :class:`ApiError` (exit status 3) when it is still not finished after ``timeout`` s;
        the last wait is cut short so that the last look is at the deadline, not after it.
        """
        with self.said():
            job = self.client.wait(
                job_id,
                timeout,
                on_status=lambda seen: on_change(seen.to_json()),
                clock=clock,
                sleep=sleep,
            )
        return job.to_json()
