"""Capacity: the jobs per second each default quota, and each template default, allows the stack;
the binding one first; and what to raise to reach a target rate.

Default quotas in us-east-1, each read on AWS's documentation (2026-12-06):

- HTTP API: 10,000 requests/s per account and Region across APIs, adjustable
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html); the stage's own
  throttle is the template's ApiThrottleRate.
- Lambda: 1,000 concurrent executions per account and Region, adjustable; a new account may
  start far lower (10), which AWS raises on request or with use
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
- EventBridge Pipes: 1,000 concurrent target invocations per account and Region, adjustable
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html#eb-pipes-limits). An
  SQS source's pollers start at 5 and are assumed to grow by 60 a minute, as Lambda's SQS
  pollers did before 2023 (Lambda now documents up to 300 a minute for its own:
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html; Pipes documents none).
- Step Functions Express: the Pipe calls StartSyncExecution, which does not count against the
  StartExecution rate of Standard workflows; assumed to share Express's start bucket, refilled at
  6,000/s (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). A synchronous
  execution runs while the Pipe waits for it, so its concurrency is the Pipe's.
- DynamoDB: 1,000 write units/s to one partition key value (hard); a new on-demand table and each
  new index take up to 4,000 write units/s at once, more as traffic grows or with WarmThroughput
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html);
  an on-demand table, and each of its indexes, at most 40,000 write units/s by default, adjustable
  (the same page, "throughput default quotas").
"""

from __future__ import annotations

import math

from cloudqueue_local.ops.cost.assumptions import JOB_WRITES, TASK_OVERHEAD_MS, WORKFLOW_FUNCTIONS, Usage
from cloudqueue_local.ops.cost.bill import Limit
from cloudqueue_local.ops.cost.lines import index_writes
from cloudqueue_local.ops.cost.sizes import item_bytes, sample_job_item
from cloudqueue_local.ops.cost.stack import Stack

HTTP_API_ACCOUNT_RATE = 10_000
LAMBDA_CONCURRENCY = 1000
LAMBDA_CONCURRENCY_NEW_ACCOUNT = 10
PIPE_CONCURRENCY = 1000
PIPE_START_POLLERS = 5
PIPE_RAMP_PER_MINUTE = 60
EXPRESS_START_RATE = 6000
PARTITION_WRITE_UNITS = 1000
NEW_TABLE_WRITE_UNITS = 4000
TABLE_WRITE_QUOTA = 40_000
TARGET_JOBS_PER_SECOND = 10_000  # the rate the path names what to raise for
GOAL_JOBS_PER_SECOND = 1000  # what the template's defaults must allow under default quotas


def _listing_index(stack: Stack, usage: Usage) -> tuple[int, float, bool]:
    """(index write units per job, units per job on one status's shards, key moves) of the
    table's index that lists jobs (the one keyed by a shard attribute)."""
    item = sample_job_item(usage.payload_chars)
    size = item_bytes(item) + 60
    for index in stack.table().get("GlobalSecondaryIndexes", []):
        keys = {entry["AttributeName"] for entry in index["KeySchema"]}
        units, entry = index_writes(index, item, size)
        if not units:
            continue
        moves = any(keys & moved for _, moved in JOB_WRITES)
        # A key that moves takes a put and a delete on each status's shards; one that stays
        # takes all the job's index writes on the same shards.
        per_partition = 2 * math.ceil(entry / 1024) if moves else units
        return units, per_partition, moves
    return 0, 0.0, False


def capacity(stack: Stack, usage: Usage, durations: dict[str, float]) -> list[Limit]:
    """Each limit's jobs per second: those of default quotas and template defaults, the binding
    one first, then a fresh account's lower defaults."""
    api_per_job = 1 + usage.reads_per_job
    executions = 1 + usage.failure_rate
    lambda_seconds = (
        api_per_job * durations["ApiFunction"] + executions * sum(durations[n] for n in WORKFLOW_FUNCTIONS)
    ) / 1000
    execution_seconds = executions * sum(durations[n] + TASK_OVERHEAD_MS for n in WORKFLOW_FUNCTIONS) / 1000
    api_rate = stack.parameter("ApiThrottleRate", HTTP_API_ACCOUNT_RATE)
    shards = stack.list_shards()
    shard_name = "ListShards" if "ListShards" in stack.template.parameters else "StatusShards"
    index_units, per_partition, moves = _listing_index(stack, usage)
    item_units = math.ceil((item_bytes(sample_job_item(usage.payload_chars)) + 60) / 1024)
    table_units = len(JOB_WRITES) * item_units
    ramp_concurrency = GOAL_JOBS_PER_SECOND * execution_seconds
    ramp_minutes = max(0.0, (ramp_concurrency - PIPE_START_POLLERS) / PIPE_RAMP_PER_MINUTE)
    limits = [
        Limit(
            f"API throttling: ApiThrottleRate {api_rate:g}/s, {api_per_job:g} requests per job",
            api_rate / api_per_job,
            "ApiThrottleRate (template parameter)",
            api_rate,
            api_per_job,
        ),
        Limit(
            f"HTTP API account quota {HTTP_API_ACCOUNT_RATE:,}/s, {api_per_job:g} requests per job",
            HTTP_API_ACCOUNT_RATE / api_per_job,
            "the account's API Gateway throttle quota (Service Quotas)",
            HTTP_API_ACCOUNT_RATE,
            api_per_job,
        ),
        Limit(
            f"Lambda concurrency {LAMBDA_CONCURRENCY:,} / {lambda_seconds * 1000:.0f} ms of functions a job",
            LAMBDA_CONCURRENCY / lambda_seconds,
            "Lambda concurrent executions (Service Quotas)",
            LAMBDA_CONCURRENCY,
            lambda_seconds,
        ),
        Limit(
            f"Pipe concurrency {PIPE_CONCURRENCY:,} / {execution_seconds * 1000:.0f} ms an execution",
            PIPE_CONCURRENCY / execution_seconds,
            "EventBridge Pipes concurrency (Service Quotas), or a second Pipe on the queue",
            PIPE_CONCURRENCY,
            execution_seconds,
            note=f"from {PIPE_START_POLLERS} pollers, +{PIPE_RAMP_PER_MINUTE} a minute: "
            f"{GOAL_JOBS_PER_SECOND:,} jobs/s ({ramp_concurrency:.0f} at once) after {ramp_minutes:.1f} min",
        ),
        Limit(
            f"Express StartSyncExecution {EXPRESS_START_RATE:,}/s, {executions:g} executions per job",
            EXPRESS_START_RATE / executions,
            "Step Functions Express start rate (Service Quotas)",
            EXPRESS_START_RATE,
            executions,
        ),
        Limit(
            f"new on-demand table: {NEW_TABLE_WRITE_UNITS:,} WRU/s at once, {table_units} per job",
            NEW_TABLE_WRITE_UNITS / table_units,
            "the table's WarmThroughput WriteUnitsPerSecond (or let on-demand grow with use)",
            NEW_TABLE_WRITE_UNITS,
            table_units,
        ),
        Limit(
            f"DynamoDB table quota: {TABLE_WRITE_QUOTA:,} WRU/s, {table_units} per job",
            TABLE_WRITE_QUOTA / table_units,
            "DynamoDB's per-table write throughput quota (Service Quotas)",
            TABLE_WRITE_QUOTA,
            table_units,
        ),
    ]
    if index_units:
        limits += [
            Limit(
                f"DynamoDB index quota: {TABLE_WRITE_QUOTA:,} WRU/s, {index_units} per job",
                TABLE_WRITE_QUOTA / index_units,
                "DynamoDB's per-table write throughput quota, which each index has too (Service Quotas)",
                TABLE_WRITE_QUOTA,
                index_units,
            ),
            Limit(
                f"new on-demand index: {NEW_TABLE_WRITE_UNITS:,} WRU/s at once, {index_units} per job",
                NEW_TABLE_WRITE_UNITS / index_units,
                "the index's WarmThroughput WriteUnitsPerSecond (or let on-demand grow with use)",
                NEW_TABLE_WRITE_UNITS,
                index_units,
            ),
            Limit(
                f"listing index partitions: {shards:g} {shard_name} x {PARTITION_WRITE_UNITS:,} WRU/s, "
                f"{per_partition:g} per job on one key's shards" + (" (its key moves)" if moves else ""),
                shards * PARTITION_WRITE_UNITS / per_partition,
                f"{shard_name} (template parameter)",
                shards,
                per_partition / PARTITION_WRITE_UNITS,
            ),
        ]
    limits.sort(key=lambda limit: limit.jobs_per_second)
    fresh = Limit(
        f"a fresh account's Lambda concurrency {LAMBDA_CONCURRENCY_NEW_ACCOUNT} / "
        f"{lambda_seconds * 1000:.0f} ms per job",
        LAMBDA_CONCURRENCY_NEW_ACCOUNT / lambda_seconds,
        "ask AWS for the default 1,000 (Service Quotas); it also grows with use",
        LAMBDA_CONCURRENCY_NEW_ACCOUNT,
        lambda_seconds,
        fresh_account=True,
    )
    return [*limits, fresh]


def path_to(limits: list[Limit], jobs_per_second: float = TARGET_JOBS_PER_SECOND) -> list[str]:
    """What to raise, and to what, for ``jobs_per_second``: one sentence per limit below it."""
    steps = []
    for limit in limits:
        if limit.fresh_account or limit.jobs_per_second >= jobs_per_second:
            continue
        needed = limit.needed_for(jobs_per_second)
        steps.append(f"{limit.raise_by}: {limit.quota:,.0f} -> {math.ceil(needed):,}")
    return steps
