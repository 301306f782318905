"""The backlog, latency and burst scenarios of ``cloudqueue bench``, on one stack:

- ``backlog``: end-to-end jobs/s draining a backlog of N queued jobs (several sizes show
  whether the cost per job grows with the backlog);
- ``latency``: idle latency of one job, submit (by the Python client) → SUCCEEDED, p50 and p99;
- ``burst``: POST /jobs requests/s and p99 from concurrent clients, the Pipe paused
  (its load generator is in ``burst``);
- ``poison``: seconds from a message that names no job to ``dlq list`` (in ``poison``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Console

from cloudqueue_client import Client
from cloudqueue_local.bench.aws_view import AwsView
from cloudqueue_local.bench.burst import submit_rate
from cloudqueue_local.bench.delayed import delayed_scenario
from cloudqueue_local.bench.options import BenchOptions
from cloudqueue_local.bench.poison import poison_scenario
from cloudqueue_local.bench.timing import epoch, percentile, wait_until

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


class Bench:
    """The backlog, latency and burst scenarios, on one stack."""

    def __init__(self, options: BenchOptions) -> None:
        self.stack = options.stack()

    def __enter__(self) -> Bench:
        self.stack.start()
        self.aws = AwsView(self.stack)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.stop(drain_seconds=30)

    def wait_for(self, condition: Callable[[], bool], timeout: float, every: float = 0.01) -> None:
        """Wait until ``condition`` holds; TimeoutError after ``timeout`` seconds."""
        if not wait_until(condition, until=time.monotonic() + timeout, every=every):
            raise TimeoutError("the benchmark's jobs did not finish in time")

    def backlog_throughput(self, size: int) -> dict[str, float]:
        """Queue ``size`` jobs with the Pipe paused, then time how fast it drains them.

        The drain ends at the last job's ``finishedAt``, read from the table afterwards.
        """
        from cloudqueue import jobs
        from cloudqueue.adapters.dynamodb import DynamoJobStore
        from cloudqueue.models import Job, JobStatus, utc_now

        stack = self.stack
        store = DynamoJobStore(
            stack.table_name(),
            shards=int(stack.template.parameters["ListShards"]),
            client=self.aws.dynamodb,
        )
        stack.pause()
        ids: list[str] = []
        fill_started = time.perf_counter()
        for start in range(0, size, 10):
            batch: list[SendMessageBatchRequestEntryTypeDef] = []
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
            self.aws.sqs.send_message_batch(QueueUrl=self.aws.queue_url, Entries=batch)
        fill_seconds = time.perf_counter() - fill_started
        started = time.time()
        stack.resume()
        self.wait_for(lambda: self.aws.unfinished(ids) == 0, timeout=max(120, size), every=1.0)
        finished = [epoch(job.get("finishedAt")) or started for job in self.aws.jobs(ids).values()]
        seconds = max(finished) - started
        return {"jobs": size, "seconds": seconds, "jobs_per_s": size / seconds, "fill_seconds": fill_seconds}

    def run(
        self,
        scenarios: tuple[str, ...],
        *,
        backlogs: list[int],
        latency_jobs: int,
        submits: int,
        clients: int,
        console: Console,
    ) -> dict[str, Any]:
        """The figures of those of ``scenarios`` that run on this stack, by report key."""
        report: dict[str, Any] = {}
        if "backlog" in scenarios:
            report["backlogs"] = []
            for size in backlogs:
                console.print(f"draining a backlog of {size} jobs...")
                report["backlogs"].append(self.backlog_throughput(size))
        if "latency" in scenarios:
            console.print(f"idle latency over {latency_jobs} jobs...")
            report["latency"] = self.idle_latency(latency_jobs)
        if "burst" in scenarios:
            console.print(f"POST /jobs: {submits} requests from {clients} clients (pipe paused)...")
            self.stack.pause()
            report["submits"] = submit_rate(self.stack.api_url, submits, clients)
            self.stack.resume()
        if "poison" in scenarios:
            report["poison"] = poison_scenario(self.stack, self.aws, console.print)
        if "delayed" in scenarios:
            report["delayed"] = delayed_scenario(self.stack.api_url, console.print)
        return report

    def idle_latency(self, count: int) -> dict[str, float]:
        """One job at a time through the HTTP API: submit → SUCCEEDED (its ``finishedAt``)."""
        latencies: list[float] = []

        def ended(job_id: str) -> bool:
            return self.aws.unfinished([job_id]) == 0

        with Client(self.stack.api_url, timeout=30) as queue:
            for index in range(count):
                started = time.time()
                job_id = queue.submit("text.transform", {"text": f"idle {index}"}).job_id
                # The figure is finishedAt - submit, so polling less often only spares the stack.
                self.wait_for(partial(ended, job_id), timeout=30, every=0.05)
                finished = epoch(self.aws.jobs([job_id])[job_id].get("finishedAt")) or time.time()
                latencies.append(finished - started)
        return {"p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}
