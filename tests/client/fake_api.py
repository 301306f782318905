"""A small in-memory CloudQueue API behind ``httpx.MockTransport``, for the client's tests:
it keeps jobs and idempotency keys as the real API does, and can be told to fail a request
after acting on it (the answer lost on the way back)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

T0 = "2026-12-06T12:00:00.000Z"


def job_json(job_id: str, status: str = "QUEUED", **fields: Any) -> dict[str, Any]:
    """A job as the API answers it."""
    return {
        "jobId": job_id,
        "type": "text.transform",
        "payload": {"text": "hi"},
        "status": status,
        "attempts": 0,
        "createdAt": T0,
        "updatedAt": T0,
    } | fields


# What a request that the API acted on then "loses" its answer to: a status, or an exception.
Loss = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeApi:
    """``POST /jobs`` with idempotency keys, and ``GET /jobs/{id}``; ``lose`` says, for the
    next requests in order, how each answer is lost after the API acted (None: answered)."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    lose: list[Loss | None] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.act(request)
        loss = self.lose.pop(0) if self.lose else None
        return response if loss is None else loss(request)

    def act(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/jobs":
            key = request.headers.get("Idempotency-Key")
            if key in self.keys:
                return httpx.Response(200, json=self.jobs[self.keys[key]])
            job_id = str(uuid.uuid4())
            body = json.loads(request.content)
            self.jobs[job_id] = job_json(
                job_id, type=body["type"], payload=body["payload"], idempotencyKey=key
            )
            if key:
                self.keys[key] = job_id
            return httpx.Response(202, json=self.jobs[job_id])
        if request.method == "GET" and request.url.path.startswith("/jobs/"):
            found = self.jobs.get(request.url.path.removeprefix("/jobs/"))
            if found is None:
                return httpx.Response(404, json={"error": {"code": "job_not_found", "message": "no job"}})
            return httpx.Response(200, json=found)
        return httpx.Response(404, json={"error": {"code": "route_not_found", "message": "no route"}})


def bad_gateway(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, json={"message": "Internal Server Error"})


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the answer never came", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)
