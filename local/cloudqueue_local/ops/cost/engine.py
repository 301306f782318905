"""The bill: its lines, free tier, capacity and this design's floor, for a stack and a month."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from cloudqueue_local.ops.cost import extras, lines, options
from cloudqueue_local.ops.cost.assumptions import (
    DEFAULT_DURATIONS_MS,
    JOB_WRITES,
    WORKFLOW_FUNCTIONS,
    Usage,
    assumption_lines,
)
from cloudqueue_local.ops.cost.bill import Bill, Line
from cloudqueue_local.ops.cost.lines import Month, pipe_requests_per_job, sqs_requests_per_job
from cloudqueue_local.ops.cost.prices import PRICES_FILE, Price, load_prices
from cloudqueue_local.ops.cost.quotas import capacity
from cloudqueue_local.ops.cost.stack import Stack


def design_floor(stack: Stack, prices: dict[str, Price]) -> dict[str, float]:
    """What every job pays under this design in requests and writes alone, per million jobs, at
    list prices, by part: before any duration, index write, read, log, metric or free tier.
    No tuning of the template goes below it; only a change of design does."""
    workflow = [name for name in WORKFLOW_FUNCTIONS if name in stack.template.functions]
    parts = {
        "an HTTP API request (the submit)": prices["apigateway_http_request"].of(1),
        f"{1 + len(workflow)} Lambda requests (API, {', '.join(workflow)})": prices["lambda_request"].of(
            1 + len(workflow)
        ),
        f"{sqs_requests_per_job(stack):g} SQS requests (send, receive, delete)": prices["sqs_request"].of(
            sqs_requests_per_job(stack)
        ),
        "a Pipe request": prices["pipes_request"].of(pipe_requests_per_job(stack)),
        "an Express execution": prices["stepfunctions_express_request"].of(1),
        f"{len(JOB_WRITES)} writes of the job (one unit each)": prices["dynamodb_write_request_unit"].of(
            len(JOB_WRITES)
        ),
    }
    return {part: usd * 1_000_000 for part, usd in parts.items() if usd}


def write_lines(month: Month, log_level: str) -> None:
    """Every line of the month's bill, in the order the bill prints them."""
    lines.api_and_functions(month)
    extras.lambda_init(month)
    lines.messaging(month)
    options.stream_reads(month)
    options.job_events(month)
    options.webhooks(month)
    lines.dynamodb(month)
    extras.table_key(month)
    lines.logs_and_alarms(month, log_level)
    extras.metrics_and_dashboards(month)
    lines.traces(month)
    extras.data_transfer(month)
    lines.page(month)


def compute_bill(stack: Stack, prices: dict[str, Price], usage: Usage) -> Bill:
    """The month's bill for ``usage`` on the stack ``stack`` describes."""
    log_level = usage.log_level or stack.state_machine().log_level
    month = Month(stack, prices, usage, DEFAULT_DURATIONS_MS | usage.durations_ms)
    write_lines(month, log_level)
    free_usd, free_jobs = _free_tier(month.lines, prices, month.jobs)
    return Bill(
        usage=usage,
        log_level=log_level,
        lines=month.lines,
        free_usd=free_usd,
        free_tier_jobs=free_jobs,
        capacity=capacity(stack, usage, month.durations),
        assumptions=assumption_lines(
            {name: ms for name, ms in month.durations.items() if name in stack.template.functions},
            usage,
            webhooks=bool(month.deliveries),
        ),
        floor=design_floor(stack, prices),
    )


def _free_tier(lines: list[Line], prices: dict[str, Price], jobs: float) -> tuple[float, dict[str, float]]:
    """What the always-free allowances take off this bill, and the jobs a month each covers.

    Lines whose service has no always-free allowance (HTTP API, Pipes, Express, on-demand
    DynamoDB requests) are paid from the first job.
    """
    used: dict[str, float] = {}
    fixed: dict[str, float] = {}
    for line in lines:
        used[line.price] = used.get(line.price, 0.0) + line.quantity
        if line.fixed or line.prorated or line.unit == "GB-month":
            fixed[line.price] = fixed.get(line.price, 0.0) + line.quantity
    saved = sum(prices[name].of(min(quantity, prices[name].free)) for name, quantity in used.items())
    covered = {
        name: max(0.0, prices[name].free - fixed.get(name, 0.0)) / ((quantity - fixed.get(name, 0.0)) / jobs)
        for name, quantity in used.items()
        if quantity > fixed.get(name, 0.0) and prices[name].free > 0
    }
    return saved, covered


def bill_for(root: Path, usage: Usage) -> Bill:
    """The bill of the project at ``root``: its template.yaml at ``usage``'s log level, its prices."""
    overrides = usage.parameters | ({"ExecutionLogLevel": usage.log_level} if usage.log_level else {})
    stack = Stack.read(root / "template.yaml", overrides)
    return compute_bill(stack, load_prices(root / PRICES_FILE), usage)


def bills_by_level(root: Path, usage: Usage, levels: tuple[str, ...] = ("ERROR", "ALL")) -> Iterator[Bill]:
    """The project's bill at each execution log level of ``levels``."""
    for level in levels:
        yield bill_for(root, replace(usage, log_level=level))
