"""Retries at the transport: a request that got no answer, or a throttled or failed one, is sent
again after a backoff, when sending it again cannot do the work twice.

Which requests may be repeated:
- any request that never reached the server (the connection failed) or was throttled before
  it ran (429, which API Gateway answers before the function);
- after a 5xx or a timeout (the server may have acted), only a request that is safe to repeat:
  a read (GET, HEAD, OPTIONS), or one that carries an ``Idempotency-Key``, which the API
  answers with the job it made the first time. Submit and rerun always carry one (the client
  makes it), so their retries never make a second job; a cancel is not repeated after a 5xx.

The request is sent again as it was, headers and body included (a SigV4 signature stays valid
for five minutes).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Retries:
    """How many times a request is tried at most, and the backoff between tries: full jitter
    from ``backoff`` seconds, doubling each time, at most ``max_backoff`` (a ``Retry-After``
    the server sends is honoured up to ``max_backoff``)."""

    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 5.0

    def delay(self, retry: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        after = response.headers.get("Retry-After") if response is not None else None
        if after is not None and after.isdigit():
            return min(float(after), self.max_backoff)
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**retry))


def safe_to_repeat(request: httpx.Request) -> bool:
    """A read, or a request the API de-duplicates by its ``Idempotency-Key``."""
    return request.method in _READS or "idempotency-key" in request.headers


def retry_answer(request: httpx.Request, response: httpx.Response) -> bool:
    """Whether this answer calls for another try of ``request``."""
    if response.status_code == 429:
        return True
    return response.status_code in RETRIED_STATUSES and safe_to_repeat(request)


def retry_error(request: httpx.Request, error: httpx.TransportError) -> bool:
    """Whether this failure to get an answer calls for another try of ``request``."""
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return True  # nothing was sent
    return safe_to_repeat(request)


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with :class:`Retries`."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        retries: Retries,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.retries = retries
        self.sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, again after a backoff while the answer or failure calls for it."""
        for retry in range(self.retries.attempts - 1):
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as error:
                if not retry_error(request, error):
                    raise
                self.sleep(self.retries.delay(retry))
                continue
            if not retry_answer(request, response):
                return response
            response.close()
            self.sleep(self.retries.delay(retry, response))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps an async transport with :class:`Retries`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, retries: Retries) -> None:
        self.inner = inner
        self.retries = retries

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, again after a backoff while the answer or failure calls for it."""
        for retry in range(self.retries.attempts - 1):
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError as error:
                if not retry_error(request, error):
                    raise
                await asyncio.sleep(self.retries.delay(retry))
                continue
            if not retry_answer(request, response):
                return response
            await response.aclose()
            await asyncio.sleep(self.retries.delay(retry, response))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
