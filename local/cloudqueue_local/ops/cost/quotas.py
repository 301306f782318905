"""Capacity: the jobs per second each default quota allows the stack, the tightest first."""

from __future__ import annotations

from cloudqueue_local.ops.cost.assumptions import (
    EXPRESS_START_RATE,
    HTTP_API_ACCOUNT_RATE,
    JOB_WRITES,
    LAMBDA_CONCURRENCY,
    NEW_TABLE_WRITE_UNITS,
    PARTITION_WRITE_UNITS,
    PIPE_CONCURRENCY,
    TASK_OVERHEAD_MS,
    WORKFLOW_FUNCTIONS,
    Usage,
)
from cloudqueue_local.ops.cost.bill import Limit
from cloudqueue_local.ops.cost.stack import Stack


def capacity(stack: Stack, usage: Usage, durations: dict[str, float]) -> list[Limit]:
    """Jobs per second each default quota allows, the tightest first."""
    api_per_job = 1 + usage.reads_per_job
    lambda_seconds = (
        api_per_job * durations["ApiFunction"] + sum(durations[n] for n in WORKFLOW_FUNCTIONS)
    ) / 1000
    execution_seconds = sum(durations[n] + TASK_OVERHEAD_MS for n in WORKFLOW_FUNCTIONS) / 1000
    shards = stack.parameter("ListShards", 4)
    api_rate = stack.parameter("ApiThrottleRate", HTTP_API_ACCOUNT_RATE)
    limits = [
        Limit(
            f"Lambda concurrency {LAMBDA_CONCURRENCY} / {lambda_seconds * 1000:.0f} ms of functions per job",
            LAMBDA_CONCURRENCY / lambda_seconds,
            "the account's Lambda concurrent executions (Service Quotas)",
        ),
        Limit(
            f"Express start rate {EXPRESS_START_RATE}/s",
            EXPRESS_START_RATE,
            "Step Functions StartSyncExecution rate for Express (Service Quotas)",
        ),
        Limit(
            f"Pipe concurrency {PIPE_CONCURRENCY} / {execution_seconds * 1000:.0f} ms per execution",
            PIPE_CONCURRENCY / execution_seconds,
            "the Pipe's concurrency quota, or a second Pipe on the queue",
        ),
        Limit(
            f"listing index: {shards:g} shards x {PARTITION_WRITE_UNITS} WRU/s, 1 write per job",
            shards * PARTITION_WRITE_UNITS,
            "ListShards (the index spreads each day's jobs over that many partition keys)",
        ),
        Limit(
            f"new on-demand table and index: {NEW_TABLE_WRITE_UNITS} WRU/s at once, "
            f"{len(JOB_WRITES)} table writes per job",
            # The table takes every write of a job; the listing index only the submit's.
            NEW_TABLE_WRITE_UNITS / len(JOB_WRITES),
            "the table's and index's WarmThroughput (or let on-demand scale up with use)",
        ),
        Limit(
            f"API throttling ApiThrottleRate {api_rate:g}/s, {api_per_job:g} requests per job",
            min(api_rate, HTTP_API_ACCOUNT_RATE) / api_per_job,
            f"ApiThrottleRate (the account's HTTP API quota is {HTTP_API_ACCOUNT_RATE}/s)",
        ),
    ]
    return sorted(limits, key=lambda limit: limit.jobs_per_second)
