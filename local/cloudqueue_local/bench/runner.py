"""``cloudqueue bench``: what this machine does with the local stack, measured in one run.

Scenarios (``--scenario``, comma separated):

- ``backlog``: end-to-end jobs/s draining a backlog of N queued jobs (1,000 by default;
  several sizes show whether the cost per job grows with the backlog);
- ``latency``: idle latency of one job, submit → SUCCEEDED, p50 and p99;
- ``burst``: POST /jobs requests/s and p99 with 32 concurrent clients, the Pipe paused (the
  clients run in another process, so that they do not share the stack's interpreter lock);
- ``mixed``: correctness and responsiveness under load (``bench_mixed``), on a stack of its
  own; its correctness figures decide the exit status;
- ``imports``: each handler's import time as a ratio of ``import boto3`` in a fresh
  interpreter (ratios, because the machine's speed cancels out), beside its floor (the same
  ratio for the libraries it must load, ``IMPORT_FLOORS``), and its cold import from a copy
  of its Lambda package without bytecode ÷ with the bytecode the build compiles
  (``bench_bytecode``); under another interpreter with ``python``;
- ``history``: one job's history read from a log group holding 100,000 executions, with
  and without the read bound (``bench_history``; not run by default).

``--json FILE`` writes every figure (shape in docs/benchmarks.md#the-json-file).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from cloudqueue_local.ops.cost import BENCH_DURATIONS_KEY

HANDLERS = {
    "ApiFunction": "cloudqueue.handlers.api",
    "ClaimFunction": "cloudqueue.handlers.claim",
    "ProcessFunction": "cloudqueue.handlers.process",
    "FinalizeFunction": "cloudqueue.handlers.finalize",
}
# Issue 9's cold-start goals: each handler's import ÷ ``import boto3`` at most this.
IMPORT_TARGETS = {"ApiFunction": 1.6, "ClaimFunction": 1.2, "ProcessFunction": 0.5, "FinalizeFunction": 1.2}

# --- each function's floor: its libraries alone ------------------------------------------
# The third-party imports a handler must load, and the module-level work those libraries need,
# with nothing of CloudQueue's own: what its import cannot go below without dropping a library.
# A handler's ratio minus its floor's is what CloudQueue itself adds. No client is created: no
# handler creates one at import. tests/unit/test_cold_start_imports.py checks that each floor
# loads its handler's libraries and no module its handler does not load.
_BOTO3 = "import boto3\nimport boto3.dynamodb.types"
_PYDANTIC = """from pydantic import BaseModel, ConfigDict
class FloorModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
    value: int"""
_LOGGER = "from aws_lambda_powertools import Logger\nLogger()"
_METRICS = "from aws_lambda_powertools import Metrics\nMetrics()"
_HTTP_RESOLVER = """from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig
APIGatewayHttpResolver(enable_validation=True, cors=CORSConfig())"""
_UUID7 = "import uuid_utils"

IMPORT_FLOORS: dict[str, tuple[str, ...]] = {
    # boto3 and its DynamoDB types: the job store (DynamoJobStore; DynamoDB is the only AWS
    # service it calls); pydantic: its request and job models (one model, with defer_build as
    # CloudQueue's have); Powertools Logger and Metrics, constructed at import as it does.
    "ClaimFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS),
    # The same libraries as claim, for the same reasons: the store, the models, Logger, Metrics.
    "FinalizeFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS),
    # pydantic: its one request model (and the job types' payload models); Powertools Logger.
    # No boto3: it calls no AWS. No Metrics: it emits none. (Importing Powertools loads
    # botocore's __init__ alone, to probe for it: in the handler as here.)
    "ProcessFunction": (_PYDANTIC, _LOGGER),
    # boto3 and its DynamoDB types: the store; the SQS, CloudWatch Logs and Step Functions
    # adapters need boto3 alone until their first call. pydantic: the API's models. Powertools
    # Logger, Metrics and the event handler's APIGatewayHttpResolver with validation on (the
    # routes' Body/Header/Path/Query parameters and 422s), which loads its OpenAPI and
    # validation parts. uuid_utils: uuid7 job ids (cloudqueue.jobs).
    "ApiFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS, _HTTP_RESOLVER, _UUID7),
}


def floor_snippet(function: str) -> str:
    """The code of ``function``'s floor, to run in a fresh interpreter."""
    return "\n".join(IMPORT_FLOORS[function])


MET = "met"
UNMET = "unmet"
BELOW_FLOOR = "unmet, goal below the libraries' floor"


def import_verdict(ratio: float, floor: float, goal: float) -> str:
    """Met, unmet, or unmet with the goal below what the required libraries cost on their own
    (then no change to CloudQueue's own code can meet it)."""
    if ratio <= goal:
        return MET
    return BELOW_FLOOR if floor > goal else UNMET


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# --- import times ------------------------------------------------------------------------


def snippet_seconds(
    snippet: str,
    environment: dict[str, str] | None = None,
    *,
    path: Path | None = None,
    flags: tuple[str, ...] = (),
    python: str | None = None,
) -> float:
    """Wall time of ``snippet`` in a fresh interpreter (``python``, by default this one) with
    ``environment`` added, given the interpreter's ``flags`` and ``path`` first on ``sys.path``."""
    code = f"import time\n_started = time.perf_counter()\n{snippet}\nprint(time.perf_counter() - _started)"
    if path is not None:
        code = f"import sys; sys.path.insert(0, {str(path)!r})\n{code}"
    result = subprocess.run(
        [python or sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | (environment or {}),
    )
    return float(result.stdout.strip().splitlines()[-1])


def import_seconds(
    module: str, environment: dict[str, str] | None = None, *, python: str | None = None
) -> float:
    """Wall time of ``import module``, as ``snippet_seconds`` measures it."""
    return snippet_seconds(f"import {module}", environment, python=python)


def import_ratios(runs: int = 7, *, python: str | None = None) -> dict[str, dict[str, float]]:
    """Each handler imported with its function's environment from template.yaml, as on Lambda,
    and its floor (``IMPORT_FLOORS``) with the same environment, each as a ratio of ``import
    boto3``: ``{Function: {"ratio", "floor", "boto3_seconds"}}``, medians.

    Each round times ``import boto3`` and then every handler and its floor, and each ratio is
    taken within its round: on a machine shared with other work the load drifts between rounds
    much more than within one, so the median of per-round ratios is steadier than a ratio of
    medians.
    """
    from cloudqueue_local.client.aws import local_template

    functions = local_template().functions
    baselines: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in HANDLERS}
    floors: dict[str, list[float]] = {name: [] for name in HANDLERS}
    for _ in range(runs):
        baseline = import_seconds("boto3", python=python)
        baselines.append(baseline)
        for name, module in HANDLERS.items():
            environment = functions[name].environment
            ratios[name].append(import_seconds(module, environment, python=python) / baseline)
            floors[name].append(snippet_seconds(floor_snippet(name), environment, python=python) / baseline)
    baseline = statistics.median(baselines)
    return {
        name: {
            "ratio": statistics.median(ratios[name]),
            "floor": statistics.median(floors[name]),
            "boto3_seconds": baseline,
        }
        for name in HANDLERS
    }


def judge_imports(measured: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """``import_ratios``'s figures with each function's goal, CloudQueue's own share (its ratio
    minus its floor) and the verdict."""
    judged: dict[str, dict[str, Any]] = {}
    for name, figures in measured.items():
        goal = IMPORT_TARGETS[name]
        judged[name] = figures | {
            "goal": goal,
            "own": figures["ratio"] - figures["floor"],
            "verdict": import_verdict(figures["ratio"], figures["floor"], goal),
        }
    return judged


_PROBE = "import json, sys; print(json.dumps({'python': sys.version.split()[0]}))"
# What the handlers and their floors import: the libraries, then CloudQueue itself.
_NEEDED = ("boto3", "pydantic", "aws_lambda_powertools", "uuid_utils", "cloudqueue")
_FIRST_MISSING = """import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        print(name)
        break"""


def _run(python: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    """``python`` run with ``args``, or None when it cannot be run or does not end in time."""
    try:
        return subprocess.run([python, *args], check=False, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None


def interpreter_version(python: str) -> str | None:
    """The Python version ``python`` runs, or None if it is not an executable Python."""
    result = _run(python, "-c", _PROBE)
    if result is None or result.returncode != 0:
        return None
    try:
        return str(json.loads(result.stdout.strip().splitlines()[-1])["python"])
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def interpreter_problem(python: str) -> str | None:
    """Why the imports scenario cannot run under ``python``, in one line, or None."""
    if not Path(python).is_file() or not os.access(python, os.X_OK) or interpreter_version(python) is None:
        return f"{python} is not an executable Python"
    result = _run(python, "-c", _FIRST_MISSING, *_NEEDED)
    missing = result.stdout.strip() if result is not None else ""
    if result is None or result.returncode != 0 or missing:
        return (
            f"{python} cannot import {missing or 'the handlers'}: install functions/requirements.txt "
            "into it and put functions/ on PYTHONPATH"
        )
    return None


def package_bytecode_ratios(runs: int = 5, *, python: str | None = None) -> dict[str, dict[str, float]]:
    """``bench_bytecode.bytecode_ratios`` for the handlers, each with its template environment."""
    from cloudqueue_local.bench.bytecode import bytecode_ratios
    from cloudqueue_local.client.aws import local_template
    from cloudqueue_local.project import project_root

    functions = local_template().functions
    package = project_root() / functions["ClaimFunction"].code_uri / "cloudqueue"
    environments = {name: functions[name].environment for name in HANDLERS}
    return bytecode_ratios(HANDLERS, environments, package, runs=runs, python=python)


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


@dataclass(frozen=True)
class BenchOptions:
    """How the stacks of a bench run are started."""

    pollers: int = 4
    faults: str | None = None
    worker_cpus: frozenset[int] | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def stack(self) -> Any:
        from cloudqueue_local.devtools.stack import LocalStack, StackOptions

        return LocalStack(
            StackOptions(
                port=0,
                aws_port=0,
                pollers=self.pollers,
                schedules=True,
                faults=self.faults,
                worker_cpus=self.worker_cpus,
                parameter_overrides=self.parameter_overrides,
            )
        )


class Bench:
    """The backlog, latency and burst scenarios, on one stack."""

    def __init__(self, options: BenchOptions) -> None:
        self.stack = options.stack()

    def __enter__(self) -> Bench:
        from cloudqueue_local.bench.mixed import AwsView

        self.stack.start()
        self.aws = AwsView(self.stack)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.stop(drain_seconds=30)

    def wait_for(self, condition: Callable[[], bool], timeout: float, every: float = 0.01) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the benchmark's jobs did not finish in time")
            time.sleep(every)

    def backlog_throughput(self, size: int) -> dict[str, float]:
        """Queue ``size`` jobs with the Pipe paused, then time how fast it drains them.

        The drain ends at the last job's ``finishedAt``, read from the table afterwards.
        """
        from cloudqueue import jobs
        from cloudqueue.adapters.dynamodb import DynamoJobStore
        from cloudqueue.models import Job, JobStatus, utc_now
        from cloudqueue_local.bench.mixed import _epoch

        stack = self.stack
        store = DynamoJobStore(
            stack.table_name(),
            shards=int(stack.template.parameters["StatusShards"]),
            client=self.aws.dynamodb,
        )
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
            self.aws.sqs.send_message_batch(QueueUrl=self.aws.queue_url, Entries=batch)
        fill_seconds = time.perf_counter() - fill_started
        started = time.time()
        stack.resume()
        self.wait_for(lambda: self.aws.unfinished(ids) == 0, timeout=max(120, size), every=1.0)
        finished = [_epoch(job.get("finishedAt")) or started for job in self.aws.jobs(ids).values()]
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
        return report

    def idle_latency(self, count: int) -> dict[str, float]:
        """One job at a time through the HTTP API: submit → SUCCEEDED (its ``finishedAt``)."""
        from cloudqueue_local.bench.mixed import _epoch

        latencies = []
        with httpx.Client(base_url=self.stack.api_url, timeout=30) as http:
            for index in range(count):
                started = time.time()
                job_id = http.post(
                    "/jobs", json={"type": "text.transform", "payload": {"text": f"idle {index}"}}
                ).json()["jobId"]
                # The figure is finishedAt - submit, so polling less often only spares the stack.
                self.wait_for(
                    lambda job_id=job_id: self.aws.unfinished([job_id]) == 0, timeout=30, every=0.05
                )
                finished = _epoch(self.aws.jobs([job_id])[job_id].get("finishedAt")) or time.time()
                latencies.append(finished - started)
        return {"p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}


SCENARIOS = ("backlog", "latency", "burst", "mixed", "imports", "history")
DEFAULT_SCENARIOS = ("backlog", "latency", "burst", "mixed", "imports")


@dataclass(frozen=True)
class MixedOptions:
    jobs: int = 2000
    clients: int = 32
    duplicates: int = 200
    deadline_seconds: float = 1800


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
    if {"backlog", "latency", "burst"} & set(scenarios):
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
        report["mixed"] = mixed_scenario(options, mixed or MixedOptions(), console)
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


def function_durations(mixed: dict[str, Any]) -> dict[str, float]:
    """Each function's mean duration (ms) in the mixed scenario, where ``cloudqueue cost`` reads
    it from a results file: the workflow functions' tasks as the execution log times them. The
    API's figure is its clients' POST latency, an upper bound, so it is left out."""
    return {
        name: float(figure["mean_ms"])
        for name, figure in mixed["functions"].items()
        if name != "ApiFunction" and figure.get("count")
    }


def mixed_scenario(options: BenchOptions, mixed: MixedOptions, console: Console) -> dict[str, Any]:
    """The mixed load on a fresh stack of its own, so that nothing else is in its table or queues."""
    from cloudqueue_local.bench.mixed import run_mixed

    stack = options.stack()
    stack.start()
    try:
        return run_mixed(
            stack,
            jobs=mixed.jobs,
            clients=mixed.clients,
            duplicates=mixed.duplicates,
            deadline_seconds=mixed.deadline_seconds,
            faults=bool(options.faults),
            log=console.print,
        )
    finally:
        stack.stop(drain_seconds=30)


def figures_table(report: dict[str, Any], *, clients: int) -> Table:
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
        _mixed_rows(table, report["mixed"])
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


def _mixed_rows(table: Table, mixed: dict[str, Any]) -> None:
    settings = mixed["settings"]
    title = f"mixed, {settings['jobs']:,} jobs, {settings['clients']} clients"
    table.add_row(
        f"{title}: lost / claimed twice / wrong",
        f"{mixed['lost']} / {mixed['claimed_twice']} / {mixed['wrong']} (of {mixed['accepted']:,} accepted)",
        "0 / 0 / 0",
    )
    table.add_row(
        "mixed: claimed again once a failed execution's lease expired",
        f"{mixed['reclaimed_after_failure']} (executions ended {mixed['execution_statuses']})",
        "reported",
    )
    table.add_row(
        "mixed: extra executions / duplicates injected",
        f"{mixed['extra_executions']} / {mixed['duplicates_injected']} "
        f"(sent while {mixed['duplicates_by_status_at_send']})",
        "≤ duplicates" if not settings["faults"] else "reported (faults on)",
    )
    table.add_row(
        "mixed: messages left in job queue / DLQ", f"{mixed['queue_left']} / {mixed['dlq_left']}", "0 / 0"
    )
    table.add_row(
        "mixed: non-2xx answers / replays naming another job",
        f"{mixed['non_2xx']} / {mixed['replay_mismatch']}",
        "0 / 0",
    )
    post = mixed["post"]
    table.add_row(
        "mixed: POST /jobs while draining",
        f"{post.get('rps', 0):.0f} req/s, "
        f"p50 {post.get('p50_ms', 0):.0f} ms, p99 {post.get('p99_ms', 0):.0f} ms",
        "p99 ≤ 250 ms",
    )
    table.add_row("mixed: drain rate", f"{mixed['drain']['jobs_per_s']:.0f} jobs/s", "")
    for name, durations in mixed["functions"].items():
        if durations.get("count"):
            table.add_row(
                f"mixed: {name} duration mean / p50",
                f"{durations['mean_ms']:.0f} / {durations['p50_ms']:.0f} ms ({durations['count']:,} calls)",
                "",
            )
