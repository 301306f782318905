"""Delayed jobs on the running local stack: the SQS path (DelaySeconds), the Scheduler path (a
one-time schedule the local scheduler fires), duplicates of an early message, and cancel.

The test parameters send delays up to 3 s by SQS and longer ones by Scheduler."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from cloudqueue.adapters.sqs import job_message_body
from cloudqueue_local.devtools.stack import LocalStack

from .test_end_to_end import aws, finished, wait_for

A_JOB = {"type": "text.transform", "payload": {"text": "later"}}


def submit_delayed(api: httpx.Client, **timing: Any) -> dict[str, Any]:
    response = api.post("/jobs", json=A_JOB | timing)
    assert response.status_code == 202, response.text
    job = dict(response.json())
    assert job["status"] == "SCHEDULED"
    return job


def schedules_of(stack: LocalStack) -> list[str]:
    scheduler = aws(stack, "scheduler")
    group = next(iter(stack.template.schedule_groups.values()))
    return [each["Name"] for each in scheduler.list_schedules(GroupName=group)["Schedules"]]


def test_a_job_delayed_by_sqs_reads_scheduled_then_runs_not_before_its_time(api: httpx.Client) -> None:
    # Given a job delayed 2 s (the SQS path)
    job = submit_delayed(api, delaySeconds=2)
    run_at = datetime.fromisoformat(job["runAt"])

    # Then it reads SCHEDULED, and later runs once, never before its time
    assert api.get(f"/jobs/{job['jobId']}").json()["status"] == "SCHEDULED"
    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"]) == ("SUCCEEDED", 1)
    assert datetime.fromisoformat(done["startedAt"]) >= run_at


def test_a_job_delayed_past_the_limit_goes_by_a_schedule_the_local_scheduler_fires(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job delayed 5 s (past the test's SQS limit: the Scheduler path)
    job = submit_delayed(api, delaySeconds=5)
    run_at = datetime.fromisoformat(job["runAt"])

    # Then its one-time schedule exists until it fires
    assert f"job-{job['jobId']}" in schedules_of(local_stack)
    # And the job runs once, not before its time, and its schedule deletes itself
    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"]) == ("SUCCEEDED", 1)
    assert datetime.fromisoformat(done["startedAt"]) >= run_at
    assert f"job-{job['jobId']}" not in schedules_of(local_stack)


def test_duplicates_of_an_early_message_never_start_the_job_before_its_time(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job due in 3 s, and ten copies of its message sent at once (with and without runAt)
    job = submit_delayed(api, delaySeconds=3)
    run_at = datetime.fromisoformat(job["runAt"])
    sqs = aws(local_stack, "sqs")
    for copy in range(10):
        body = job_message_body(job["jobId"], run_at if copy % 2 else None)
        sqs.send_message(QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=body)

    # Then the job runs once, not before its time, and no message is dead-lettered
    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"]) == ("SUCCEEDED", 1)
    assert datetime.fromisoformat(done["startedAt"]) >= run_at
    dead = sqs.get_queue_attributes(
        QueueUrl=local_stack.queue_url("DeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_cancelled_scheduled_job_never_runs_and_its_schedule_is_deleted(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job on the Scheduler path, and a stray early copy of its message
    job = submit_delayed(api, delaySeconds=4)
    aws(local_stack, "sqs").send_message(
        QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=json.dumps({"jobId": job["jobId"]})
    )

    # When it is cancelled
    cancelled = api.delete(f"/jobs/{job['jobId']}")

    # Then the answer is 200 CANCELLED, its schedule is gone, and past its time it has not run
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert f"job-{job['jobId']}" not in schedules_of(local_stack)
    wait_for(lambda: len(api.get(f"/jobs/{job['jobId']}").json()["executions"]) >= 1)
    later = api.get(f"/jobs/{job['jobId']}").json()
    assert (later["status"], later["attempts"], later["startedAt"]) == ("CANCELLED", 0, None)


# --- recurring schedules -----------------------------------------------------------------


def test_a_recurring_schedule_firing_twice_for_one_time_makes_one_job(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a recurring schedule made through the API
    body = {
        "name": "twice",
        "expression": "cron(0 3 * * ? *)",
        "job": {"type": "text.transform", "payload": {"text": "once a night"}},
    }
    made = api.post("/schedules", json=body)
    assert made.status_code == 201, made.text
    assert local_stack.scheduler is not None
    (schedule,) = [each for each in local_stack.scheduler.schedules() if each["Name"].endswith("-twice")]

    # When the local scheduler delivers the same firing twice (as Scheduler may)
    scheduled = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    first = local_stack.scheduler.fire(schedule, scheduled)
    second = local_stack.scheduler.fire(schedule, scheduled)

    # Then one job was made, marked with its schedule, and it runs once
    made_ids = {json.loads(each.payload)["jobId"] for each in (first, second)}
    assert len(made_ids) == 1
    (job_id,) = made_ids
    done = finished(api, job_id)
    assert (done["status"], done["attempts"], done["schedule"]) == ("SUCCEEDED", 1, "twice")
    assert api.delete("/schedules/twice").status_code == 200


# --- the CLI -----------------------------------------------------------------------------


def test_the_cli_submits_a_delayed_job_and_manages_a_schedule(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    from .test_cli import cloudqueue

    # A delayed submit reads SCHEDULED with its runAt; --delay and --at together are refused
    submitted = cloudqueue(
        local_stack, "submit", "text.transform", '{"text": "cli"}', "--delay", "2", "--json"
    )
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert (job["status"], bool(job["runAt"])) == ("SCHEDULED", True)
    both = cloudqueue(
        local_stack, "submit", "text.transform", "{}", "--delay", "2", "--at", "2030-01-01T00:00:00Z"
    )
    assert both.returncode == 2
    assert "not both" in both.stderr

    # A schedule is created, listed, paused, resumed and deleted
    made = cloudqueue(
        local_stack, "schedules", "create", "cli-nightly", "cron(0 2 * * ? *)", "text.transform",
        '{"text": "n"}', "--timezone", "Europe/Paris", "--key", "reports", "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["timezone"] == "Europe/Paris"
    assert json.loads(made.stdout)["job"]["concurrencyKey"] == "reports"
    listed = json.loads(cloudqueue(local_stack, "schedules", "list", "--json").stdout)
    assert "cli-nightly" in {each["name"] for each in listed["schedules"]}
    paused = json.loads(cloudqueue(local_stack, "schedules", "pause", "cli-nightly", "--json").stdout)
    assert paused["state"] == "DISABLED"
    resumed = json.loads(cloudqueue(local_stack, "schedules", "resume", "cli-nightly", "--json").stdout)
    assert resumed["state"] == "ENABLED"
    assert cloudqueue(local_stack, "schedules", "delete", "cli-nightly").returncode == 0
    missing = cloudqueue(local_stack, "schedules", "get", "cli-nightly")
    assert missing.returncode != 0
    assert "schedule_not_found" in missing.stderr
    bad = cloudqueue(
        local_stack, "schedules", "create", "x", "cron(0 2 * * *)", "text.transform", '{"text": "n"}'
    )
    assert bad.returncode != 0
    assert "6 fields" in bad.stderr
    finished(api, job["jobId"])


def test_the_dev_console_says_a_delayed_job_is_scheduled_then_runs_it(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    from cloudqueue_local.devtools.console import JobEvents

    from .test_function_logs import lines_of

    lines: list[str] = []
    events = JobEvents(lines.append)
    local_stack.runtime.observers.append(events.observe)
    try:
        job = submit_delayed(api, delaySeconds=1)
        finished(api, job["jobId"])
        wait_for(lambda: any("SUCCEEDED" in line for line in lines_of(lines, job["jobId"])))
    finally:
        local_stack.runtime.observers.remove(events.observe)

    shown = lines_of(lines, job["jobId"])
    assert f"SCHEDULED for {job['runAt']}" in shown[0]
    assert any("IN_PROGRESS" in line for line in shown[1:])


class FailingSendsTo:
    """An SQS client whose sends to one queue fail, as a throttled or denied target does."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def send_message(self, **request: Any) -> Any:
        if request["QueueUrl"] == self.queue_url:
            self.refused += 1
            raise self.client.exceptions.QueueDoesNotExist(
                {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "refused"}},
                "SendMessage",
            )
        return self.client.send_message(**request)


def test_a_delayed_send_that_keeps_failing_goes_to_the_dead_letter_queue_and_the_job_still_runs(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job on the Scheduler path whose schedule retries once (Scheduler's default is for
    # a day), and a job queue that refuses the scheduler's sends
    scheduler = local_stack.scheduler
    assert scheduler is not None
    job = submit_delayed(api, delaySeconds=4)
    run_at = datetime.fromisoformat(job["runAt"])
    group = next(iter(local_stack.template.schedule_groups.values()))
    client = aws(local_stack, "scheduler")
    schedule = client.get_schedule(Name=f"job-{job['jobId']}", GroupName=group)
    assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(
        local_stack.queue_url("DeadLetterQueue").rsplit("/", 1)[1]
    )
    client.update_schedule(
        **{key: schedule[key] for key in ("Name", "GroupName", "ScheduleExpression", "FlexibleTimeWindow")},
        ActionAfterCompletion=schedule["ActionAfterCompletion"],
        Target=schedule["Target"]
        | {"RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60}},
    )
    failing = FailingSendsTo(scheduler.sqs, local_stack.queue_url("JobQueue"))
    dead_lettered_before = scheduler.dead_lettered
    scheduler.sqs = failing
    try:
        # When its time comes: the send fails, is tried once more, and goes to the dead-letter queue
        wait_for(lambda: scheduler.dead_lettered > dead_lettered_before, timeout=30)
    finally:
        scheduler.sqs = failing.client

    # Then the dead-letter consumer sent the job's message again, and the job ran once, not
    # before its time; its schedule is gone
    assert failing.refused == 2
    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"]) == ("SUCCEEDED", 1)
    assert datetime.fromisoformat(done["startedAt"]) >= run_at
    assert f"job-{job['jobId']}" not in schedules_of(local_stack)
