"""The mixed scenario's load generator: the job plan, the clients that submit it (in a process
of their own) and the duplicate messages sent while it drains.

The plan: N jobs (≥ 10 % ``demo.flaky``, ≥ 5 % ``demo.fail``, the rest ``text.transform``;
one in ten with an ``Idempotency-Key``, replayed later by the same client). The duplicates:
``{"jobId": ...}`` messages, as a redelivery would carry, sent to the job queue through the
local AWS endpoint for jobs already accepted: at once (the job still queued), while the job
runs, and after it ended.
"""

from __future__ import annotations

import json
import math
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from cloudqueue_local.bench.aws_view import TERMINAL, AwsView

FLAKY_SHARE = 0.12
FAIL_SHARE = 0.06
KEYED_SHARE = 0.10
DUPLICATE_PHASES = ("queued", "running", "ended")


@dataclass(frozen=True)
class PlannedJob:
    """One job of the plan: its place, its type and payload, and its idempotency key if keyed."""

    index: int
    type: str
    payload: dict[str, Any]
    idempotency_key: str | None = None


def plan_jobs(count: int, *, seed: int = 7) -> list[PlannedJob]:
    """``count`` jobs in a shuffled order: 12 % flaky, 6 % failing, the rest text; 10 % keyed."""
    rng = random.Random(seed)
    flaky = math.ceil(count * FLAKY_SHARE)
    failing = math.ceil(count * FAIL_SHARE)
    kinds = ["demo.flaky"] * flaky + ["demo.fail"] * failing + ["text.transform"] * (count - flaky - failing)
    rng.shuffle(kinds)
    keyed = set(rng.sample(range(count), k=round(count * KEYED_SHARE)))
    planned = []
    for index, kind in enumerate(kinds):
        if kind == "demo.flaky":
            payload: dict[str, Any] = {"failTimes": 1 + index % 2}
        elif kind == "demo.fail":
            payload = {"reason": f"bench job {index} fails on purpose"}
        else:
            payload = {"text": f"Mixed load job {index}: " + " ".join(["lorem ipsum"] * (1 + index % 5))}
        key = f"bench-{seed}-{index}" if index in keyed else None
        planned.append(PlannedJob(index, kind, payload, key))
    return planned


# --- the clients (in their own process, so that they do not share the stack's GIL) --------


def submit_plan(
    api_url: str, plan: list[dict[str, Any]], *, clients: int, stop_at: float, accepted: Any, results: Any
) -> None:
    """Submit the plan from ``clients`` threads; replay each keyed job once its client is done.

    Puts ``(index, jobId)`` on ``accepted`` as soon as a job is accepted, then None; then one
    dict of every request's outcome on ``results``. No request starts after ``stop_at``
    (epoch seconds): the report then says how many were never sent.
    """
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def post(http: httpx.Client, job: dict[str, Any], kind: str) -> str | None:
        headers = {"content-type": "application/json"}
        if job["idempotency_key"]:
            headers["Idempotency-Key"] = job["idempotency_key"]
        body = json.dumps({"type": job["type"], "payload": job["payload"]})
        started = time.time()
        try:
            response = http.post("/jobs", content=body, headers=headers)
            status, text = response.status_code, response.text
        except httpx.HTTPError as error:
            status, text = 0, f"{type(error).__name__}: {error}"
        ended = time.time()
        job_id = None
        if 200 <= status < 300:
            try:
                job_id = response.json().get("jobId")
            except ValueError:
                job_id = None
        with lock:
            outcomes.append(
                {
                    "index": job["index"],
                    "kind": kind,
                    "status": status,
                    "jobId": job_id,
                    "started": started,
                    "seconds": ended - started,
                    "replayed": kind == "replay" and response.headers.get("Idempotent-Replayed") == "true"
                    if status
                    else False,
                    "text": None if 200 <= status < 300 else text[:300],
                }
            )
        return job_id if status == 202 else None

    def client(share: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            keyed = []
            for job in share:
                if time.time() > stop_at:
                    return
                job_id = post(http, job, "submit")
                if job_id is not None:
                    accepted.put((job["index"], job_id))
                if job["idempotency_key"]:
                    keyed.append(job)
            for job in keyed:
                if time.time() > stop_at:
                    return
                post(http, job, "replay")

    started = time.time()
    threads = [threading.Thread(target=client, args=(plan[start::clients],)) for start in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted.put(None)
    results.put({"started": started, "ended": time.time(), "outcomes": outcomes})


# --- duplicates, sent while the load runs ---------------------------------------------------


@dataclass
class Duplicate:
    """One duplicate message: for which job, when it was meant to go, and what became of it."""

    job_id: str
    phase: str  # when it was meant to go: queued (at once), running, ended
    status_at_send: str | None = None  # the job's status when it was sent (JUST_ACCEPTED: not read)
    sent: bool = False
    error: str | None = None


class DuplicateInjector:
    """Sends ``{"jobId": ...}`` to the job queue for chosen accepted jobs, at three moments."""

    def __init__(self, aws: AwsView, chosen: dict[int, str], *, deadline: float) -> None:
        self.aws = aws
        self.chosen = chosen  # plan index → phase
        self.deadline = deadline
        self.duplicates: list[Duplicate] = []
        self._watching: list[Duplicate] = []
        self._accepted_done = False
        self._thread: threading.Thread | None = None

    def start(self, accepted: Any) -> None:
        """Start sending, in a thread, for the ``(index, jobId)`` pairs put on ``accepted``."""
        self._thread = threading.Thread(
            target=self._run, args=(accepted,), name="bench-duplicates", daemon=True
        )
        self._thread.start()

    def join(self) -> None:
        """Wait for the thread, at most until the deadline (and a little after)."""
        if self._thread is not None:
            self._thread.join(max(0.0, self.deadline - time.monotonic()) + 5)

    def _run(self, accepted: Any) -> None:
        while time.monotonic() < self.deadline and (not self._accepted_done or self._watching):
            self._take_accepted(accepted)
            self._watch()
        for duplicate in self._watching:
            duplicate.error = "the job did not reach the moment before the deadline"

    def _take_accepted(self, accepted: Any) -> None:
        while not self._accepted_done:
            try:
                item = accepted.get(timeout=0.05)
            except queue.Empty:
                return
            if item is None:
                self._accepted_done = True
                return
            index, job_id = item
            phase = self.chosen.get(index)
            if phase is None:
                continue
            duplicate = Duplicate(job_id, phase)
            self.duplicates.append(duplicate)
            if phase == "queued":
                self._send(duplicate, "JUST_ACCEPTED")
            else:
                self._watching.append(duplicate)

    def _watch(self) -> None:
        if not self._watching:
            time.sleep(0.05)
            return
        statuses = self.aws.statuses([duplicate.job_id for duplicate in self._watching])
        still = []
        for duplicate in self._watching:
            status = statuses.get(duplicate.job_id)
            due = status in TERMINAL or (duplicate.phase == "running" and status == "IN_PROGRESS")
            if due:
                self._send(duplicate, status)
            else:
                still.append(duplicate)
        self._watching = still
        time.sleep(0.1)  # often enough to catch most jobs running, rarely enough not to load the stack

    def _send(self, duplicate: Duplicate, status: str | None) -> None:
        duplicate.status_at_send = status
        try:
            self.aws.send_job_message(duplicate.job_id)
            duplicate.sent = True
        except Exception as error:  # reported, not raised: the figure says what happened
            duplicate.error = f"{type(error).__name__}: {error}"
