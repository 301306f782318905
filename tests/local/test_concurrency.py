"""Per-key concurrency on the local stack: many demo.sleep jobs on three keys; at no instant do
more than the type's limit (2) of one key run, every job still ends SUCCEEDED with one claim
(a job waiting for a slot uses up no receive and is never dead-lettered), and a job waiting
shows QUEUED with waitingFor."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx

from tests.local.test_end_to_end import finished, wait_for

LIMIT = 2  # demo.sleep's
KEYS = ("tenant-a", "tenant-b", "tenant-c")


def most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The largest number of intervals that overlap at one instant (an end before a start)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_no_key_runs_more_than_its_limit_and_waiting_jobs_use_no_receives(api: httpx.Client) -> None:
    jobs: list[dict[str, Any]] = []
    # Six of each key in a row: the stack's four pollers take more of one key than its limit
    for n in range(18):
        body = {"type": "demo.sleep", "payload": {"seconds": 1}, "concurrencyKey": KEYS[n // 6]}
        answer = api.post("/jobs", json=body)
        assert answer.status_code == 202, answer.text
        jobs.append(answer.json())

    def one_waits() -> bool:
        """a job reads QUEUED, waiting for a concurrency slot"""
        return any(
            api.get(f"/jobs/{job['jobId']}").json().get("waitingFor") == "concurrency" for job in jobs[:6]
        )

    wait_for(one_waits, timeout=30, interval=0.05)
    ended = [finished(api, job["jobId"], timeout=120) for job in jobs]

    assert {job["status"] for job in ended} == {"SUCCEEDED"}
    assert {job["attempts"] for job in ended} == {1}  # waiting took no claim, no receive
    by_key: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for job in ended:
        interval = (datetime.fromisoformat(job["startedAt"]), datetime.fromisoformat(job["finishedAt"]))
        by_key[job["concurrencyKey"]].append(interval)
    assert {key: most_at_once(intervals) <= LIMIT for key, intervals in by_key.items()} == dict.fromkeys(
        KEYS, True
    )
