"""Execution history: Express log records (as CloudWatch Logs holds them) → readable steps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudqueue.history import READ_MARGIN, error_message, read_executions, read_window, summarize
from cloudqueue.models import Job, JobStatus
from tests.fakes import T0, FakeExecutionLog, execution_arn, lambda_cause, make_job

ARN = execution_arn("5b1c0e7a")
START_MILLIS = 1_767_323_045_000  # 2026-01-02T03:04:05.000Z


class ExpressLog:
    """Builds the log records an Express execution with logging at level ALL writes.

    Each record is ``{id, type, details, previous_event_id, event_timestamp, execution_arn}``
    with the timestamp as epoch milliseconds in a string, as Step Functions logs it.
    """

    def __init__(self, arn: str = ARN) -> None:
        self.arn = arn
        self.records: list[dict[str, Any]] = []
        self.millis = START_MILLIS

    def add(self, kind: str, after_ms: int = 1, **details: Any) -> ExpressLog:
        self.millis += after_ms
        self.records.append(
            {
                "id": str(len(self.records) + 1),
                "type": kind,
                "details": details,
                "previous_event_id": str(len(self.records)),
                "event_timestamp": str(self.millis),
                "execution_arn": self.arn,
            }
        )
        return self

    def started(self) -> ExpressLog:
        self.millis -= 1
        return self.add("ExecutionStarted", input='[{"body":"{\\"jobId\\":\\"j\\"}"}]', roleArn="role")

    def state(self, kind: str, name: str, took_ms: int = 1) -> ExpressLog:
        return self.add(f"{kind}StateEntered", name=name, input="{}").add(
            f"{kind}StateExited", after_ms=took_ms, name=name, output="{}"
        )

    def task(self, name: str, *attempts: str | None, took_ms: int = 10) -> ExpressLog:
        """A Task state; each attempt is None (succeeded) or the error it raised."""
        self.add("TaskStateEntered", name=name, input="{}")
        for error in attempts:
            self.add("TaskScheduled", resourceType="lambda", resource="invoke", region="us-east-1")
            self.add("TaskStarted", resourceType="lambda", resource="invoke")
            if error is None:
                self.add("TaskSucceeded", after_ms=took_ms, resourceType="lambda", output="{}")
            else:
                self.add(
                    "TaskFailed",
                    after_ms=took_ms,
                    resourceType="lambda",
                    resource="invoke",
                    error=error,
                    cause=lambda_cause(f"{error} on purpose", error),
                )
        return self

    def exit(self, name: str) -> ExpressLog:
        return self.add("TaskStateExited", name=name, output="{}")

    def succeeded(self) -> ExpressLog:
        return self.add("ExecutionSucceeded", output="{}")

    def failed(self, error: str, cause: str) -> ExpressLog:
        return self.add("ExecutionFailed", error=error, cause=cause)


def happy_path() -> ExpressLog:
    log = ExpressLog().started().state("Pass", "ParseMessage")
    log.task("ClaimJob", None).exit("ClaimJob").state("Choice", "IsClaimed")
    log.task("ProcessJob", None, took_ms=250).exit("ProcessJob")
    log.task("RecordSuccess", None).exit("RecordSuccess").state("Succeed", "Done")
    return log.succeeded()


def step(summary: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [each for each in summary["steps"] if each["name"] == name]
    return found


def test_a_happy_path_is_a_succeeded_execution_of_succeeded_steps_in_order():
    # Given the log of an execution that claimed, processed and recorded a job
    log = happy_path()

    # When it is summarized
    summary = summarize(ARN, log.records)

    # Then every step succeeded at the first attempt, in the order the workflow ran them
    assert summary["status"] == "SUCCEEDED"
    assert summary["error"] is None
    assert [each["name"] for each in summary["steps"]] == [
        "ParseMessage",
        "ClaimJob",
        "IsClaimed",
        "ProcessJob",
        "RecordSuccess",
        "Done",
    ]
    assert {each["status"] for each in summary["steps"]} == {"SUCCEEDED"}
    assert [each["attempts"] for each in summary["steps"]] == [0, 1, 0, 1, 1, 0]
    assert all(each["retries"] == 0 and each["failures"] == [] for each in summary["steps"])
    assert step(summary, "ProcessJob")["type"] == "Task"
    assert step(summary, "IsClaimed")["type"] == "Choice"


def test_a_summary_has_the_execution_name_timings_and_one_row_per_event():
    log = happy_path()

    summary = summarize(ARN, log.records)

    assert summary["executionArn"] == ARN
    assert summary["name"] == "5b1c0e7a"
    assert summary["startedAt"] == "2026-01-02T03:04:05.000Z"
    assert summary["durationMs"] == log.millis - START_MILLIS
    assert step(summary, "ProcessJob")["durationMs"] == 1 + 1 + 250 + 1  # scheduled, started, ran, exited
    assert [row["id"] for row in summary["events"]] == list(range(1, len(log.records) + 1))
    assert summary["events"][1] == {
        "id": 2,
        "type": "PassStateEntered",
        "timestamp": "2026-01-02T03:04:05.001Z",
        "state": "ParseMessage",
    }


def test_a_retried_task_counts_its_attempts_retries_and_each_failure():
    # Given ProcessJob failed transiently twice, then succeeded
    log = ExpressLog().started().task("ClaimJob", None).exit("ClaimJob")
    log.task("ProcessJob", "TransientJobError", "TransientJobError", None).exit("ProcessJob")
    log.task("RecordSuccess", None).exit("RecordSuccess").succeeded()

    # When it is summarized
    process = step(summarize(ARN, log.records), "ProcessJob")

    # Then the step succeeded on its third attempt, after two retries, and says why each one failed
    assert process["status"] == "SUCCEEDED"
    assert process["attempts"] == 3
    assert process["retries"] == 2
    assert [(failure["error"], failure["message"]) for failure in process["failures"]] == [
        ("TransientJobError", "TransientJobError on purpose"),
        ("TransientJobError", "TransientJobError on purpose"),
    ]
    assert all(failure["at"].endswith("Z") for failure in process["failures"])


def test_a_caught_failure_is_caught_and_the_workflow_enters_the_next_state():
    # Given ProcessJob failed permanently and its Catch moved on to RecordFailure
    log = ExpressLog().started().task("ClaimJob", None).exit("ClaimJob")
    log.task("ProcessJob", "PermanentJobError").exit("ProcessJob")
    log.task("RecordFailure", None).exit("RecordFailure").succeeded()

    # When it is summarized
    summary = summarize(ARN, log.records)
    names = [each["name"] for each in summary["steps"]]

    # Then ProcessJob was CAUGHT, the execution still succeeded, and RecordFailure came next
    assert step(summary, "ProcessJob")["status"] == "CAUGHT"
    assert step(summary, "ProcessJob")["failures"][0]["message"] == "PermanentJobError on purpose"
    assert names[names.index("ProcessJob") + 1] == "RecordFailure"
    assert step(summary, "RecordFailure")["status"] == "SUCCEEDED"
    assert summary["status"] == "SUCCEEDED"


def test_an_execution_that_failed_in_a_state_marks_that_step_failed():
    # Given ClaimJob kept finding the job leased and the execution failed there
    log = ExpressLog().started().task("ClaimJob", "JobLeased", "JobLeased", "JobLeased")
    log.failed("JobLeased", lambda_cause("job j is not claimable now", "JobLeased"))

    # When it is summarized
    summary = summarize(ARN, log.records)

    # Then the execution FAILED with the error's message, in ClaimJob
    claim = step(summary, "ClaimJob")
    assert summary["status"] == "FAILED"
    assert summary["error"] == {"error": "JobLeased", "message": "job j is not claimable now"}
    assert claim["status"] == "FAILED"
    assert claim["exitedAt"] is None
    assert claim["durationMs"] is None
    assert (claim["attempts"], claim["retries"], len(claim["failures"])) == (3, 2, 3)
    assert summary["events"][-1]["error"] == "JobLeased"


def test_a_running_execution_shows_its_current_step_running():
    # Given an execution that is processing the job right now
    log = ExpressLog().started().task("ClaimJob", None).exit("ClaimJob")
    log.add("TaskStateEntered", name="ProcessJob").add("TaskScheduled").add("TaskStarted")

    # When it is summarized
    summary = summarize(ARN, log.records)

    # Then it is RUNNING, with no end, and ProcessJob is the step in progress
    assert summary["status"] == "RUNNING"
    assert summary["stoppedAt"] is None
    assert summary["durationMs"] is None
    assert step(summary, "ClaimJob")["status"] == "SUCCEEDED"
    assert step(summary, "ProcessJob")["status"] == "RUNNING"


def test_a_timed_out_execution_is_timed_out_with_its_error():
    log = ExpressLog().started().add("TaskStateEntered", name="ProcessJob").add("TaskScheduled")
    log.add("ExecutionTimedOut", error="States.Timeout", cause="The execution ran past 290 seconds")

    summary = summarize(ARN, log.records)

    assert summary["status"] == "TIMED_OUT"
    assert summary["error"] == {"error": "States.Timeout", "message": "The execution ran past 290 seconds"}
    assert step(summary, "ProcessJob")["status"] == "FAILED"


def test_iso_timestamps_are_read_too():
    records = [
        {"id": "1", "type": "ExecutionStarted", "event_timestamp": "2026-01-02T03:04:05.000Z", "details": {}},
        {
            "id": "2",
            "type": "ExecutionSucceeded",
            "event_timestamp": "2026-01-02T03:04:06.500Z",
            "details": {},
        },
    ]

    summary = summarize(ARN, records)

    assert summary["durationMs"] == 1500


def test_no_events_is_an_execution_with_no_steps_yet():
    summary = summarize(ARN, [])

    assert summary["status"] == "RUNNING"
    assert summary["steps"] == []
    assert summary["events"] == []


def test_events_before_any_state_and_unreadable_timestamps_are_tolerated():
    records = [
        {"id": "1", "type": "TaskScheduled", "event_timestamp": "yesterday"},
        {"id": "2", "type": "PassStateEntered", "details": {"name": "ParseMessage"}, "event_timestamp": None},
    ]

    summary = summarize(ARN, records)

    assert [each["name"] for each in summary["steps"]] == ["ParseMessage"]
    assert summary["steps"][0]["attempts"] == 0
    assert summary["events"][0]["timestamp"] is None


def test_error_message_extracts_the_error_message_from_a_lambda_cause():
    cause = lambda_cause("invalid payload for text.transform: text is required")

    assert error_message(cause) == "invalid payload for text.transform: text is required"


def test_error_message_keeps_a_cause_that_is_not_a_lambda_error():
    assert error_message("The execution ran past 290 seconds") == "The execution ran past 290 seconds"
    assert error_message(json.dumps({"other": "shape"})) == '{"other": "shape"}'
    assert error_message(json.dumps(["a list"])) == '["a list"]'
    assert error_message(None) == ""
    assert error_message("") == ""


# --- reading a job's executions: each read bounded by the job's own times ----------------------


def uuid7_at(moment: datetime) -> str:
    """A UUIDv7 job id made at ``moment`` (its first 48 bits are Unix milliseconds)."""
    millis = f"{int(moment.timestamp() * 1000):012x}"
    return f"{millis[:8]}-{millis[8:]}-7000-8000-000000000001"


def event_at(moment: datetime, event_id: int = 1, kind: str = "ExecutionStarted") -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": kind,
        "details": {},
        "event_timestamp": str(int(moment.timestamp() * 1000)),
    }


def finished_job(executions: list[str], finished: datetime) -> Job:
    """A job made and created at T0 that SUCCEEDED at ``finished``."""
    return make_job(
        job_id=uuid7_at(T0),
        status=JobStatus.SUCCEEDED,
        finished_at=finished,
        updated_at=finished,
        executions=executions,
    )


def test_a_finished_jobs_executions_are_read_between_its_creation_and_its_end_only():
    # Given a job created at T0 and finished 5 s later by its second execution, whose log also
    # holds an event of the same ARN an hour before the job existed (another job's window)
    runs = [execution_arn("run-1"), execution_arn("run-2")]
    finished = T0 + timedelta(seconds=5)
    job = finished_job(runs, finished)
    log = FakeExecutionLog(
        {
            runs[0]: [event_at(T0 - timedelta(hours=1), 1), event_at(T0 + timedelta(seconds=1), 2)],
            runs[1]: [event_at(T0 + timedelta(seconds=2))],
        }
    )

    # When its executions are read a day later
    summaries = read_executions(job, log, now=T0 + timedelta(days=1))

    # Then every read asked for the job's own span only, and nothing outside it came back
    assert log.windows == [(T0 - READ_MARGIN, finished + READ_MARGIN)] * 2
    assert [len(summary["events"]) for summary in summaries] == [1, 1]
    assert summaries[0]["events"][0]["id"] == 2


def test_an_unfinished_jobs_window_ends_now():
    job = make_job(job_id=uuid7_at(T0), status=JobStatus.IN_PROGRESS, executions=[execution_arn()])
    now = T0 + timedelta(seconds=30)

    assert read_window(job, now) == (T0 - READ_MARGIN, now + READ_MARGIN)


def test_the_window_starts_when_the_job_id_was_made_if_that_is_before_the_write():
    # Given a job whose message was sent (and whose id was made) 8 s before the job was written
    made = T0 - timedelta(seconds=8)
    job = make_job(job_id=uuid7_at(made), created_at=T0, updated_at=T0)

    # Then its window starts from the id's time: an execution may have started before the write
    assert read_window(job, T0 + timedelta(seconds=1))[0] == made - READ_MARGIN


def test_a_job_id_that_is_not_a_uuid7_leaves_the_creation_time():
    job = make_job(job_id="01900000-0000-4000-8000-000000000001")

    assert read_window(job, T0 + timedelta(seconds=1))[0] == T0 - READ_MARGIN


def test_a_duplicate_delivered_after_the_end_is_read_from_the_end_of_the_window_to_now():
    # Given a finished job, and a duplicate message that an execution skipped an hour later
    runs = [execution_arn("run-1"), execution_arn("late")]
    finished = T0 + timedelta(seconds=5)
    job = finished_job(runs, finished)
    late = finished + timedelta(hours=1)
    log = FakeExecutionLog({runs[0]: [event_at(T0)], runs[1]: [event_at(late)]})
    now = finished + timedelta(hours=2)

    # When its executions are read
    summaries = read_executions(job, log, now=now)

    # Then the late execution, not in the job's window, is read from that window's end to now
    window_end = finished + READ_MARGIN
    assert log.windows == [(T0 - READ_MARGIN, window_end), (T0 - READ_MARGIN, window_end), (window_end, now)]
    assert summaries[1]["startedAt"] == late.astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def test_past_the_end_is_searched_no_more_once_a_search_there_found_nothing():
    # Given a finished job whose three executions left no records (a log level below ALL)
    runs = [execution_arn("run-1"), execution_arn("run-2"), execution_arn("run-3")]
    finished = T0 + timedelta(seconds=5)
    log = FakeExecutionLog({})

    # When its executions are read a day later
    summaries = read_executions(finished_job(runs, finished), log, now=T0 + timedelta(days=1))

    # Then each was read in the job's window, and only the first also past the end
    assert len(log.windows) == len(runs) + 1
    assert [summary["steps"] for summary in summaries] == [[], [], []]
