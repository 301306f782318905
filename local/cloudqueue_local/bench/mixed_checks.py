"""The mixed scenario's checker: what counts as a lost job, a job claimed twice, a wrong
outcome, an extra execution, a non-2xx answer and a replay naming another job, and which of
these fail a run (``correctness_failures``).

- **lost**: a 202 whose job never ended, or is gone;
- **claimed twice**: ``attempts`` > 1 (the job's work ran twice) that no failed execution
  explains (``unexplained_claims``);
- **wrong**: a result or error other than the job type must give (``problem_with``);
- **extra executions**: executions per job beyond the first (from the log group's
  ``ExecutionStarted`` records, whose input names the job), against the duplicates injected.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from cloudqueue_local.bench.aws_view import TERMINAL
from cloudqueue_local.bench.mixed_load import PlannedJob


def problem_with(planned: PlannedJob, job: dict[str, Any], *, faults: bool) -> str | None:
    """What is wrong with an ended job's outcome for its type, or None."""
    status, result, error = job.get("status"), job.get("result"), job.get("error") or {}
    if planned.type == "text.transform":
        text = planned.payload["text"]
        expected = {"originalLength": len(text), "uppercase": text.upper(), "wordCount": len(text.split())}
        if status != "SUCCEEDED" or result != expected:
            return f"{status} {result or error}, expected SUCCEEDED {expected}"
    elif planned.type == "demo.flaky":
        fail_times = planned.payload["failTimes"]
        failed = (result or {}).get("failedTimes")
        # Under injected Lambda faults a retry may be used by a fault, so it can take more.
        exact = failed == fail_times if not faults else failed is not None and failed >= fail_times
        if status != "SUCCEEDED" or not exact:
            return f"{status} {result or error}, expected SUCCEEDED after {fail_times} transient failures"
    elif status != "FAILED" or error.get("type") != "PermanentJobError":
        return f"{status} {result or error}, expected FAILED with PermanentJobError"
    elif error.get("message") != planned.payload["reason"]:
        return f"error message {error.get('message')!r}, expected {planned.payload['reason']!r}"
    return None


def _job_of_execution(record: dict[str, Any]) -> str | None:
    """The job an execution ran for, from its ExecutionStarted input (the Pipe's records)."""
    try:
        records = json.loads((record.get("details") or {}).get("input") or "null")
        return str(json.loads(records[0]["body"])["jobId"])
    except (ValueError, TypeError, KeyError, IndexError):
        return None


@dataclass
class ExecutionFigures:
    per_job: Counter[str]
    statuses: Counter[str]
    task_seconds: dict[str, list[float]]
    # Executions of each job that called the claim function and then ended other than SUCCEEDED.
    failed_after_claim: Counter[str] = field(default_factory=Counter)


def unexplained_claims(attempts: int, failed_after_claim: int) -> int:
    """A job's claims beyond the first that no failed execution explains.

    An execution that reached the claim and then failed may have left its claim unfinished:
    its process step could not be invoked, or its result could not be recorded. Once that
    lease expires the job is claimed again, by design (at-least-once: docs/design.md#correctness).
    Any other second claim gave one job to two workers.
    """
    return max(0, attempts - 1 - failed_after_claim)


def read_executions(records: list[dict[str, Any]], functions_by_arn: dict[str, str]) -> ExecutionFigures:
    """Executions per job, their end statuses, and each Lambda task's duration by function."""
    per_job: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    failed_after_claim: Counter[str] = Counter()
    task_seconds: dict[str, list[float]] = defaultdict(list)
    by_execution: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_execution[str(record.get("execution_arn"))].append(record)
    for events in by_execution.values():
        events.sort(key=lambda event: int(event.get("id", 0)))
        scheduled: tuple[str, int] | None = None
        job_id: str | None = None
        claimed = False
        for event in events:
            kind = str(event.get("type", ""))
            details = event.get("details") or {}
            millis = int(event.get("event_timestamp", 0))
            if kind == "ExecutionStarted":
                job_id = _job_of_execution(event)
                per_job[job_id or "?"] += 1
            elif kind.startswith("Execution"):
                statuses[kind.removeprefix("Execution").upper()] += 1
                if kind != "ExecutionSucceeded" and claimed:
                    failed_after_claim[job_id or "?"] += 1
            elif kind == "TaskScheduled":
                scheduled = (_function_of(details, functions_by_arn), millis)
                claimed = claimed or scheduled[0] == "ClaimFunction"
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and scheduled is not None:
                task_seconds[scheduled[0]].append((millis - scheduled[1]) / 1000)
                scheduled = None
    return ExecutionFigures(per_job, statuses, dict(task_seconds), failed_after_claim)


def _function_of(details: dict[str, Any], functions_by_arn: dict[str, str]) -> str:
    try:
        name = json.loads(details.get("parameters") or "{}").get("FunctionName", "?")
    except ValueError:
        return "?"
    return functions_by_arn.get(name, str(name).rsplit(":", 1)[-1])


def accepted_jobs(outcomes: list[dict[str, Any]]) -> dict[int, str]:
    """The job each planned submit ended with: its 202, or else its replay's answer.

    A keyed submit whose first request failed (an injected fault) is accepted by its replay,
    which made the job or found the one the failed request made."""
    accepted = {o["index"]: o["jobId"] for o in outcomes if o["kind"] == "submit" and o["status"] == 202}
    for outcome in outcomes:
        if outcome["kind"] == "replay" and 200 <= outcome["status"] < 300:
            accepted.setdefault(outcome["index"], outcome["jobId"])
    return accepted


def is_2xx(outcome: dict[str, Any]) -> bool:
    """Whether a request's answer was a success (a connection error counts as status 0)."""
    status: int = outcome["status"]
    return 200 <= status < 300


def non_2xx_answers(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests (submits and replays) answered other than 2xx."""
    return [outcome for outcome in outcomes if not is_2xx(outcome)]


def replay_mismatches(outcomes: list[dict[str, Any]], accepted_ids: dict[int, str]) -> list[dict[str, Any]]:
    """The replays answered 2xx with another job than the one their submit was accepted as."""
    return [
        outcome
        for outcome in outcomes
        if outcome["kind"] == "replay"
        and is_2xx(outcome)
        and outcome["jobId"] != accepted_ids.get(outcome["index"])
    ]


@dataclass
class JobFindings:
    """The accepted jobs that ended wrong, by kind, as the report samples them."""

    lost: list[dict[str, Any]] = field(default_factory=list)
    claimed_twice: list[dict[str, Any]] = field(default_factory=list)
    reclaimed_after_failure: list[dict[str, Any]] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)


def check_jobs(
    plan: list[PlannedJob],
    accepted_ids: dict[int, str],
    final: dict[str, dict[str, Any]],
    executions: ExecutionFigures,
    *,
    faults: bool,
) -> JobFindings:
    """Each accepted job's final item (``final``, by id) against its plan and its executions."""
    by_index = {job.index: job for job in plan}
    findings = JobFindings()
    for index, job_id in accepted_ids.items():
        job = final.get(job_id)
        if job is None or job.get("status") not in TERMINAL:
            findings.lost.append({"jobId": job_id, "status": job and job.get("status")})
            continue
        attempts, failed = int(job.get("attempts", 0)), executions.failed_after_claim[job_id]
        if attempts > 1:
            entry = {"jobId": job_id, "attempts": attempts, "failedAfterClaim": failed}
            if unexplained_claims(attempts, failed):
                findings.claimed_twice.append(entry)
            else:
                findings.reclaimed_after_failure.append(entry)
        problem = problem_with(by_index[index], job, faults=faults)
        if problem:
            findings.wrong.append({"jobId": job_id, "type": by_index[index].type, "problem": problem})
    return findings


def executions_per_job(accepted_ids: dict[int, str], executions: ExecutionFigures) -> dict[str, int]:
    """How many executions the log group shows for each accepted job."""
    return {job_id: executions.per_job.get(job_id, 0) for job_id in set(accepted_ids.values())}


def extra_executions(per_job: dict[str, int]) -> int:
    """Executions beyond each job's first."""
    return sum(max(0, count - 1) for count in per_job.values())


def correctness_failures(figures: dict[str, Any]) -> list[str]:
    """Each correctness figure that is wrong, in words; empty when the run was right."""
    faults = figures["settings"]["faults"]
    # Under injected faults a submit may fail (503: nothing was accepted, the client may retry)
    # and failed executions are retried: non-2xx answers and extra executions are allowed.
    names = ["not_submitted", "lost", "claimed_twice", "wrong", "replay_mismatch", "queue_left", "dlq_left"]
    failures = [
        f"{name.replace('_', ' ')}: {figures[name]}"
        for name in [*names, *([] if faults else ["non_2xx"])]
        if figures[name]
    ]
    if figures["accepted"] == 0:
        failures.append("no job was accepted")
    # An environment that dies is infrastructure: retried, never a job's failure; and no
    # execution waits out the workflow timeout for it (or for anything else).
    if failed_by_crash := (figures.get("crashes") or {}).get("failed_by_crash"):
        failures.append(f"failed by a crash: {failed_by_crash}")
    if figures.get("timed_out"):
        failures.append(f"executions timed out: {figures['timed_out']}")
    if not faults and figures["extra_executions"] > figures["duplicates_injected"]:
        failures.append(
            f"extra executions {figures['extra_executions']} > duplicates injected "
            f"{figures['duplicates_injected']}"
        )
    return failures
