"""The bill printed three ways: a terminal table, the Markdown of docs/cost.md, and JSON.

Each shows the month asked for and ten times its jobs (1 M and 10 M by default), each at the
execution log levels asked for (ERROR and ALL side by side by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudqueue_local.ops.cost.bill import Bill, Limit
from cloudqueue_local.ops.cost.prices import Price
from cloudqueue_local.ops.cost.quotas import GOAL_JOBS_PER_SECOND, TARGET_JOBS_PER_SECOND, path_to

if TYPE_CHECKING:
    from rich.console import Console


def json_report(bills: list[Bill], tenfold: list[Bill] | None = None) -> dict[str, Any]:
    """``cloudqueue cost --json``: the one bill, or the first with every bill by its log level;
    with ``tenfold``, the bills of ten times the jobs under ``byJobsPerMonth``, and the path to
    10,000 jobs/s."""
    first = bills[0].to_json()
    if len(bills) > 1:
        first |= {"byLogLevel": {bill.log_level: bill.to_json() for bill in bills}}
    first["capacityPath"] = {
        "jobsPerSecond": TARGET_JOBS_PER_SECOND,
        "raise": path_to(bills[0].capacity),
    }
    if tenfold:
        first["byJobsPerMonth"] = {
            f"{group[0].usage.jobs_per_month:.0f}": {bill.log_level: bill.to_json() for bill in group}
            for group in (bills, tenfold)
        }
    return first


def _volume(bill: Bill) -> str:
    jobs = bill.usage.jobs_per_month
    return f"{jobs / 1e6:g} M" if jobs >= 1e6 else f"{jobs:,.0f}"


def render(bills: list[Bill], tenfold: list[Bill], prices: dict[str, Price], console: Console) -> None:
    """The bills of each month side by side (one column per log level), then the floor, the free
    tier, capacity and the assumptions."""
    from rich.table import Table

    first = bills[0]
    for group in (bills, tenfold):
        jobs = group[0].usage.jobs_per_month
        table = Table(title=f"CloudQueue on AWS, us-east-1: {jobs:,.0f} jobs a month (list prices)")
        for column in ("service", "line", "quantity", "unit"):
            table.add_column(column)
        for bill in group:
            table.add_column(f"USD/month {bill.log_level}", justify="right")
        for index, line in enumerate(group[0].lines):
            item = " / ".join(dict.fromkeys(bill.lines[index].item for bill in group))
            row = [line.service, item, f"{line.quantity:,.2f}", line.unit]
            table.add_row(*row, *(f"{bill.lines[index].usd:,.3f}" for bill in group))
        table.add_section()
        table.add_row("total", "per month", "", "", *(f"{bill.monthly_usd:,.2f}" for bill in group))
        table.add_row(
            "total", "per million jobs", "", "", *(f"{bill.per_million_jobs_usd:,.2f}" for bill in group)
        )
        table.add_row(
            "free tier",
            "always-free allowances take off",
            "",
            "",
            *(f"-{bill.free_usd:,.2f}" for bill in group),
        )
        table.add_row(
            "floor",
            "this design's requests and writes, per million jobs",
            "",
            "",
            *(f"{sum(bill.floor.values()):,.2f}" for bill in group),
        )
        console.print(table)
    console.print(floor_sentence(first).replace("**", ""))
    console.print("Jobs a month each always-free allowance covers on its own:")
    for name, covered in sorted(first.free_tier_jobs.items(), key=lambda item: item[1]):
        console.print(f"  {prices[name].what.split(' (')[0]}: {covered:,.0f}")
    console.print("  HTTP API, Pipes, Express and on-demand DynamoDB requests: none (no always-free tier)")
    capacity = Table(title="Capacity under default quotas and the template's defaults (binding first)")
    for column in ("jobs/s", "limit", f"for {TARGET_JOBS_PER_SECOND:,} jobs/s, raise"):
        capacity.add_column(column)
    for limit in first.capacity:
        capacity.add_row(f"{limit.jobs_per_second:,.0f}", _limit_text(limit), _raise_text(limit))
    console.print(capacity)
    console.print(capacity_sentence(first.capacity).replace("**", ""))
    console.print("Assumptions: " + "; ".join(first.assumptions))


def floor_sentence(bill: Bill) -> str:
    """This design's floor per million jobs, part by part, in one Markdown sentence."""
    parts = "; ".join(f"{part} ${usd:,.2f}" for part, usd in bill.floor.items())
    return (
        f"**This design's floor: ${sum(bill.floor.values()):,.2f} per million jobs**, what every job "
        f"pays in requests and writes alone, before any duration, index write, read, log or metric: {parts}."
    )


def capacity_sentence(limits: list[Limit]) -> str:
    """The binding limit, whether it meets the goal, and the path to the target rate."""
    binding = limits[0]
    met = "meets" if binding.jobs_per_second >= GOAL_JOBS_PER_SECOND else "does not meet"
    fresh = [limit for limit in limits if limit.fresh_account]
    known = "".join(
        f" A fresh account's Lambda concurrency allows about {limit.jobs_per_second:,.0f} jobs/s"
        " until AWS raises it."
        for limit in fresh
    )
    return (
        f"**Binding: {binding.what}, {binding.jobs_per_second:,.0f} jobs/s**, which {met} the goal of "
        f"{GOAL_JOBS_PER_SECOND:,} jobs/s under default quotas.{known} "
        f"To {TARGET_JOBS_PER_SECOND:,} jobs/s, raise: " + "; ".join(path_to(limits)) + "."
    )


def _limit_text(limit: Limit) -> str:
    text = limit.what + (f" ({limit.note})" if limit.note else "")
    return text + (" [fresh account: AWS raises it on request]" if limit.fresh_account else "")


def _raise_text(limit: Limit) -> str:
    if limit.fresh_account:
        return limit.raise_by
    if limit.jobs_per_second >= TARGET_JOBS_PER_SECOND:
        return "enough"
    return f"{limit.raise_by}: {limit.quota:,.0f} -> {limit.needed_for(TARGET_JOBS_PER_SECOND):,.0f}"


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _total(bill: Bill, per_million: bool) -> float:
    return bill.per_million_jobs_usd if per_million else bill.monthly_usd


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(bills: list[Bill], tenfold: list[Bill], prices: dict[str, Price]) -> str:
    """The figures of docs/cost.md#the-bill: the month's bills and those of ten times its jobs, side
    by side as one Markdown table, their totals per month and per million jobs, the floor, the
    free tier, and the capacity table with the path to 10,000 jobs/s."""
    first = bills[0]
    groups = (bills, tenfold)
    header = ["service", "line", "unit"]
    for group in groups:
        header += [
            f"{_volume(group[0])} quantity",
            *(f"{_volume(bill)} {bill.log_level} $" for bill in group),
        ]
    out = [_row(header), _row(["---", "---", "---", *("---:" for _ in header[3:])])]
    for index, line in enumerate(first.lines):
        items = " / ".join(dict.fromkeys(bill.lines[index].item for group in groups for bill in group))
        cells = [line.service, items, line.unit]
        for group in groups:
            quantities = dict.fromkeys(_quantity(bill.lines[index].quantity) for bill in group)
            cells += [" / ".join(quantities), *(f"{bill.lines[index].usd:,.3f}" for bill in group)]
        out.append(_row(cells))
    for label, per_million in (("**per month**", False), ("**per million jobs**", True)):
        cells = ["**total**", label, ""]
        for group in groups:
            cells += ["", *(f"**{_total(bill, per_million):,.2f}**" for bill in group)]
        out.append(_row(cells))
    cells = ["free tier", "always-free allowances take off", ""]
    for group in groups:
        cells += ["", *(f"-{bill.free_usd:,.2f}" for bill in group)]
    out.append(_row(cells))

    def figures(group: list[Bill]) -> str:
        return ", ".join(f"${bill.per_million_jobs_usd:,.2f} at {bill.log_level}" for bill in group)

    out += [
        "",
        f"**Per million jobs: {figures(bills)}** at {first.usage.jobs_per_month:,.0f} jobs a month; "
        f"**{figures(tenfold)}** at {tenfold[0].usage.jobs_per_month:,.0f} a month, where the fixed and "
        "prorated lines (idle polling, metrics, alarms, cold starts) weigh less.",
        "",
        floor_sentence(first),
        "",
        "Jobs a month that each always-free allowance covers on its own: "
        + "; ".join(
            f"{prices[name].what.split(' (')[0]} {covered:,.0f}"
            for name, covered in sorted(first.free_tier_jobs.items(), key=lambda item: item[1])
        )
        + ".",
        "",
        _row(
            [
                "jobs/s",
                "limit (default quotas, template defaults), binding first",
                f"for {TARGET_JOBS_PER_SECOND:,} jobs/s, raise",
            ]
        ),
        _row(["---:", "---", "---"]),
    ]
    for limit in first.capacity:
        out.append(_row([f"{limit.jobs_per_second:,.0f}", _limit_text(limit), _raise_text(limit)]))
    out += ["", capacity_sentence(first.capacity), "", "Assumptions: " + "; ".join(first.assumptions) + "."]
    return "\n".join(out) + "\n"
