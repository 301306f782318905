"""How the mixed-load bench judges a run: the job plan, each job's outcome, executions per job."""

from __future__ import annotations

import json
import sys
from typing import Any

from cloudqueue_local.bench.mixed_checks import (
    correctness_failures,
    problem_with,
    read_executions,
    unexplained_claims,
)
from cloudqueue_local.bench.mixed_load import PlannedJob, plan_jobs
from tests.fakes import execution_arn

CLAIM_ARN = "arn:aws:lambda:us-east-1:123456789012:function:cloudqueue-local-ClaimFunction"
FUNCTIONS = {CLAIM_ARN: "ClaimFunction"}


def test_the_plan_has_its_shares_of_flaky_failing_and_keyed_jobs():
    plan = plan_jobs(2000)
    kinds = [job.type for job in plan]

    assert len(plan) == 2000
    assert kinds.count("demo.flaky") >= 200
    assert kinds.count("demo.fail") >= 100
    assert sum(1 for job in plan if job.idempotency_key) == 200
    assert len({job.idempotency_key for job in plan if job.idempotency_key}) == 200
    assert all(job.payload["failTimes"] <= 3 for job in plan if job.type == "demo.flaky")  # they succeed


def transform(text: str = "two words") -> PlannedJob:
    return PlannedJob(0, "text.transform", {"text": text})


def test_a_text_job_must_give_its_exact_transform():
    right = {"status": "SUCCEEDED", "result": {"originalLength": 9, "uppercase": "TWO WORDS", "wordCount": 2}}
    wrong = {"status": "SUCCEEDED", "result": {"originalLength": 9, "uppercase": "two words", "wordCount": 2}}

    assert problem_with(transform(), right, faults=False) is None
    assert "expected SUCCEEDED" in (problem_with(transform(), wrong, faults=False) or "")


def test_a_flaky_job_must_succeed_after_its_failures():
    flaky = PlannedJob(1, "demo.flaky", {"failTimes": 2})
    succeeded = {"status": "SUCCEEDED", "result": {"failedTimes": 2, "attempt": 1}}
    failed = {"status": "FAILED", "error": {"type": "TransientJobError", "message": "x"}}
    one_more = {"status": "SUCCEEDED", "result": {"failedTimes": 3, "attempt": 1}}

    assert problem_with(flaky, succeeded, faults=False) is None
    assert problem_with(flaky, failed, faults=False) is not None
    # a retry used up by an injected Lambda fault is allowed only under faults
    assert problem_with(flaky, one_more, faults=False) is not None
    assert problem_with(flaky, one_more, faults=True) is None


def test_a_failing_job_must_fail_permanently_with_its_reason():
    failing = PlannedJob(2, "demo.fail", {"reason": "nope"})
    right = {"status": "FAILED", "error": {"type": "PermanentJobError", "message": "nope"}}
    dead_lettered = {"status": "FAILED", "error": {"type": "DeadLettered", "message": "received 5 times"}}

    assert problem_with(failing, right, faults=False) is None
    assert "PermanentJobError" in (problem_with(failing, dead_lettered, faults=False) or "")


def figures(**changes: Any) -> dict[str, Any]:
    clean = {
        "settings": {"faults": False},
        "not_submitted": 0,
        "accepted": 10,
        "lost": 0,
        "claimed_twice": 0,
        "wrong": 0,
        "replay_mismatch": 0,
        "non_2xx": 0,
        "queue_left": 0,
        "dlq_left": 0,
        "extra_executions": 3,
        "duplicates_injected": 3,
    }
    return clean | changes


def test_a_clean_run_has_no_failures_and_each_wrong_figure_is_named():
    assert correctness_failures(figures()) == []
    assert correctness_failures(figures(lost=2, dlq_left=1, non_2xx=1)) == [
        "lost: 2",
        "dlq left: 1",
        "non 2xx: 1",
    ]


def test_under_faults_failed_submits_and_extra_executions_are_allowed_but_lost_jobs_are_not():
    under_faults = figures(settings={"faults": True}, non_2xx=4, extra_executions=9, lost=1)

    assert correctness_failures(under_faults) == ["lost: 1"]


def test_more_extra_executions_than_duplicates_fail_unless_faults_are_injected():
    assert correctness_failures(figures(extra_executions=4)) == ["extra executions 4 > duplicates injected 3"]
    assert correctness_failures(figures(extra_executions=4, settings={"faults": True})) == []


def history_record(arn: str, event_id: int, kind: str, millis: int, **details: Any) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": kind,
        "details": details,
        "event_timestamp": str(millis),
        "execution_arn": arn,
    }


def started(arn: str, job_id: str, millis: int) -> dict[str, Any]:
    records = [{"messageId": "m", "body": json.dumps({"jobId": job_id})}]
    return history_record(arn, 1, "ExecutionStarted", millis, input=json.dumps(records))


def test_executions_are_counted_per_job_from_their_started_input_with_task_durations():
    # Given job a ran twice (a duplicate) and job b once, as the log group holds them
    first, second, third = execution_arn("e1"), execution_arn("e2"), execution_arn("e3")
    parameters = json.dumps({"FunctionName": CLAIM_ARN, "Payload": {}})
    records = [
        started(first, "a", 1000),
        history_record(first, 2, "TaskScheduled", 1001, parameters=parameters),
        history_record(first, 3, "TaskSucceeded", 1041),
        history_record(first, 4, "ExecutionSucceeded", 1050),
        started(second, "a", 2000),
        history_record(second, 2, "TaskScheduled", 2001, parameters=parameters),
        history_record(second, 3, "TaskFailed", 2021),
        history_record(second, 4, "ExecutionFailed", 2030),
        started(third, "b", 3000),
    ]

    # When they are read
    read = read_executions(records, FUNCTIONS)

    # Then each job has its executions, their ends are counted, and the claim task took 40 and 20 ms
    assert read.per_job == {"a": 2, "b": 1}
    assert read.statuses == {"SUCCEEDED": 1, "FAILED": 1}
    assert sorted(read.task_seconds["ClaimFunction"]) == [0.02, 0.04]


def test_an_execution_that_failed_after_calling_the_claim_is_counted_for_its_job():
    # Given job a's execution that failed after its claim, job b's that failed before calling
    # any function (its input unreadable to the state machine), and job c's that succeeded
    claimed_then_failed, failed_first, succeeded = (execution_arn(name) for name in ("e1", "e2", "e3"))
    parameters = json.dumps({"FunctionName": CLAIM_ARN, "Payload": {}})
    records = [
        started(claimed_then_failed, "a", 1000),
        history_record(claimed_then_failed, 2, "TaskScheduled", 1001, parameters=parameters),
        history_record(claimed_then_failed, 3, "TaskSucceeded", 1041),
        history_record(claimed_then_failed, 4, "ExecutionFailed", 1050),
        started(failed_first, "b", 2000),
        history_record(failed_first, 2, "ExecutionFailed", 2001),
        started(succeeded, "c", 3000),
        history_record(succeeded, 2, "TaskScheduled", 3001, parameters=parameters),
        history_record(succeeded, 3, "TaskSucceeded", 3041),
        history_record(succeeded, 4, "ExecutionSucceeded", 3050),
    ]

    read = read_executions(records, FUNCTIONS)

    assert read.failed_after_claim == {"a": 1}


def test_a_second_claim_is_double_work_unless_a_failed_execution_left_the_first_unfinished():
    assert unexplained_claims(attempts=1, failed_after_claim=0) == 0
    assert unexplained_claims(attempts=2, failed_after_claim=0) == 1  # two workers got the job
    assert unexplained_claims(attempts=2, failed_after_claim=1) == 0  # claimed again after the lease
    assert unexplained_claims(attempts=3, failed_after_claim=1) == 1
    assert unexplained_claims(attempts=1, failed_after_claim=2) == 0


def test_bench_refuses_an_unknown_scenario_in_one_line(monkeypatch):
    from typer.testing import CliRunner

    from cloudqueue_local.cli.app import app

    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the message to the terminal's width
    result = CliRunner().invoke(app, ["bench", "--scenario", "mixed,nope"])

    assert result.exit_code == 2
    assert "unknown scenario 'nope'; choose from backlog" in result.output
    assert "Traceback" not in result.output


def test_a_keyed_job_whose_first_submit_failed_is_accepted_by_its_replay_and_not_a_mismatch():
    from cloudqueue_local.bench.mixed_checks import accepted_jobs

    outcomes = [
        {"kind": "submit", "index": 1, "status": 202, "jobId": "a"},
        {"kind": "submit", "index": 2, "status": 500, "jobId": None},  # an injected fault
        {"kind": "replay", "index": 1, "status": 200, "jobId": "a"},
        {"kind": "replay", "index": 2, "status": 202, "jobId": "b"},  # the replay made the job
        {"kind": "submit", "index": 3, "status": 503, "jobId": None},  # never accepted
    ]

    assert accepted_jobs(outcomes) == {1: "a", 2: "b"}


def test_an_import_goal_is_met_unmet_or_below_the_libraries_floor():
    from cloudqueue_local.bench.imports import import_verdict

    assert import_verdict(ratio=1.1, floor=0.9, goal=1.2) == "met"
    assert import_verdict(ratio=1.2, floor=0.9, goal=1.2) == "met"  # at most the goal
    assert import_verdict(ratio=2.26, floor=1.5, goal=1.6) == "unmet"  # CloudQueue's own is the gap
    assert import_verdict(ratio=1.3, floor=1.2, goal=1.2) == "unmet"  # a floor at the goal leaves 0
    assert import_verdict(ratio=1.57, floor=1.46, goal=1.2) == "unmet, goal below the libraries' floor"


def test_the_imports_report_gives_each_function_its_floor_goal_and_own_share():
    from rich.console import Console

    from cloudqueue_local.bench.imports import judge_imports
    from cloudqueue_local.bench.report import figures_table

    measured = {
        "ClaimFunction": {"ratio": 1.57, "floor": 1.46, "boto3_seconds": 0.2},
        "ApiFunction": {"ratio": 2.26, "floor": 1.5, "boto3_seconds": 0.2},
        "ProcessFunction": {"ratio": 0.45, "floor": 0.6, "boto3_seconds": 0.2},
    }

    judged = judge_imports(measured)

    claim = judged["ClaimFunction"]
    assert claim["goal"] == 1.2
    assert round(claim["own"], 2) == 0.11
    assert claim["verdict"] == "unmet, goal below the libraries' floor"
    assert (claim["ratio"], claim["floor"], claim["boto3_seconds"]) == (1.57, 1.46, 0.2)  # kept
    assert judged["ApiFunction"]["verdict"] == "unmet"
    assert judged["ProcessFunction"]["verdict"] == "met"
    console = Console(record=True, width=200)
    console.print(figures_table({"machine": {"imports_python": "3.12.1"}, "imports": judged}, clients=32))
    text = console.export_text().replace("\N{MULTIPLICATION SIGN}", "x")
    assert "1.57x (floor 1.46x, CloudQueue's own +0.11x)" in text
    assert "1.2x (unmet, goal below the libraries' floor)" in text
    assert "1.6x (unmet)" in text
    assert "import boto3 (reference, Python 3.12.1)" in text


def test_bench_refuses_a_python_that_is_not_an_executable_python_in_one_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from cloudqueue_local.cli.app import app

    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the message to the terminal's width
    not_python = tmp_path / "not-python"
    not_python.write_text("#!/bin/sh\necho hello\n")
    not_python.chmod(0o755)
    not_executable = tmp_path / "python3"
    not_executable.write_text("")

    for python in (tmp_path / "missing", not_executable, not_python):
        result = CliRunner().invoke(app, ["bench", "--scenario", "imports", "--python", str(python)])

        assert result.exit_code == 2
        assert f"{python} is not an executable Python" in result.output
        assert "Traceback" not in result.output
    other = CliRunner().invoke(app, ["bench", "--scenario", "mixed", "--python", sys.executable])
    assert other.exit_code == 2
    assert "applies to the imports scenario only" in other.output


def test_an_interpreter_that_cannot_import_the_handlers_is_named_with_what_it_lacks(tmp_path):
    from cloudqueue_local.bench.imports import interpreter_problem

    assert interpreter_problem(sys.executable) is None
    # Python itself without site-packages or CloudQueue on the path: it runs, but lacks them.
    bare = tmp_path / "python"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S -I "$@"\n')
    bare.chmod(0o755)
    assert interpreter_problem(str(bare)) == (
        f"{bare} cannot import boto3: install functions/dependencies/requirements.txt into it and put "
        "functions/ on PYTHONPATH"
    )
