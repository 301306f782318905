"""The mixed scenario's report: its figures (the ``mixed`` key of ``--json``), with samples of
each kind of wrong job, and its rows in the figures table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from cloudqueue_local.bench.mixed_checks import (
    ExecutionFigures,
    check_jobs,
    correctness_failures,
    executions_per_job,
    extra_executions,
    non_2xx_answers,
    replay_mismatches,
)
from cloudqueue_local.bench.mixed_load import DuplicateInjector, PlannedJob
from cloudqueue_local.bench.timing import epoch, summary_ms

SAMPLES = 5  # of each kind of wrong job, in the report


def mixed_figures(
    *,
    plan: list[PlannedJob],
    load_report: dict[str, Any],
    accepted_ids: dict[int, str],
    final: dict[str, dict[str, Any]],
    executions: ExecutionFigures,
    injector: DuplicateInjector,
    queue_left: int,
    dlq_left: int,
    ended_in_time: bool,
    faults: bool,
    settings: dict[str, Any],
    crashes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every figure of a mixed run, from what the clients saw and what the stack holds after it;
    ``failures`` lists the correctness figures that are wrong."""
    outcomes = load_report["outcomes"]
    non_2xx = non_2xx_answers(outcomes)
    replay_mismatch = replay_mismatches(outcomes, accepted_ids)
    found = check_jobs(plan, accepted_ids, final, executions, faults=faults)

    per_job = executions_per_job(accepted_ids, executions)
    recorded = {job_id: len(final.get(job_id, {}).get("executions", [])) for job_id in per_job}
    injected = [duplicate for duplicate in injector.duplicates if duplicate.sent]

    started, ended_at = load_report["started"], load_report["ended"]
    finished = [moment for job in final.values() if (moment := epoch(job.get("finishedAt")))]
    drain_seconds = (max(finished) - started) if finished else float("nan")
    submit_seconds = [outcome["seconds"] for outcome in outcomes]

    figures: dict[str, Any] = {
        "settings": settings | {"faults": faults},
        "not_submitted": len(plan) - len({o["index"] for o in outcomes if o["kind"] == "submit"}),
        "accepted": len(accepted_ids),
        "lost": len(found.lost),
        "claimed_twice": len(found.claimed_twice),
        "reclaimed_after_failure": len(found.reclaimed_after_failure),
        "wrong": len(found.wrong),
        "replay_mismatch": len(replay_mismatch),
        "non_2xx": len(non_2xx),
        "duplicates_injected": len(injected),
        "duplicates_by_status_at_send": dict(Counter(str(d.status_at_send) for d in injected)),
        "duplicates_not_sent": len(injector.duplicates) - len(injected),
        "executions": sum(per_job.values()),
        "extra_executions": extra_executions(per_job),
        "executions_recorded_on_jobs": sum(recorded.values()),
        "execution_statuses": dict(executions.statuses),
        "timed_out": executions.statuses.get("TIMED_OUT", 0),
        "crashes": (crashes or {})
        | {"failed_by_crash": sum(1 for job in final.values() if _failed_by_crash(job))},
        "queue_left": queue_left,
        "dlq_left": dlq_left,
        "ended_in_time": ended_in_time,
        "post": summary_ms(submit_seconds) | {"rps": round(len(outcomes) / (ended_at - started), 1)},
        "drain": {
            "jobs": len(finished),
            "seconds": round(drain_seconds, 2),
            "jobs_per_s": round(len(finished) / drain_seconds, 1) if finished else 0.0,
        },
        "functions": {
            name: summary_ms(seconds) | {"source": "log group: TaskScheduled → Task end"}
            for name, seconds in sorted(executions.task_seconds.items())
        }
        | {"ApiFunction": summary_ms(submit_seconds) | {"source": "client POST latency (an upper bound)"}},
        "samples": {
            "lost": found.lost[:SAMPLES],
            "claimed_twice": found.claimed_twice[:SAMPLES],
            "reclaimed_after_failure": found.reclaimed_after_failure[:SAMPLES],
            "wrong": found.wrong[:SAMPLES],
            "non_2xx": [{key: o[key] for key in ("kind", "status", "text")} for o in non_2xx[:SAMPLES]],
            "replay_mismatch": [
                {key: o[key] for key in ("index", "jobId")} for o in replay_mismatch[:SAMPLES]
            ],
            "most_executions": [
                {"jobId": job_id, "executions": count, "recorded": recorded[job_id]}
                for job_id, count in sorted(per_job.items(), key=lambda item: -item[1])[:SAMPLES]
                if count > 1
            ],
        },
    }
    figures["failures"] = correctness_failures(figures)
    return figures


def _failed_by_crash(job: dict[str, Any]) -> bool:
    """A job ended FAILED because its environment died (``Runtime.ExitError``)."""
    error = job.get("error") or {}
    return (
        job.get("status") == "FAILED" and "Runtime.ExitError" in f"{error.get('type')} {error.get('message')}"
    )


def function_durations(mixed: dict[str, Any]) -> dict[str, float]:
    """Each function's mean duration (ms) in the mixed scenario, where ``cloudqueue cost`` reads
    it from a results file: the workflow functions' tasks as the execution log times them. The
    API's figure is its clients' POST latency, an upper bound, so it is left out."""
    return {
        name: float(figure["mean_ms"])
        for name, figure in mixed["functions"].items()
        if name != "ApiFunction" and figure.get("count")
    }


def mixed_rows(table: Table, mixed: dict[str, Any]) -> None:
    """The mixed run's rows in the figures table: correctness, then responsiveness."""
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
    crashes = mixed.get("crashes") or {}
    if crashes.get("killed") or crashes.get("crash_faults") or crashes.get("invocations_crashed"):
        killed = sum(crashes.get("killed", {}).values())
        table.add_row(
            "mixed: environments killed / crash faults / invocations answered Runtime.ExitError",
            f"{killed} {crashes.get('killed', {})} / {crashes.get('crash_faults', 0)} / "
            f"{sum(crashes.get('invocations_crashed', {}).values())}",
            "reported",
        )
        table.add_row(
            "mixed: jobs FAILED by a crash / slots dead environments held (most)",
            f"{crashes.get('failed_by_crash', 0)} / {crashes.get('most_slots_held_by_dead', 0)}",
            "0 / 0",
        )
    table.add_row("mixed: executions timed out", str(mixed.get("timed_out", 0)), "0")
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
