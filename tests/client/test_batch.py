"""``Client.batch`` / ``AsyncClient.batch``: every item keyed, so a batch whose answer was lost
is sent again and each item answered as first accepted; typed results; the 1-100 bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from cloudqueue_client import AsyncClient, BatchResult, Client, Retries
from tests.client.fake_api import read_timeout

NO_WAIT = Retries(backoff=0)


class KeyedBatchApi:
    """``POST /jobs/batch`` keeping one job per key: a repeated key is a replay (200)."""

    def __init__(self, lose_first: bool = False) -> None:
        self.jobs: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self.lose_first = lose_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        results = []
        for item in body["jobs"]:
            key = item["idempotencyKey"]
            replayed = key in self.jobs
            self.jobs.setdefault(key, f"job-{len(self.jobs)}")
            results.append({"jobId": self.jobs[key], "status": 200 if replayed else 201})
        if self.lose_first and len(self.requests) == 1:
            return read_timeout(request)
        return httpx.Response(200, json={"results": results})


ITEMS = [
    {"type": "text.transform", "payload": {"text": "a"}},
    {"type": "text.transform", "payload": {"text": "b"}, "idempotencyKey": "mine"},
]


def test_a_batch_whose_answer_was_lost_is_sent_again_and_makes_each_job_once() -> None:
    api = KeyedBatchApi(lose_first=True)

    with Client("http://api.test", transport=httpx.MockTransport(api), retries=NO_WAIT) as client:
        results = client.batch(ITEMS)

    assert len(api.requests) == 2 and api.requests[0] == api.requests[1]
    assert api.requests[0]["jobs"][1]["idempotencyKey"] == "mine"
    assert len(api.jobs) == 2
    assert [(result.job_id, result.status, result.accepted) for result in results] == [
        ("job-0", 200, True),
        ("job-1", 200, True),
    ]


def test_an_items_error_is_typed_and_the_async_client_answers_the_same() -> None:
    answer = {
        "results": [{"jobId": "j", "status": 201}, {"error": {"code": "validation_error", "message": "m"}}]
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))

    async def run() -> list[BatchResult]:
        async with AsyncClient("http://api.test", transport=transport) as client:
            return await client.batch(ITEMS)

    results = asyncio.run(run())

    assert results[0].accepted and results[0].status == 201
    assert not results[1].accepted and results[1].error is not None
    assert results[1].error.code == "validation_error"


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_out_of_bounds_is_refused_before_sending(count: int) -> None:
    sent: list[httpx.Request] = []
    with (
        Client("http://api.test", transport=httpx.MockTransport(sent.append)) as client,
        pytest.raises(ValueError),
    ):
        client.batch([ITEMS[0]] * count)
    assert sent == []
