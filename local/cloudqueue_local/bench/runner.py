"""``cloudqueue bench``: what this machine does with the local stack, measured in one run.

Scenarios (``--scenario``, comma separated), each in the module named after it:

- ``backlog``: end-to-end jobs/s draining a backlog of N queued jobs (1,000 by default;
  several sizes show whether the cost per job grows with the backlog) (``stack_scenarios``);
- ``latency``: idle latency of one job, submit → SUCCEEDED, p50 and p99 (``stack_scenarios``);
- ``burst``: POST /jobs requests/s and p99 with 32 concurrent clients, the Pipe paused (the
  clients run in another process, so that they do not share the stack's interpreter lock)
  (``burst``, run by ``stack_scenarios``);
- ``mixed``: correctness and responsiveness under load, on a stack of its own; its
  correctness figures decide the exit status (``mixed``: ``mixed_load`` generates the load,
  ``mixed_checks`` judges the jobs, ``mixed_report`` gives the figures);
- ``imports``: each handler's import time as a ratio of ``import boto3`` in a fresh
  interpreter (ratios, because the machine's speed cancels out), beside its floor (the same
  ratio for the libraries it must load, ``IMPORT_FLOORS``) (``imports``), and its cold import
  from a copy of its Lambda package without bytecode ÷ with the bytecode the build compiles
  (``bytecode``); under another interpreter with ``python``;
- ``history``: one job's history read from a log group holding 100,000 executions, with
  and without the read bound (``history``; not run by default);
- ``poison``: seconds from sending a message that names no job to ``cloudqueue dlq list``
  showing it, unreadable and orphan (``poison``, run by ``stack_scenarios``; not run by
  default).

This module runs the chosen scenarios in order and prints the figures table (``report``).
``--json FILE`` writes every figure (shape in docs/benchmarks.md#the-json-file).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from cloudqueue_local.bench.bytecode import package_bytecode_ratios
from cloudqueue_local.bench.imports import (
    import_ratios,
    interpreter_problem,
    interpreter_version,
    judge_imports,
)
from cloudqueue_local.bench.mixed import mixed_scenario
from cloudqueue_local.bench.mixed_report import function_durations
from cloudqueue_local.bench.options import BenchOptions, MixedOptions
from cloudqueue_local.bench.report import figures_table
from cloudqueue_local.bench.stack_scenarios import Bench
from cloudqueue_local.ops.cost import BENCH_DURATIONS_KEY

# What the CLI reads from here: the run, its options, its scenarios, and the ``--python`` check.
__all__ = [
    "DEFAULT_SCENARIOS",
    "SCENARIOS",
    "BenchOptions",
    "MixedOptions",
    "interpreter_problem",
    "main",
]

SCENARIOS = ("backlog", "latency", "burst", "mixed", "imports", "history", "poison", "delayed")
DEFAULT_SCENARIOS = ("backlog", "latency", "burst", "mixed", "imports")


def main(
    *,
    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS,
    backlogs: list[int] | None = None,
    latency_jobs: int = 100,
    submits: int = 1000,
    clients: int = 32,
    options: BenchOptions | None = None,
    mixed: MixedOptions | None = None,
    history_executions: int = 100_000,
    python: str | None = None,
    json_path: Path | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the scenarios; print a table; write the figures to ``json_path``; return them.

    ``python``: the interpreter the imports scenario runs (by default this one)."""
    console = console or Console()
    options = options or BenchOptions()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    cpus = sorted(options.worker_cpus) if options.worker_cpus is not None else None
    machine: dict[str, Any] = {"cpus": multiprocessing.cpu_count(), "python": sys.version.split()[0]}
    imports_under = ""
    if "imports" in scenarios:  # the interpreter the import figures come from
        machine["imports_python"] = machine["python"]
        if python is not None:
            machine["imports_python"] = interpreter_version(python) or "unknown"
            imports_under = f", imports under Python {machine['imports_python']} ({python})"
    report: dict[str, Any] = {
        "machine": machine,
        "options": {
            "scenarios": list(scenarios),
            "pollers": options.pollers,
            "faults": options.faults,
            "worker_cpus": cpus,
            "parameter_overrides": options.parameter_overrides,
        },
    }
    console.print(
        f"[bold]cloudqueue bench[/bold]: {report['machine']['cpus']} CPUs, "
        f"Python {report['machine']['python']}"
        f"{f', faults {options.faults}' if options.faults else ''}"
        f"{f', workers on CPUs {cpus}' if cpus is not None else ''}"
        f"{imports_under}"
    )
    if "imports" in scenarios:
        console.print("import times, handlers and their floors (fresh interpreter, median of 7 rounds)...")
        report["imports"] = judge_imports(import_ratios(python=python))
        console.print("cold imports from the function package, without and with bytecode...")
        report["bytecode"] = package_bytecode_ratios(python=python)
    if {"backlog", "latency", "burst", "poison", "delayed"} & set(scenarios):
        with Bench(options) as bench:
            report |= bench.run(
                scenarios,
                backlogs=[1000] if backlogs is None else backlogs,
                latency_jobs=latency_jobs,
                submits=submits,
                clients=clients,
                console=console,
            )
    if "mixed" in scenarios:
        report["mixed"] = mixed_scenario(options, mixed or MixedOptions(), console.print)
        report[BENCH_DURATIONS_KEY] = function_durations(report["mixed"])
    if "history" in scenarios:
        from cloudqueue_local.bench.history import measure_history_read

        console.print(f"history read: filling a log group with {history_executions:,} executions...")
        report["history"] = measure_history_read(history_executions)

    console.print(figures_table(report, clients=clients))
    if "mixed" in report:
        for failure in report["mixed"]["failures"]:
            console.print(f"[red]mixed load: {failure}[/red]")
        for kind, samples in report["mixed"]["samples"].items():
            for sample in samples:
                console.print(f"  {kind}: {json.dumps(sample)}")
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report
