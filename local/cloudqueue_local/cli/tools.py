"""``cloudqueue bench | cost``: the benchmarks (``bench.runner``) and the bill (``ops.cost``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import AsJson, Params, numbers, options_on, parameter_overrides
from cloudqueue_local.project import project_root


def bench(
    scenario: Annotated[
        str,
        typer.Option(
            help="Scenarios, comma separated: backlog, latency, burst, mixed, imports, history, "
            "poison, delayed (default: all but history, poison and delayed)."
        ),
    ] = "backlog,latency,burst,mixed,imports",
    backlogs: Annotated[
        str, typer.Option(help="Backlog sizes for the throughput runs, comma separated.")
    ] = "1000",
    latency_jobs: Annotated[int, typer.Option(min=1, help="Jobs for the idle latency run.")] = 100,
    submits: Annotated[int, typer.Option(min=1, help="Requests for the POST /jobs burst.")] = 1000,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients (burst and mixed).")] = 32,
    jobs: Annotated[int, typer.Option(min=1, help="Jobs in the mixed scenario.")] = 2000,
    duplicates: Annotated[
        int, typer.Option(min=0, help="Duplicate messages injected in the mixed scenario.")
    ] = 200,
    deadline: Annotated[
        float, typer.Option(min=1, help="Seconds the mixed scenario may take to submit and end its jobs.")
    ] = 1800,
    kill_every: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Mixed scenario: kill (SIGKILL) one claim, process or finalize environment, at random, "
            "every this many seconds, as sandboxes die on Lambda.",
        ),
    ] = None,
    history_executions: Annotated[
        int, typer.Option(min=1, help="Executions in the history scenario's log group.")
    ] = 100_000,
    pollers: Annotated[int, typer.Option(min=1, max=64, help="Pipe pollers.")] = 4,
    faults: Annotated[
        str | None,
        typer.Option(help="Inject faults, e.g. lambda=0.05,dynamodb=0.02,sqs=0.02,crash=0.02 (as `dev`)."),
    ] = None,
    worker_cpus: Annotated[
        str | None, typer.Option(help="CPUs the function environments may use, e.g. 0 or 0,1.")
    ] = None,
    param: Params = None,
    python: Annotated[
        str | None,
        typer.Option(
            help="Interpreter for the imports scenario (default: this one), e.g. a python3.12 venv with "
            "functions/dependencies/requirements.txt and functions/ on PYTHONPATH."
        ),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the figures to this file.")] = None,
) -> None:
    """Measure this machine; exit 1 if the mixed scenario finds a job lost, run twice or wrong."""
    # Imported here: the benchmarks start stacks, which no other command needs to load.
    from cloudqueue_local.bench import runner as benchmark

    chosen = tuple(name.strip() for name in scenario.split(",") if name.strip())
    unknown = [name for name in chosen if name not in benchmark.SCENARIOS]
    if unknown or not chosen:
        raise typer.BadParameter(
            f"unknown scenario {', '.join(unknown) or scenario!r}; "
            f"choose from {', '.join(benchmark.SCENARIOS)}",
            param_hint="--scenario",
        )
    if python is not None:
        if "imports" not in chosen:
            raise typer.BadParameter("applies to the imports scenario only", param_hint="--python")
        problem = benchmark.interpreter_problem(python)
        if problem is not None:
            raise typer.BadParameter(problem, param_hint="--python")
    sizes = numbers(backlogs, "--backlogs")
    cpus = frozenset(numbers(worker_cpus, "--worker-cpus")) if worker_cpus is not None else None
    report = benchmark.main(
        scenarios=chosen,
        backlogs=sizes,
        latency_jobs=latency_jobs,
        submits=submits,
        clients=clients,
        options=benchmark.BenchOptions(
            pollers=pollers, faults=faults, worker_cpus=cpus, parameter_overrides=parameter_overrides(param)
        ),
        mixed=benchmark.MixedOptions(
            jobs=jobs,
            clients=clients,
            duplicates=duplicates,
            deadline_seconds=deadline,
            kill_every=kill_every,
        ),
        history_executions=history_executions,
        python=python,
        json_path=json_file,
        console=render.out,
    )
    if report.get("mixed", {}).get("failures"):
        raise typer.Exit(1)


def cost(
    jobs_per_month: Annotated[float, typer.Option(min=1, help="Jobs a month.")] = 1_000_000,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="ExecutionLogLevel to price (ALL, ERROR, FATAL, OFF); default: ERROR and ALL side by side."
        ),
    ] = None,
    duration: Annotated[
        list[str] | None,
        typer.Option(
            help="A function's mean duration on AWS, Name=ms (repeatable); "
            "default: bench-results.json, then estimates."
        ),
    ] = None,
    reads_per_job: Annotated[
        float,
        typer.Option(
            min=0,
            help="GET /jobs/{id} requests per job (0: a job's price alone; clients read as they choose).",
        ),
    ] = 0.0,
    payload_chars: Annotated[int, typer.Option(min=1, help="Characters of a job's text payload.")] = 16,
    keyed_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of jobs with a concurrencyKey (their slot writes).")
    ] = 0.0,
    reporting_seconds: Annotated[
        float, typer.Option(min=0, help="Seconds per job its code reports progress and checks cancelled().")
    ] = 0.0,
    submit_batch: Annotated[
        int, typer.Option(min=1, max=100, help="Jobs per submit request (POST /jobs/batch above 1).")
    ] = 1,
    events: Annotated[
        bool, typer.Option("--events", help="Price the stack with JobEvents=on (off by default).")
    ] = False,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks", help="Price the stack with Webhooks=on, every job carrying a callbackUrl."
        ),
    ] = False,
    as_json: AsJson = False,
    as_markdown: Annotated[
        bool,
        typer.Option("--markdown", help="Print docs/cost.md's figures as Markdown."),
    ] = False,
) -> None:
    """The monthly AWS bill of the stack in template.yaml, line by line, at the month's jobs and ten
    times them, and its capacity."""
    # Imported here: the price tables are for this command only.
    from cloudqueue_local.ops import cost as pricing

    levels = ("ALL", "ERROR", "FATAL", "OFF")
    if log_level is not None and log_level.upper() not in levels:
        raise typer.BadParameter(f"{log_level!r} is not one of {', '.join(levels)}", param_hint="--log-level")
    given: dict[str, float] = {}
    for entry in duration or []:
        name, _, value = entry.partition("=")
        try:
            given[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{entry!r} is not Name=milliseconds", param_hint="--duration") from None
    root = project_root()
    try:
        durations = pricing.durations_from(root, given)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--duration") from None
    usage = pricing.Usage(
        jobs_per_month=jobs_per_month,
        reads_per_job=reads_per_job,
        payload_chars=payload_chars,
        submit_batch=submit_batch,
        durations_ms=durations,
        init_ms=pricing.init_from(root),
        keyed_share=keyed_share,
        reporting_seconds=reporting_seconds,
        parameters=options_on(events=events, webhooks=webhooks),
    )
    chosen = (log_level.upper(),) if log_level else ("ERROR", "ALL")
    bills = list(pricing.bills_by_level(root, usage, chosen))
    # Every view shows ten times the month beside it (1 M and 10 M jobs by default).
    tenfold = list(pricing.bills_by_level(root, replace(usage, jobs_per_month=10 * jobs_per_month), chosen))
    if as_json:
        render.print_json(pricing.json_report(bills, tenfold))
        return
    prices = pricing.load_prices(root / "pricing" / "us-east-1.yaml")
    if as_markdown:
        print(pricing.markdown(bills, tenfold, prices), end="")
        return
    pricing.render(bills, tenfold, prices, render.out)
