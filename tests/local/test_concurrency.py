"""Per-key concurrency on the local stack: many demo.sleep jobs on three keys; at no instant do
more than the type's limit (2) of one key run, every job still ends SUCCEEDED with one claim
(a job waiting for a slot uses up no receive and is never dead-lettered), and a job waiting
shows QUEUED with waitingFor."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx

from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_end_to_end import finished, wait_for

LIMIT = 2  # demo.sleep's
KEYS = ("tenant-a", "tenant-b", "tenant-c")


def running_interval(api: httpx.Client, job: dict[str, Any]) -> tuple[datetime, datetime]:
    """When the job's code ran: its ProcessJob step, from the execution history. It starts after
    the claim's slot transaction and ends before finalize releases the slot, so it lies within
    the time the job held its slot (the job's startedAt is the claim's start, before the slot
    was taken, and would overlap the previous holder's finalize)."""
    executions = api.get(f"/jobs/{job['jobId']}/history").json()["executions"]
    (step,) = [
        step for execution in executions for step in execution["steps"] if step["name"] == "ProcessJob"
    ]
    return datetime.fromisoformat(step["enteredAt"]), datetime.fromisoformat(step["exitedAt"])


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
        by_key[job["concurrencyKey"]].append(running_interval(api, job))
    assert {key: most_at_once(intervals) <= LIMIT for key, intervals in by_key.items()} == dict.fromkeys(
        KEYS, True
    )


def test_fifty_jobs_on_three_keys_never_exceed_the_limit_while_workers_are_killed(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a killer that SIGKILLs a running ProcessFunction environment (a worker) every
    # 0.7 s: its step is retried under the same claim, so the job keeps its lease and its slot
    # through its ProcessJob step - the intervals compared below
    stop, kills = threading.Event(), []

    def kill_workers() -> None:
        while not stop.wait(0.7):
            for pid in local_stack.runtime.function("ProcessFunction").environment_pids()[:1]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)

    killer = threading.Thread(target=kill_workers, daemon=True)
    killer.start()
    try:
        # When 50 jobs are submitted on three keys, runs of one key in a row
        jobs = []
        for n in range(50):
            body = {"type": "demo.sleep", "payload": {"seconds": 0.5}, "concurrencyKey": KEYS[n * 3 // 50]}
            answer = api.post("/jobs", json=body)
            assert answer.status_code == 202, answer.text
            jobs.append(answer.json())
        ended = [finished(api, job["jobId"], timeout=240) for job in jobs]
    finally:
        stop.set()
        killer.join()

    # Then workers died, every job ended (a job killed past its retries FAILED, never stuck),
    # and no key ever had more than its limit running
    assert kills
    assert {job["status"] for job in ended} <= {"SUCCEEDED", "FAILED"}
    by_key: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for job in ended:
        by_key[job["concurrencyKey"]].append(running_interval(api, job))
    assert {key: most_at_once(intervals) <= LIMIT for key, intervals in by_key.items()} == dict.fromkeys(
        KEYS, True
    )
