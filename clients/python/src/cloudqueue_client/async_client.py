"""``AsyncClient``: the same methods as ``Client``, awaitable, on ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from cloudqueue_client import _calls
from cloudqueue_client.auth import auth_for
from cloudqueue_client.errors import Unreachable, WaitTimeout
from cloudqueue_client.models import (
    BatchResult,
    BatchResultList,
    Job,
    JobPage,
    JobStatus,
    JobTypeList,
    Schedule,
    ScheduleList,
)
from cloudqueue_client.retries import AsyncRetryTransport, Retries
from cloudqueue_client.version import USER_AGENT


class AsyncClient:
    """The API at ``base_url``; ``async with`` it (or await :meth:`aclose`). The options are
    ``Client``'s."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        sigv4: bool = False,
        *,
        region: str | None = None,
        auth: httpx.Auth | None = None,
        admin: bool = False,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.jobs_path = "/admin/jobs" if admin else "/jobs"
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            auth=auth or auth_for(self.base_url, token=token, sigv4=sigv4, region=region),
            transport=AsyncRetryTransport(transport or httpx.AsyncHTTPTransport(), retries or Retries()),
            headers={"User-Agent": USER_AGENT},
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def call(self, call: _calls.Call) -> Any:
        """Send one request (with retries); its JSON body, or the typed exception."""
        try:
            response = await self.http.request(call.method, call.path, **call.options())
        except httpx.TransportError as error:
            raise Unreachable(f"no answer from the API at {self.base_url}: {error!r}") from error
        return _calls.answer(response)

    async def submit(
        self,
        type: str,
        payload: Any,
        idempotency_key: str | None = None,
        *,
        delay_seconds: int | None = None,
        run_at: str | None = None,
        concurrency_key: str | None = None,
        callback_url: str | None = None,
    ) -> Job:
        """``POST /jobs`` (see ``Client.submit``: retried under one key, never a second job)."""
        call = _calls.submit(
            type,
            payload,
            idempotency_key,
            _calls.options(delay_seconds, run_at, concurrency_key, callback_url),
        )
        return _calls.read(Job, await self.call(call))

    async def batch(self, items: Sequence[Mapping[str, Any]]) -> list[BatchResult]:
        """``POST /jobs/batch`` (see ``Client.batch``: every item keyed, so retries make no second job)."""
        return _calls.read(BatchResultList, await self.call(_calls.batch(items))).results

    async def get(self, job_id: str) -> Job:
        """``GET /jobs/{jobId}``."""
        return _calls.read(Job, await self.call(_calls.get(self.jobs_path, job_id)))

    async def wait(
        self,
        job_id: str,
        timeout: float = 300.0,
        *,
        on_status: Callable[[Job], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Job:
        """Poll until the job ends (see ``Client.wait``); :class:`WaitTimeout` after ``timeout`` s."""
        deadline = clock() + timeout
        seen: tuple[JobStatus, datetime | None] | None = None
        for delay in _calls.poll_delays():
            job = await self.get(job_id)
            now_seen = (job.status, job.progress.at if job.progress else None)
            if now_seen != seen and on_status is not None:
                on_status(job)
            seen = now_seen
            if job.status.terminal:
                return job
            left = deadline - clock()
            if left <= 0:
                raise WaitTimeout(f"job {job_id} is still {job.status} after {timeout:.0f}s", job)
            await sleep(min(delay, left))
        raise AssertionError("unreachable")  # pragma: no cover - poll_delays never ends

    async def cancel(self, job_id: str) -> Job:
        """``DELETE /jobs/{jobId}``: a QUEUED job CANCELLED."""
        return _calls.read(Job, await self.call(_calls.cancel(self.jobs_path, job_id)))

    async def rerun(self, job_id: str, idempotency_key: str | None = None) -> Job:
        """``POST /jobs/{jobId}/rerun``: a FAILED job QUEUED again (keyed like submit)."""
        return _calls.read(Job, await self.call(_calls.rerun(self.jobs_path, job_id, idempotency_key)))

    async def history(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{jobId}/history`` (as JSON)."""
        result: dict[str, Any] = await self.call(_calls.history(self.jobs_path, job_id))
        return result

    async def job_types(self) -> JobTypeList:
        """``GET /job-types``."""
        return _calls.read(JobTypeList, await self.call(_calls.job_types()))

    async def page(
        self,
        status: JobStatus | str | None = None,
        *,
        limit: int = 20,
        next_token: str | None = None,
        owner: str | None = None,
    ) -> JobPage:
        """One page of ``GET /jobs``, newest first (``owner``: admin only)."""
        answer = await self.call(_calls.page(self.jobs_path, status, limit, next_token, owner))
        return _calls.read(JobPage, answer)

    async def list(
        self, status: JobStatus | str | None = None, *, page_size: int = 100, owner: str | None = None
    ) -> AsyncIterator[Job]:
        """Every job, newest first, page after page (``async for``)."""
        next_token: str | None = None
        while True:
            found = await self.page(status, limit=page_size, next_token=next_token, owner=owner)
            for job in found.jobs:
                yield job
            if not found.next_token:
                return
            next_token = found.next_token

    # --- recurring schedules (``/schedules``: the caller's own) -----------------------------

    async def create_schedule(
        self,
        name: str,
        expression: str,
        type: str,
        payload: Any,
        timezone: str | None = None,
        *,
        concurrency_key: str | None = None,
        callback_url: str | None = None,
    ) -> Schedule:
        """``POST /schedules`` (see ``Client.create_schedule``)."""
        call = _calls.create_schedule(
            name,
            expression,
            type,
            payload,
            timezone,
            concurrency_key=concurrency_key,
            callback_url=callback_url,
        )
        return _calls.read(Schedule, await self.call(call))

    async def list_schedules(self) -> builtins.list[Schedule]:
        """``GET /schedules``: your schedules."""
        return _calls.read(ScheduleList, await self.call(_calls.list_schedules())).schedules

    async def get_schedule(self, name: str) -> Schedule:
        """``GET /schedules/{name}``; :class:`NotFound` when you have none by that name."""
        return _calls.read(Schedule, await self.call(_calls.schedule("GET", name)))

    async def delete_schedule(self, name: str) -> None:
        """``DELETE /schedules/{name}`` (the jobs it made stay)."""
        await self.call(_calls.schedule("DELETE", name))

    async def pause_schedule(self, name: str) -> Schedule:
        """``POST /schedules/{name}/pause``: it fires no more until resumed."""
        return _calls.read(Schedule, await self.call(_calls.schedule("POST", name, "pause")))

    async def resume_schedule(self, name: str) -> Schedule:
        """``POST /schedules/{name}/resume``."""
        return _calls.read(Schedule, await self.call(_calls.schedule("POST", name, "resume")))
