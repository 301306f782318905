"""The delayed scenario of ``cloudqueue bench``: how long after its ``runAt`` a delayed job starts
on the SQS path (``DelaySeconds``), which the design promises within 2 s, and that none starts
before it. Jobs are submitted through the HTTP API with ``delaySeconds`` a few seconds apart;
each one's ``startedAt`` (the claim's write) is compared with its ``runAt``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from cloudqueue_local.bench.timing import percentile

PROMISE_S = 2.0


def delayed_scenario(
    api_url: str, log: Callable[[str], object], jobs: int = 10, delay: int = 2
) -> dict[str, Any]:
    """Lateness (startedAt - runAt, seconds) of ``jobs`` jobs delayed ``delay`` s by SQS."""
    log(f"delayed: {jobs} jobs, each delayed {delay} s by SQS DelaySeconds...")
    ids: list[str] = []
    with httpx.Client(base_url=api_url, timeout=30) as http:
        for index in range(jobs):
            answer = http.post(
                "/jobs",
                json={"type": "text.transform", "payload": {"text": f"later {index}"}, "delaySeconds": delay},
            )
            answer.raise_for_status()
            ids.append(answer.json()["jobId"])
            time.sleep(0.1)
        lateness: list[float] = []
        deadline = time.monotonic() + delay + 60
        waiting = list(ids)
        while waiting and time.monotonic() < deadline:
            for job_id in list(waiting):
                job = http.get(f"/jobs/{job_id}").json()
                if job.get("startedAt"):
                    started = datetime.fromisoformat(job["startedAt"])
                    lateness.append((started - datetime.fromisoformat(job["runAt"])).total_seconds())
                    waiting.remove(job_id)
            time.sleep(0.1)
    if waiting:
        raise TimeoutError(f"{len(waiting)} delayed job(s) did not start within {delay + 60} s")
    return {
        "jobs": jobs,
        "delay_s": delay,
        "late_p50_s": percentile(lateness, 0.5),
        "late_max_s": max(lateness),
        "early": sum(1 for seconds in lateness if seconds < 0),
        "promise_s": PROMISE_S,
    }
