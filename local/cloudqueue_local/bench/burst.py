"""The burst scenario of ``cloudqueue bench``: POST /jobs requests/s and latency from concurrent
clients, run in a process of their own so that they do not share the stack's interpreter lock.

Each client is the Python client (``cloudqueue_client``), as a user's program submits: every
submit carries the Idempotency-Key it makes. It does not retry, so that every refusal or
silence is counted, not hidden."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from cloudqueue_client import Client, CloudQueueError, Retries
from cloudqueue_local.bench.timing import percentile


def _submit_load(api_url: str, requests: int, clients: int, results: Any) -> None:
    """Send the requests from ``clients`` threads; put the timings and errors on ``results``."""
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    lock = threading.Lock()
    per_client = requests // clients

    def client() -> None:
        nonlocal errors
        with Client(api_url, timeout=30, retries=Retries(attempts=1)) as queue:
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    queue.submit("text.transform", {"text": "bench"})
                    outcome = None
                except CloudQueueError as error:
                    outcome = f"{type(error).__name__}: {error}"[:200]
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if outcome is not None:
                        errors += 1
                        samples.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(
        {
            "seconds": time.perf_counter() - started,
            "latencies": latencies,
            "errors": errors,
            "samples": samples[:5],
        }
    )


def submit_rate(api_url: str, requests: int, clients: int) -> dict[str, Any]:
    """``requests`` POST /jobs from ``clients`` threads in another process: req/s, p50, p99, errors."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(target=_submit_load, args=(api_url, requests, clients, results))
    worker.start()
    outcome = results.get(timeout=600)
    worker.join()
    latencies = outcome["latencies"]
    return {
        "rps": len(latencies) / outcome["seconds"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": outcome["errors"],
        "error_samples": outcome["samples"],
    }


# --- runs against an embedded stack ------------------------------------------------------
