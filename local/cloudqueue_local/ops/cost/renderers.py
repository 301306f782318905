"""The bill printed three ways: a terminal table, the Markdown of docs/cost.md, and JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudqueue_local.ops.cost.bill import Bill
from cloudqueue_local.ops.cost.prices import Price

if TYPE_CHECKING:
    from rich.console import Console


def json_report(bills: list[Bill]) -> dict[str, Any]:
    """``cloudqueue cost --json``: the one bill, or the first with every bill by its log level."""
    first = bills[0].to_json()
    if len(bills) == 1:
        return first
    return first | {"byLogLevel": {bill.log_level: bill.to_json() for bill in bills}}


def render(bills: list[Bill], prices: dict[str, Price], console: Console) -> None:
    """The bills side by side (one column per log level), then free tier, capacity, assumptions."""
    from rich.table import Table

    first = bills[0]
    jobs = first.usage.jobs_per_month
    table = Table(title=f"CloudQueue on AWS, us-east-1: {jobs:,.0f} jobs a month (list prices)")
    for column in ("service", "line", "quantity", "unit"):
        table.add_column(column)
    for bill in bills:
        table.add_column(f"USD/month {bill.log_level}", justify="right")
    for index, line in enumerate(first.lines):
        row = [line.service, line.item, f"{line.quantity:,.2f}", line.unit]
        row += [f"{bill.lines[index].usd:,.3f}" for bill in bills]
        if first.lines[index].item != bills[-1].lines[index].item:
            row[1] = " / ".join(dict.fromkeys(bill.lines[index].item for bill in bills))
        table.add_row(*row)
    table.add_section()
    table.add_row("total", "per month", "", "", *(f"{bill.monthly_usd:,.2f}" for bill in bills))
    table.add_row(
        "total", "per million jobs", "", "", *(f"{bill.per_million_jobs_usd:,.2f}" for bill in bills)
    )
    table.add_row(
        "free tier", "always-free allowances take off", "", "", *(f"-{bill.free_usd:,.2f}" for bill in bills)
    )
    table.add_row(
        "floor",
        "this design's requests and writes, per million jobs",
        "",
        "",
        *(f"{sum(bill.floor.values()):,.2f}" for bill in bills),
    )
    console.print(table)
    console.print(floor_sentence(first).replace("**", ""))
    console.print("Jobs a month each always-free allowance covers on its own:")
    for name, covered in sorted(first.free_tier_jobs.items(), key=lambda item: item[1]):
        console.print(f"  {prices[name].what.split(' (')[0]}: {covered:,.0f}")
    console.print("  HTTP API, Pipes, Express and on-demand DynamoDB requests: none (no always-free tier)")
    capacity = Table(title="Capacity under default quotas (tightest first)")
    for column in ("jobs/s", "quota", "to go 10x further, raise"):
        capacity.add_column(column)
    bound = first.capacity[0].jobs_per_second
    for limit in first.capacity:
        raise_by = limit.raise_by if limit.jobs_per_second < 10 * bound else "(enough)"
        capacity.add_row(f"{limit.jobs_per_second:,.0f}", limit.what, raise_by)
    console.print(capacity)
    console.print("Assumptions: " + "; ".join(first.assumptions))


def floor_sentence(bill: Bill) -> str:
    """This design's floor per million jobs, part by part, in one Markdown sentence."""
    parts = "; ".join(f"{part} ${usd:,.2f}" for part, usd in bill.floor.items())
    return (
        f"**This design's floor: ${sum(bill.floor.values()):,.2f} per million jobs**, what every job "
        f"pays in requests and writes alone, before any duration, index write, read, log or metric: {parts}."
    )


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(bills: list[Bill], tenfold: list[Bill], prices: dict[str, Price]) -> str:
    """The figures of docs/cost.md#the-bill: the bills side by side as a Markdown table, what they come to
    per million jobs here and at ten times the volume (``tenfold``), the free tier, capacity."""
    first = bills[0]
    levels = [bill.log_level for bill in bills]
    out = [
        _row(["service", "line", "quantity", "unit", *(f"{level} $/month" for level in levels)]),
        _row(["---", "---", "---:", "---", *("---:" for _ in levels)]),
    ]
    for index, line in enumerate(first.lines):
        items = dict.fromkeys(bill.lines[index].item for bill in bills)
        quantities = dict.fromkeys(_quantity(bill.lines[index].quantity) for bill in bills)
        out.append(
            _row(
                [line.service, " / ".join(items), " / ".join(quantities), line.unit]
                + [f"{bill.lines[index].usd:,.3f}" for bill in bills]
            )
        )
    monthly = [f"**{bill.monthly_usd:,.2f}**" for bill in bills]
    per_million = [f"**{bill.per_million_jobs_usd:,.2f}**" for bill in bills]
    if monthly == per_million:
        out.append(_row(["**total**", "**per month = per million jobs**", "", "", *monthly]))
    else:
        out.append(_row(["**total**", "**per month**", "", "", *monthly]))
        out.append(_row(["**total**", "**per million jobs**", "", "", *per_million]))
    free = [f"-{bill.free_usd:,.2f}" for bill in bills]
    out.append(_row(["free tier", "always-free allowances take off", "", "", *free]))

    def figures(group: list[Bill]) -> str:
        return ", ".join(f"${bill.per_million_jobs_usd:,.2f} at {bill.log_level}" for bill in group)

    out += [
        "",
        f"**Per million jobs: {figures(bills)}** at {first.usage.jobs_per_month:,.0f} jobs a month; "
        f"{figures(tenfold)} at {tenfold[0].usage.jobs_per_month:,.0f} a month, where the fixed lines "
        "(idle polling, metrics, alarms) weigh less.",
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
        _row(["jobs/s", "what binds first under default quotas", "to go ten times further, raise"]),
        _row(["---:", "---", "---"]),
    ]
    bound = first.capacity[0].jobs_per_second
    for limit in first.capacity:
        raise_by = limit.raise_by if limit.jobs_per_second < 10 * bound else "enough"
        out.append(_row([f"{limit.jobs_per_second:,.0f}", limit.what, raise_by]))
    out += ["", "Assumptions: " + "; ".join(first.assumptions) + "."]
    return "\n".join(out) + "\n"
