"""The burst scenario of ``cloudqueue bench``: POST /jobs requests/s and latency from concurrent
clients, run in a process of their own so that they do not share the stack's interpreter lock."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from typing import Any

import httpx

from cloudqueue_local.bench.timing import percentile


def _submit_load(api_url: str, requests: int, clients: int, results: Any) -> None:
    """Send the requests from ``clients`` threads; put the timings and errors on ``results``."""
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    lock = threading.Lock()
    body = json.dumps({"type": "text.transform", "payload": {"text": "bench"}})
    per_client = requests // clients

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=api_url, timeout=30, headers={"content-type": "application/json"}) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    response = http.post("/jobs", content=body)
                    outcome = (
                        None
                        if response.status_code == 202
                        else f"{response.status_code} {response.text[:200]}"
                    )
                except httpx.HTTPError as error:
                    outcome = f"{type(error).__name__}: {error}"
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
