"""``cloudqueue bench``: what this machine does with the local stack, measured in one run.

- end-to-end jobs/s draining a backlog of N queued jobs (1,000 and 10,000 by default): the
  cost per job must not grow with the backlog;
- idle latency of one job, submit → SUCCEEDED, p50 and p99;
- POST /jobs requests/s and p99 with 32 concurrent clients (in another process, so that
  the load generator does not share the stack's interpreter lock);
- each handler's import time as a ratio of ``import boto3`` in a fresh interpreter
  (ratios, because the machine's speed cancels out).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx
from rich.console import Console
from rich.table import Table

HANDLERS = {
    "ApiFunction": "cloudqueue.handlers.api",
    "ClaimFunction": "cloudqueue.handlers.claim",
    "ProcessFunction": "cloudqueue.handlers.process",
    "FinalizeFunction": "cloudqueue.handlers.finalize",
}
IMPORT_TARGETS = {"ApiFunction": 2.0, "ClaimFunction": 1.6, "ProcessFunction": 0.6, "FinalizeFunction": 1.6}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# --- import times ------------------------------------------------------------------------


def import_seconds(module: str, environment: dict[str, str] | None = None, runs: int = 7) -> float:
    """Median wall time of ``import module`` in a fresh interpreter with ``environment`` added."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | (environment or {}),
        )
        samples.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def import_ratios() -> dict[str, tuple[float, float]]:
    """Each handler imported with its function's environment from template.yaml, as on Lambda."""
    from cloudqueue_local.aws_access import local_template

    functions = local_template().functions
    baseline = import_seconds("boto3")
    return {
        name: (import_seconds(module, functions[name].environment) / baseline, baseline)
        for name, module in HANDLERS.items()
    }


# --- the load generator for POST /jobs (runs in its own process) --------------------------


def _submit_load(api_url: str, requests: int, clients: int, results: Any) -> None:
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


def submit_rate(api_url: str, requests: int, clients: int) -> dict[str, float]:
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


class Bench:
    def __init__(self, pollers: int) -> None:
        from cloudqueue_local.stack import LocalStack, StackOptions

        self.stack = LocalStack(StackOptions(port=0, aws_port=None, pollers=pollers, schedules=False))
        self.finished: dict[str, float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Bench:
        self.stack.start()
        for pipe in self.stack.pipes:
            pipe.on_execution = self._record
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.stop(drain_seconds=30)

    def _record(self, execution: Any) -> None:
        records = json.loads(execution.execution_input)
        with self._lock:
            for record in records:
                self.finished[json.loads(record["body"])["jobId"]] = time.perf_counter()

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the benchmark's jobs did not finish in time")
            time.sleep(0.01)

    def backlog_throughput(self, size: int) -> dict[str, float]:
        """Queue ``size`` jobs with the pipe paused, then time how fast it drains them."""
        from cloudqueue import jobs
        from cloudqueue.adapters.dynamodb import DynamoJobStore
        from cloudqueue.models import Job, JobStatus, utc_now

        stack = self.stack
        store = DynamoJobStore(stack.table_name(), shards=int(stack.template.parameters["StatusShards"]))
        sqs = boto3.client("sqs", region_name=stack.region)
        queue_url = stack.queue_url("JobQueue")
        stack.pause()
        ids = []
        fill_started = time.perf_counter()
        for start in range(0, size, 10):
            batch = []
            for _ in range(min(10, size - start)):
                now = utc_now()
                job = Job(
                    job_id=jobs.new_job_id(),
                    type="text.transform",
                    payload={"text": "bench backlog"},
                    status=JobStatus.QUEUED,
                    created_at=now,
                    updated_at=now,
                )
                store.create_job(job)
                ids.append(job.job_id)
                batch.append({"Id": str(len(batch)), "MessageBody": json.dumps({"jobId": job.job_id})})
            sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
        fill_seconds = time.perf_counter() - fill_started
        started = time.perf_counter()
        stack.resume()
        waiting = set(ids)

        def drained() -> bool:
            with self._lock:
                return waiting <= self.finished.keys()

        self.wait_for(drained, timeout=max(120, size))
        seconds = max(self.finished[job_id] for job_id in ids) - started
        return {"jobs": size, "seconds": seconds, "jobs_per_s": size / seconds, "fill_seconds": fill_seconds}

    def idle_latency(self, count: int) -> dict[str, float]:
        """One job at a time through the HTTP API: submit → its execution SUCCEEDED."""
        latencies = []
        with httpx.Client(base_url=self.stack.api_url, timeout=30) as http:
            for index in range(count):
                started = time.perf_counter()
                job_id = http.post(
                    "/jobs", json={"type": "text.transform", "payload": {"text": f"idle {index}"}}
                ).json()["jobId"]
                self.wait_for(lambda job_id=job_id: job_id in self.finished, timeout=30)
                latencies.append(self.finished[job_id] - started)
        return {"p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}


def main(
    *,
    backlogs: list[int],
    latency_jobs: int,
    submits: int,
    clients: int,
    pollers: int,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or Console()
    report: dict[str, Any] = {"backlogs": []}
    console.print(
        f"[bold]cloudqueue bench[/bold]: {multiprocessing.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    console.print("import times (fresh interpreter, median of 7)...")
    report["imports"] = import_ratios()
    with Bench(pollers) as bench:
        for size in backlogs:
            console.print(f"draining a backlog of {size} jobs...")
            report["backlogs"].append(bench.backlog_throughput(size))
        console.print(f"idle latency over {latency_jobs} jobs...")
        report["latency"] = bench.idle_latency(latency_jobs)
        console.print(f"POST /jobs: {submits} requests from {clients} clients (pipe paused)...")
        bench.stack.pause()
        report["submits"] = submit_rate(bench.stack.api_url, submits, clients)
        bench.stack.resume()

    table = Table(title="CloudQueue local stack, this machine")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    first = report["backlogs"][0] if report["backlogs"] else None
    for run in report["backlogs"]:
        table.add_row(
            f"end-to-end, backlog {run['jobs']:,}", f"{run['jobs_per_s']:.0f} jobs/s", "≥ 100 jobs/s"
        )
    if first and len(report["backlogs"]) > 1:
        last = report["backlogs"][-1]
        table.add_row(
            "cost per job, largest / smallest backlog",
            f"{first['jobs_per_s'] / last['jobs_per_s']:.2f}×",
            "≈ 1 (linear)",
        )
    table.add_row(
        "idle latency p50 / p99",
        f"{report['latency']['p50_ms']:.0f} / {report['latency']['p99_ms']:.0f} ms",
        "p50 ≤ 50 ms",
    )
    submits_report = report["submits"]
    for sample in submits_report["error_samples"]:
        console.print(f"[red]POST /jobs error:[/red] {sample}")
    table.add_row(
        f"POST /jobs, {clients} clients",
        f"{submits_report['rps']:.0f} req/s, p99 {submits_report['p99_ms']:.0f} ms, "
        f"{submits_report['errors']} errors",
        "≥ 300 req/s, p99 ≤ 100 ms",
    )
    for name, (ratio, _baseline) in report["imports"].items():
        table.add_row(f"import {name} / import boto3", f"{ratio:.2f}×", f"≤ {IMPORT_TARGETS[name]}×")
    table.add_row(
        "import boto3 (reference)", f"{next(iter(report['imports'].values()))[1] * 1000:.0f} ms", ""
    )
    console.print(table)
    return report
