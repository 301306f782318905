"""How the CLI shows what the rooms answer: rich tables and lines on stdout, progress and
errors on stderr. Only the CLI prints these, so they live with it; the client room answers
plain data, for the CLI, the benchmarks and the tests alike."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Tables keep whole ids when the output is a pipe or a file, not only on a wide terminal.
_WIDTH = None if sys.stdout.isatty() else 200
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH)

_COLOURS = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "IN_PROGRESS": "cyan",
    "CANCELLED": "yellow",
    "SCHEDULED": "magenta",
}


def print_json(value: Any) -> None:
    """``value`` as highlighted JSON on stdout."""
    out.print_json(json.dumps(value))


def status_text(status: str) -> str:
    """A job status in its colour (rich markup)."""
    colour = _COLOURS.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def job_table(jobs: list[dict[str, Any]]) -> Table:
    """One row per job, as ``cloudqueue list`` shows them."""
    table = Table(show_lines=False)
    for column in ("jobId", "type", "status", "attempts", "createdAt", "finishedAt"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            job["jobId"],
            job["type"],
            status_text(job["status"]),
            str(job["attempts"]),
            job["createdAt"],
            job.get("finishedAt") or "",
        )
    return table


def show_job(job: dict[str, Any]) -> None:
    """One job: its status, times, result or error, and its runs."""
    status = status_text(job["status"])
    out.print(f"[bold]{job['jobId']}[/bold]  {job['type']}  {status}  attempts {job['attempts']}")
    for field in ("createdAt", "runAt", "startedAt", "finishedAt"):
        if job.get(field):
            out.print(f"  {field:<10} {job[field]}")
    if job.get("result") is not None:
        out.print("  result")
        print_json(job["result"])
    if job.get("error"):
        out.print(f"  [red]error {job['error']['type']}: {job['error']['message']}[/red]")
    for run in job.get("runs") or []:
        attempts = (
            f"attempts {run['firstAttempt']}-{run['lastAttempt']}"
            if run.get("firstAttempt")
            else "no attempt"
        )
        failure = (
            f": {escape(run['error']['type'])}: {escape(run['error']['message'])}" if run.get("error") else ""
        )
        out.print(f"  run {run['run']}  {status_text(run['status'])}  {attempts}{failure}", highlight=False)


def show_status_change(job: dict[str, Any]) -> str:
    """The stderr line for a job seen at a new status while following it; the spinner's text."""
    err.print(f"  {time.strftime('%H:%M:%S')} {job['status']} (attempts {job['attempts']})")
    return f"{job['status']}..."


def show_history(result: dict[str, Any]) -> None:
    """Every execution of a job, one step table each."""
    out.print(
        f"[bold]{result['jobId']}[/bold] {status_text(result['status'])}: "
        f"{len(result['executions'])} execution(s)"
    )
    for execution in result["executions"]:
        out.print(step_table(execution))


def step_table(execution: dict[str, Any]) -> Table:
    """One execution's steps: type, status, attempts, duration and errors."""
    table = Table(
        title=f"{execution['name']}  {execution['status']}  {execution.get('durationMs') or '?'} ms"
    )
    for column in ("step", "type", "status", "attempts", "ms", "errors"):
        table.add_column(column)
    for step in execution["steps"]:
        errors = "; ".join(f"{f['error']}: {f['message']}" for f in step["failures"])
        table.add_row(
            step["name"],
            step["type"],
            status_text(step["status"]),
            str(step["attempts"] or ""),
            "" if step["durationMs"] is None else str(step["durationMs"]),
            errors,
        )
    return table


def types_table(result: dict[str, Any]) -> Table:
    """The job types and an example payload of each."""
    table = Table()
    for column in ("type", "description", "example payload"):
        table.add_column(column)
    for job_type in result["jobTypes"]:
        table.add_row(job_type["name"], job_type["description"], json.dumps(job_type["example"]))
    return table


def dead_letters_table(messages: list[dict[str, Any]]) -> Table:
    """The kept messages of both queues, as ``cloudqueue dlq list`` shows them."""
    table = Table(title=f"{len(messages)} message(s) kept")
    for column in ("queue", "messageId", "receives", "first bytes", "reason"):
        table.add_column(column)
    for message in messages:
        table.add_row(
            message["queue"],
            message["messageId"],
            str(message["receiveCount"]),
            message["firstBytes"],
            message["reason"],
        )
    return table


def show_execution(result: dict[str, Any]) -> None:
    """One execution's history, event by event, and its error if it failed."""
    table = Table(title=f"{result['executionArn']}  {result['status']}")
    for column in ("id", "event", "state", "+ms", "detail"):
        table.add_column(column)
    for row in result["events"]:
        table.add_row(
            str(row["id"]), row["type"], row.get("state") or "", str(row["elapsedMs"]), row["detail"]
        )
    out.print(table)
    if result.get("error"):
        out.print(f"[red]{result['error']}: {result.get('cause') or ''}[/red]")


# The claim's answer for a job that is not in the table; and the errors a claim raises for one
# (JobNotYetWritten: the name the claim gives a missing job under the recovery design).
_NO_SUCH_JOB = "no such job"
_MISSING_JOB_ERRORS = ("JobNotFound", "JobNotYetWritten")
_USE_A_REAL_JOB = "the event names a job that is not in the table: `--job-id ID` builds it from a real job"


def show_invocation(logical_id: str, answer: Any, *, failed: bool, from_event: bool) -> None:
    """A function's answer on stdout, as ``sam local invoke`` prints it: an error too, so that
    it can feed the next step's ``--from-output`` as the state machine's Catch would; what
    went wrong on stderr, with a hint when a sample event named a job that does not exist."""
    print_json(answer)
    no_such_job = isinstance(answer, dict) and str(answer.get("reason", "")).startswith(_NO_SUCH_JOB)
    if no_such_job and from_event:  # the claim skipped a job that is not in the table
        err.print(_USE_A_REAL_JOB)
    if not failed:
        return
    err.print(
        f"[red]{logical_id} failed:[/red] {escape(str(answer.get('errorType')))}: "
        f"{escape(str(answer.get('errorMessage')))}",
        highlight=False,
    )
    if answer.get("errorType") in _MISSING_JOB_ERRORS and from_event:
        err.print(_USE_A_REAL_JOB)
