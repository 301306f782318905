"""The figures table ``cloudqueue bench`` prints at the end of a run: one row per figure, with
its target, for whichever scenarios ran."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from cloudqueue_local.bench.imports import BELOW_FLOOR, MET, UNMET
from cloudqueue_local.bench.mixed_report import mixed_rows


def figures_table(report: dict[str, Any], *, clients: int) -> Table:
    """The figures of a run's ``report`` (as ``--json`` writes it) beside their targets."""
    table = Table(title="CloudQueue local stack, this machine")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    backlogs = report.get("backlogs", [])
    for run in backlogs:
        table.add_row(
            f"end-to-end, backlog {run['jobs']:,}", f"{run['jobs_per_s']:.0f} jobs/s", "≥ 60 jobs/s"
        )
    if len(backlogs) > 1:
        table.add_row(
            "cost per job, largest / smallest backlog",
            f"{backlogs[0]['jobs_per_s'] / backlogs[-1]['jobs_per_s']:.2f}×",
            "≈ 1 (linear)",
        )
    if "latency" in report:
        latency = report["latency"]
        table.add_row(
            "idle latency p50 / p99", f"{latency['p50_ms']:.0f} / {latency['p99_ms']:.0f} ms", "p50 ≤ 50 ms"
        )
    if "submits" in report:
        submits = report["submits"]
        for sample in submits["error_samples"]:
            table.add_row("POST /jobs error", sample[:80], "")
        table.add_row(
            f"POST /jobs burst, {clients} clients",
            f"{submits['rps']:.0f} req/s, p99 {submits['p99_ms']:.0f} ms, {submits['errors']} errors",
            "≥ 300 req/s, p99 ≤ 100 ms",
        )
    if "mixed" in report:
        mixed_rows(table, report["mixed"])
        for name, memory in (report["mixed"].get("memory") or {}).items():
            peak = "gone" if memory["peak_mb"] is None else f"{memory['peak_mb']:.0f} MB"
            table.add_row(
                f"peak memory (VmHWM) {name}, {memory['measured']}",
                f"{peak} over {memory['environments']} environment(s)",
                f"MemorySize {memory['memory_size_mb']} MB",
            )
    if "poison" in report:
        poison = report["poison"]
        table.add_row(
            f"poison to `dlq list`, unreadable ({poison['messages']}) p50 / max",
            f"{poison['unreadable_p50_s']:.2f} / {poison['unreadable_max_s']:.2f} s",
            f"seconds (via the dead-letter queue: ≥ {poison['before_s']:.0f} s)",
        )
        table.add_row(
            "poison to `dlq list`, job never written",
            f"{poison['orphan_s']:.1f} s",
            f"the submit grace ({poison['submit_grace_s']:g} s) and its retries",
        )
    delayed_rows(table, report.get("delayed"))
    if "history" in report:
        history = report["history"]
        table.add_row(
            f"history read, log group of {history['executions']:,} executions",
            f"unbounded {history['unbounded_ms']:.0f} ms, bounded {history['bounded_ms']:.0f} ms "
            f"({history['ratio']:.0f}× less)",
            "bounded by the job's own times",
        )
    if "imports" in report:
        _import_rows(table, report["imports"], report["machine"].get("imports_python"))
    for name, cold in report.get("bytecode", {}).items():
        table.add_row(
            f"cold import {name} from its package, no .pyc ÷ built .pyc",
            f"{cold['ratio']:.2f}× ({cold['without_ms']:.0f} / {cold['with_ms']:.0f} ms)",
            "what compiling in the build saves",
        )
    return table


_VERDICT_STYLES = {MET: "{}", UNMET: "[red]{}[/red]", BELOW_FLOOR: "[yellow]{}[/yellow]"}


def _import_rows(table: Table, imports: dict[str, dict[str, Any]], python: str | None) -> None:
    """Each handler's import ratio, floor, own share and verdict, then the boto3 reference."""
    for name, figures in imports.items():
        verdict = _VERDICT_STYLES[figures["verdict"]].format(figures["verdict"])
        table.add_row(
            f"import {name} / import boto3 (floor: its libraries alone)",
            f"{figures['ratio']:.2f}× (floor {figures['floor']:.2f}×, "
            f"CloudQueue's own {figures['own']:+.2f}×)",
            f"≤ {figures['goal']}× ({verdict})",
        )
    baseline = next(iter(imports.values()))["boto3_seconds"]
    table.add_row(
        f"import boto3 (reference{f', Python {python}' if python else ''})", f"{baseline * 1000:.0f} ms", ""
    )


def delayed_rows(table: Table, delayed: dict[str, Any] | None) -> None:
    """The delayed scenario's row: how late after runAt jobs started, and how many early."""
    if delayed is None:
        return
    table.add_row(
        f"delayed job start after runAt, SQS path ({delayed['jobs']} × {delayed['delay_s']} s) p50 / max",
        f"{delayed['late_p50_s']:.2f} / {delayed['late_max_s']:.2f} s, {delayed['early']} early",
        f"promise: within {delayed['promise_s']:g} s, never before",
    )
