"""``Client``: the CloudQueue HTTP API, synchronously (``AsyncClient`` is its async twin)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from cloudqueue_client import _calls
from cloudqueue_client.auth import auth_for
from cloudqueue_client.errors import Unreachable, WaitTimeout
from cloudqueue_client.models import Job, JobPage, JobStatus, JobTypeList
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
        callback_url: str | None = None,
    ) -> Job:
        """``POST /jobs``: the job, QUEUED (SCHEDULED with ``delay_seconds`` or ``run_at``, an RFC
        3339 time with an offset); the same job again for a key already used with this body.

        ``callback_url``: where the stack POSTs the job's end, signed the Standard Webhooks way
        (a stack deployed with ``Webhooks=on``; else a 422, :class:`ValidationError`).

        Without ``idempotency_key`` the client makes one for this call, so that its retries
        never make a second job."""
        timing = _calls.timing(delay_seconds, run_at)
        call = _calls.submit(type, payload, idempotency_key, timing, callback_url)
        return _calls.read(Job, self.call(call))

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

        ``on_status`` sees the job at each new status. :class:`WaitTimeout` when it has not
        ended after ``timeout`` seconds; the last pause is cut short so that the last look is
        at the deadline. ``clock`` and ``sleep`` replace the time (in tests)."""
        deadline = clock() + timeout
        seen: JobStatus | None = None
        for delay in _calls.poll_delays():
            job = self.get(job_id)
            if job.status != seen and on_status is not None:
                on_status(job)
            seen = job.status
            if job.status.terminal:
                return job
            left = deadline - clock()
            if left <= 0:
                raise WaitTimeout(f"job {job_id} is still {job.status} after {timeout:.0f}s", job)
            sleep(min(delay, left))
        raise AssertionError("unreachable")  # pragma: no cover - poll_delays never ends

    def cancel(self, job_id: str) -> Job:
        """``DELETE /jobs/{jobId}``: a QUEUED job CANCELLED."""
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
