"""``Client``: the CloudQueue HTTP API, synchronously (``AsyncClient`` is its async twin)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from cloudqueue_client.retries import Retries, RetryTransport
from cloudqueue_client.version import USER_AGENT


class Client:
    """The API at ``base_url``. Use it as a context manager (or call :meth:`close`).

    ``token``: a bearer token (``AuthMode=jwt``); ``sigv4``: sign with AWS credentials
    (``AuthMode=iam``, region from the URL or ``region``); ``auth``: any ``httpx.Auth`` instead.
    ``admin``: the job routes are their ``/admin/jobs`` twins, which act on every owner's jobs
    (the admin scope or IAM policy). ``retries``: how requests are retried
    (``Retries(attempts=1)`` never retries). ``transport`` replaces the network (an
    ``httpx.MockTransport`` in tests).
    """

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.jobs_path = "/admin/jobs" if admin else "/jobs"
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            auth=auth or auth_for(self.base_url, token=token, sigv4=sigv4, region=region),
            transport=RetryTransport(transport or httpx.HTTPTransport(), retries or Retries()),
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def call(self, call: _calls.Call) -> Any:
        """Send one request (with retries); its JSON body, or the typed exception."""
        try:
            response = self.http.request(call.method, call.path, **call.options())
        except httpx.TransportError as error:
            raise Unreachable(f"no answer from the API at {self.base_url}: {error!r}") from error
        return _calls.answer(response)

    def submit(
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
        """``POST /jobs``: the job, QUEUED (SCHEDULED with ``delay_seconds`` or ``run_at``, an RFC
        3339 time with an offset); the same job again for a key already used with this body.

        ``callback_url``: where the stack POSTs the job's end, signed the Standard Webhooks way
        (a stack deployed with ``Webhooks=on``; else a 422, :class:`ValidationError`).

        Without ``idempotency_key`` the client makes one for this call, so that its retries
        never make a second job. ``concurrency_key``: at most the type's limit of jobs with it
        run at once."""
        call = _calls.submit(
            type,
            payload,
            idempotency_key,
            _calls.options(delay_seconds, run_at, concurrency_key, callback_url),
        )
        return _calls.read(Job, self.call(call))

    def batch(self, items: Sequence[Mapping[str, Any]]) -> list[BatchResult]:
        """``POST /jobs/batch``: 1 to 100 items, each ``{"type", "payload"}`` with an optional
        ``idempotencyKey``; one result per item, in order. An item without a key gets one for
        this call, so that its retries never make a second job."""
        return _calls.read(BatchResultList, self.call(_calls.batch(items))).results

    def get(self, job_id: str) -> Job:
        """``GET /jobs/{jobId}``."""
        return _calls.read(Job, self.call(_calls.get(self.jobs_path, job_id)))

    def wait(
        self,
        job_id: str,
        timeout: float = 300.0,
        *,
        on_status: Callable[[Job], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Job:
        """Poll the job (0.2 s apart, doubling up to 3 s) until it ends; the ended job.

        ``on_status`` sees the job at each new status and each new progress report of a running
        job. :class:`WaitTimeout` when it has not
        ended after ``timeout`` seconds; the last pause is cut short so that the last look is
        at the deadline. ``clock`` and ``sleep`` replace the time (in tests)."""
        deadline = clock() + timeout
        seen: tuple[JobStatus, datetime | None] | None = None
        for delay in _calls.poll_delays():
            job = self.get(job_id)
            now_seen = (job.status, job.progress.at if job.progress else None)
            if now_seen != seen and on_status is not None:
                on_status(job)
            seen = now_seen
            if job.status.terminal:
                return job
            left = deadline - clock()
            if left <= 0:
                raise WaitTimeout(f"job {job_id} is still {job.status} after {timeout:.0f}s", job)
            sleep(min(delay, left))
        raise AssertionError("unreachable")  # pragma: no cover - poll_delays never ends

    def cancel(self, job_id: str) -> Job:
        """``DELETE /jobs/{jobId}``: a QUEUED job CANCELLED (200), or a running one marked to
        stop (202: still IN_PROGRESS with ``cancel_requested_at``; it ends CANCELLED)."""
        return _calls.read(Job, self.call(_calls.cancel(self.jobs_path, job_id)))

    def rerun(self, job_id: str, idempotency_key: str | None = None) -> Job:
        """``POST /jobs/{jobId}/rerun``: a FAILED job QUEUED again under the same id (keyed like submit)."""
        return _calls.read(Job, self.call(_calls.rerun(self.jobs_path, job_id, idempotency_key)))

    def history(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{jobId}/history``: every execution of the job, step by step (as JSON)."""
        result: dict[str, Any] = self.call(_calls.history(self.jobs_path, job_id))
        return result

    def job_types(self) -> JobTypeList:
        """``GET /job-types``: each type's name, description, example and payload schema."""
        return _calls.read(JobTypeList, self.call(_calls.job_types()))

    def page(
        self,
        status: JobStatus | str | None = None,
        *,
        limit: int = 20,
        next_token: str | None = None,
        owner: str | None = None,
    ) -> JobPage:
        """One page of ``GET /jobs``, newest first (``owner``: admin only)."""
        answer = self.call(_calls.page(self.jobs_path, status, limit, next_token, owner))
        return _calls.read(JobPage, answer)

    def list(
        self, status: JobStatus | str | None = None, *, page_size: int = 100, owner: str | None = None
    ) -> Iterator[Job]:
        """Every job, newest first, page after page (each page asked for when reached)."""
        next_token: str | None = None
        while True:
            found = self.page(status, limit=page_size, next_token=next_token, owner=owner)
            yield from found.jobs
            if not found.next_token:
                return
            next_token = found.next_token

    # --- recurring schedules (``/schedules``: the caller's own) -----------------------------

    def create_schedule(
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
        """``POST /schedules``: a schedule that submits a ``type`` job with ``payload`` at each
        firing of ``expression`` (``rate(5 minutes)``, ``cron(0 2 * * ? *)``; ``timezone``: an
        IANA zone for cron, UTC if None), each with ``concurrency_key`` and ``callback_url`` as
        :meth:`submit` takes them. :class:`ValidationError` for a bad expression, zone, name,
        job or callback URL; :class:`Conflict` when you have a schedule by that name."""
        call = _calls.create_schedule(
            name,
            expression,
            type,
            payload,
            timezone,
            concurrency_key=concurrency_key,
            callback_url=callback_url,
        )
        return _calls.read(Schedule, self.call(call))

    def list_schedules(self) -> builtins.list[Schedule]:
        """``GET /schedules``: your schedules."""
        return _calls.read(ScheduleList, self.call(_calls.list_schedules())).schedules

    def get_schedule(self, name: str) -> Schedule:
        """``GET /schedules/{name}``; :class:`NotFound` when you have none by that name."""
        return _calls.read(Schedule, self.call(_calls.schedule("GET", name)))

    def delete_schedule(self, name: str) -> None:
        """``DELETE /schedules/{name}`` (the jobs it made stay); :class:`NotFound` when none."""
        self.call(_calls.schedule("DELETE", name))

    def pause_schedule(self, name: str) -> Schedule:
        """``POST /schedules/{name}/pause``: it fires no more until resumed."""
        return _calls.read(Schedule, self.call(_calls.schedule("POST", name, "pause")))

    def resume_schedule(self, name: str) -> Schedule:
        """``POST /schedules/{name}/resume``."""
        return _calls.read(Schedule, self.call(_calls.schedule("POST", name, "resume")))
