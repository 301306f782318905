"""The mixed-load scenario of ``cloudqueue bench``: is every job right, under load and duplicates?

N jobs are submitted by concurrent clients in another process while the Pipe drains them,
and duplicate messages are sent to the job queue for jobs already accepted (``mixed_load``).
When every accepted job has ended (or the deadline passed) and the queues have settled, the
scenario reads every job and the state machine's log group, checks them (``mixed_checks``:
lost, claimed twice, wrong, extra executions) and reports (``mixed_report``): those, messages
left in the job queue and the dead-letter queue, non-2xx answers, replays that named another
job, POST /jobs latency while the backlog drains, and the drain rate. With ``--kill-every``
an ``EnvironmentKiller`` kills a workflow environment that often while the jobs run, and
the report says how many died and what became of their jobs. At the end, each function's peak
memory (``memory``), for sizing its MemorySize.

Everything is read through the AWS endpoint and the HTTP API, as a user's tools would.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cloudqueue_local.bench.aws_view import AwsView
from cloudqueue_local.bench.killer import EnvironmentKiller
from cloudqueue_local.bench.memory import peak_memory
from cloudqueue_local.bench.mixed_checks import accepted_jobs, read_executions
from cloudqueue_local.bench.mixed_load import DUPLICATE_PHASES, DuplicateInjector, plan_jobs, submit_plan
from cloudqueue_local.bench.mixed_report import mixed_figures
from cloudqueue_local.bench.options import BenchOptions, MixedOptions
from cloudqueue_local.bench.timing import wait_until

if TYPE_CHECKING:
    from cloudqueue_local.devtools.stack import LocalStack


def mixed_scenario(
    options: BenchOptions, mixed: MixedOptions, log: Callable[[str], object]
) -> dict[str, Any]:
    """The mixed load on a fresh stack of its own, so that nothing else is in its table or queues."""
    stack = options.stack()
    stack.start()
    try:
        figures = run_mixed(
            stack,
            jobs=mixed.jobs,
            clients=mixed.clients,
            duplicates=mixed.duplicates,
            deadline_seconds=mixed.deadline_seconds,
            faults=bool(options.faults) or bool(mixed.kill_every),
            kill_every=mixed.kill_every,
            log=log,
        )
        figures["memory"] = peak_memory(stack)  # each function's peak, before its processes stop
        return figures
    finally:
        stack.stop(drain_seconds=30)


def run_mixed(
    stack: LocalStack,
    *,
    jobs: int = 2000,
    clients: int = 32,
    duplicates: int = 200,
    deadline_seconds: float = 1800,
    faults: bool = False,
    kill_every: float | None = None,
    seed: int = 7,
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """Run the scenario against a started, empty local stack; return its figures (see the module)."""
    aws = AwsView(stack)
    plan = plan_jobs(jobs, seed=seed)
    rng = random.Random(seed + 1)
    chosen = {
        index: DUPLICATE_PHASES[position % len(DUPLICATE_PHASES)]
        for position, index in enumerate(rng.sample(range(jobs), k=min(duplicates, jobs)))
    }
    deadline = time.monotonic() + deadline_seconds

    context = multiprocessing.get_context("spawn")
    accepted, results = context.Queue(), context.Queue()
    injector = DuplicateInjector(aws, chosen, deadline=deadline)
    injector.start(accepted)
    log(f"mixed load: {jobs} jobs from {clients} clients, {len(chosen)} duplicate messages...")
    stop_at = time.time() + deadline_seconds
    load = context.Process(
        target=submit_plan,
        args=(stack.api_url, [asdict(job) for job in plan]),
        kwargs={"clients": clients, "stop_at": stop_at, "accepted": accepted, "results": results},
    )
    killer = EnvironmentKiller(stack.runtime, kill_every, seed=seed) if kill_every else None
    load.start()
    if killer is not None:
        log(f"  killing a workflow environment every {kill_every:g} s while the jobs run...")
        killer.start()
    try:
        load_report = _result_of(load, results, until=deadline)
        outcomes = load_report["outcomes"]
        accepted_ids = accepted_jobs(outcomes)
        job_ids = list(accepted_ids.values())
        log(f"  {len(job_ids)} accepted; waiting for every job to end...")
        ended = wait_until(lambda: aws.unfinished(job_ids) == 0, until=deadline)
    finally:
        if killer is not None:
            killer.stop()
    injector.join()

    settle = min(deadline, time.monotonic() + _settle_seconds(stack))
    log("  waiting for the queues to settle...")
    wait_until(lambda: aws.messages(aws.queue_url) + aws.messages(aws.dlq_url) == 0, until=settle)
    final = aws.jobs(job_ids)
    executions = read_executions(aws.history_records(), aws.functions_by_arn)

    return mixed_figures(
        plan=plan,
        load_report=load_report,
        accepted_ids=accepted_ids,
        final=final,
        executions=executions,
        injector=injector,
        queue_left=aws.messages(aws.queue_url),
        dlq_left=aws.messages(aws.dlq_url),
        ended_in_time=ended,
        faults=faults,
        crashes=crash_figures(stack, killer),
        settings={
            "jobs": jobs,
            "clients": clients,
            "duplicates": len(chosen),
            "seed": seed,
            "kill_every": kill_every,
        },
    )


def crash_figures(stack: LocalStack, killer: EnvironmentKiller | None) -> dict[str, Any]:
    """Environments that died mid-invocation, by cause: the killer's kills, chaos's crash faults
    (``--faults crash=RATE``), and what each function's runtime answered for them."""
    return {
        "killed": dict(killer.killed) if killer is not None else {},
        "crash_faults": stack.chaos.injected.get("crash.Runtime.ExitError", 0),
        "invocations_crashed": {
            name: stack.runtime.function(name).crashes
            for name in stack.template.functions
            if stack.runtime.function(name).crashes
        },
        "most_slots_held_by_dead": killer.most_slots_held_by_dead if killer is not None else 0,
    }


def _result_of(process: Any, results: Any, *, until: float) -> dict[str, Any]:
    """The clients' report; an error if their process died or the deadline passed first."""
    while True:
        try:
            report: dict[str, Any] = results.get(timeout=1)
        except queue.Empty:
            # Requests in flight at the deadline may take their timeout (60 s) to end.
            if not process.is_alive() or time.monotonic() > until + 90:
                process.terminate()
                raise RuntimeError(
                    f"the load generator ended without a report (exit {process.exitcode})"
                ) from None
            continue
        process.join(timeout=30)
        return report


def _settle_seconds(stack: LocalStack) -> float:
    """Long enough for a message left invisible by a failed execution to come back and be handled."""
    parameters = stack.template.parameters
    visibility = float(parameters.get("VisibilityTimeoutSeconds", 30))
    receives = int(parameters.get("MaxReceiveCount", 5))
    return visibility * (receives + 1) + 10
