"""``AsyncClient``: the same methods as ``Client``, awaited; its retries keep one key per submit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from cloudqueue_client import AsyncClient, JobStatus, NotFound, Retries, ServerError, WaitTimeout
from tests.client.fake_api import FakeApi, bad_gateway, job_json, read_timeout

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """The coroutine run to its end in a thread of its own: a test before this one in the same
    worker (Playwright's sync API) may leave an event loop running in this thread, inside which
    asyncio.run refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def async_client_of(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncClient:
    return AsyncClient("http://api.test", transport=httpx.MockTransport(handler), retries=Retries(backoff=0))


@pytest.mark.parametrize("loss", [bad_gateway, read_timeout], ids=["502", "read-timeout"])
def test_a_submit_whose_answer_was_lost_is_retried_under_its_key_and_makes_one_job(
    loss: Callable[[httpx.Request], httpx.Response],
) -> None:
    api = FakeApi(lose=[loss])

    async def submit() -> str:
        async with async_client_of(api) as client:
            return (await client.submit("text.transform", {"text": "once"})).job_id

    job_id = run(submit())

    assert len(api.requests) == 2
    assert api.requests[0].headers["Idempotency-Key"] == api.requests[1].headers["Idempotency-Key"]
    assert list(api.jobs) == [job_id]


def test_get_cancel_and_refusals_are_typed() -> None:
    api = FakeApi()

    async def calls() -> tuple[Any, Any]:
        async with async_client_of(api) as client:
            job = await client.submit("text.transform", {"text": "x"})
            seen = await client.get(job.job_id)
            with pytest.raises(NotFound):
                await client.get("missing")
            return job, seen

    job, seen = run(calls())

    assert seen == job and seen.status is JobStatus.QUEUED


def test_a_5xx_on_cancel_is_raised_without_a_retry() -> None:
    seen: list[httpx.Request] = []

    def fail(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500, json={"error": {"code": "boom", "message": "no"}})

    async def cancel() -> None:
        async with async_client_of(fail) as client:
            await client.cancel("j-1")

    with pytest.raises(ServerError):
        run(cancel())
    assert len(seen) == 1


def test_list_is_an_async_iterator_over_every_page() -> None:
    pages = {None: {"jobs": [job_json("a")], "nextToken": "t1"}, "t1": {"jobs": [job_json("b")]}}

    def page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("nextToken")])

    async def every() -> list[str]:
        async with async_client_of(page) as client:
            return [job.job_id async for job in client.list()]

    assert run(every()) == ["a", "b"]


def test_wait_answers_the_ended_job_or_times_out() -> None:
    statuses = iter(["QUEUED", "FAILED"])

    def poll(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=job_json("j-1", next(statuses, "QUEUED")))

    async def waits() -> JobStatus:
        async with async_client_of(poll) as client:
            ended = await client.wait("j-1", timeout=60)
            with pytest.raises(WaitTimeout):
                await client.wait("j-2", timeout=0)
            return ended.status

    assert run(waits()) is JobStatus.FAILED


def test_an_async_submit_sends_its_callback_url() -> None:
    api = FakeApi()

    async def submit() -> None:
        async with async_client_of(api) as client:
            await client.submit("text.transform", {"text": "hi"}, callback_url="https://hooks.example.com/in")

    run(submit())

    assert json.loads(api.requests[0].content)["callbackUrl"] == "https://hooks.example.com/in"
