"""Delayed jobs: the submit's delaySeconds / runAt, the two paths (SQS DelaySeconds, a one-time
Scheduler schedule), the claim that never starts a job early, and cancel before its time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloudqueue.adapters.sqs import job_message_body
from cloudqueue.callers import Caller
from cloudqueue.errors import EnqueueFailed
from cloudqueue.handlers import api
from cloudqueue.jobs import cancel_job, submit_job
from cloudqueue.models import ClaimRequest, JobStatus, utc_now
from cloudqueue.workflow import MAX_MESSAGE_DELAY_SECONDS, claim_job
from tests.fakes import (
    T0,
    FakeDelayedSends,
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakePoisonMessages,
    FakeWorkflow,
    answer_of,
    claim_event,
    execution_arn,
    http_event,
    make_job,
)

A_JOB = {"type": "text.transform", "payload": {"text": "later"}}


def submit(
    store: FakeJobStore,
    queue: FakeJobQueue,
    sends: FakeDelayedSends,
    *,
    run_at: datetime | None,
    limit: int = 900,
) -> Any:
    job, _ = submit_job(
        "text.transform",
        {"text": "later"},
        store=store,
        queue=queue,
        now=T0,
        retention_days=30,
        run_at=run_at,
        delayed_sends=sends,
        sqs_delay_limit_seconds=limit,
    )
    return job


def claim(store: FakeJobStore, queue: FakeJobQueue, body: str, *, at: datetime, message: str = "m-1") -> Any:
    request = ClaimRequest.model_validate(
        claim_event(body=body, message_id=message, execution_id=execution_arn(message))
    )
    return claim_job(
        request,
        store=store,
        poison=FakePoisonMessages(),
        now=at,
        lease_seconds=60,
        submit_grace_seconds=15,
        queue=queue,
    )


# --- the two paths -----------------------------------------------------------------------


def test_a_job_due_within_15_minutes_is_scheduled_and_held_back_by_sqs() -> None:
    # Given a job due in 90 s
    store, queue, sends = FakeJobStore(), FakeJobQueue(), FakeDelayedSends()
    due = T0 + timedelta(seconds=90)

    # When it is submitted
    job = submit(store, queue, sends, run_at=due)

    # Then it is SCHEDULED until then, its message is held back 90 s and says when it is due
    assert store.jobs[job.job_id].status is JobStatus.SCHEDULED
    assert store.jobs[job.job_id].run_at == due
    assert queue.delays == [(job.job_id, due, 90)]
    assert sends.schedules == {}
    # And it is kept its retention after it is due, not after it was submitted
    assert job.expires_at == int((due + timedelta(days=30)).timestamp())


def test_a_job_due_later_than_sqs_can_hold_goes_by_a_one_time_schedule() -> None:
    # Given a job due in a week
    store, queue, sends = FakeJobStore(), FakeJobQueue(), FakeDelayedSends()
    due = T0 + timedelta(days=7)

    # When it is submitted
    job = submit(store, queue, sends, run_at=due)

    # Then a schedule will send its message then; nothing is in the queue yet
    assert sends.schedules == {job.job_id: due}
    assert queue.sent == []
    assert store.jobs[job.job_id].status is JobStatus.SCHEDULED


def test_the_threshold_is_a_setting_so_a_short_delay_can_take_the_scheduler_path() -> None:
    store, queue, sends = FakeJobStore(), FakeJobQueue(), FakeDelayedSends()

    job = submit(store, queue, sends, run_at=T0 + timedelta(seconds=5), limit=2)

    assert job.job_id in sends.schedules
    assert queue.sent == []


def test_a_schedule_that_cannot_be_made_writes_nothing() -> None:
    # Given Scheduler refusing  When a job due in a week is submitted
    store, queue, sends = FakeJobStore(), FakeJobQueue(), FakeDelayedSends(fail=True)
    with pytest.raises(EnqueueFailed):
        submit(store, queue, sends, run_at=T0 + timedelta(days=7))

    # Then nothing is kept (enqueue-before-write, the Scheduler path too)
    assert store.jobs == {}


# --- never early -------------------------------------------------------------------------


def test_an_early_message_is_put_back_until_due_without_touching_the_job() -> None:
    # Given a SCHEDULED job due in 100 s, and its message delivered now (a duplicate)
    due = T0 + timedelta(seconds=100)
    job = make_job(status=JobStatus.SCHEDULED, run_at=due)
    store, queue = FakeJobStore(job), FakeJobQueue()
    before = store.snapshot()

    # When the claim runs
    answer = claim(store, queue, job_message_body(job.job_id, due), at=T0)

    # Then it answers DEFERRED (the execution succeeds: no receive used up, nothing
    # dead-lettered), the message is sent again to come back at the due time, and the job is untouched
    assert answer.outcome == "DEFERRED"
    assert queue.delays == [(job.job_id, due, 100)]
    assert store.snapshot() == before


def test_a_message_that_does_not_say_it_is_early_is_put_back_by_the_table() -> None:
    # Given a SCHEDULED job due in a day, and a message without runAt (a redrive, a resend)
    due = T0 + timedelta(days=1)
    job = make_job(status=JobStatus.SCHEDULED, run_at=due)
    store, queue = FakeJobStore(job), FakeJobQueue()

    # When the claim runs
    answer = claim(store, queue, job_message_body(job.job_id), at=T0)

    # Then the job is not claimed; the message comes back after SQS's longest delay
    assert answer.outcome == "DEFERRED"
    assert store.jobs[job.job_id].status is JobStatus.SCHEDULED
    assert store.jobs[job.job_id].attempts == 0
    assert queue.delays == [(job.job_id, due, MAX_MESSAGE_DELAY_SECONDS)]


def test_a_scheduled_job_is_claimed_from_its_due_time() -> None:
    due = T0 + timedelta(seconds=30)
    job = make_job(status=JobStatus.SCHEDULED, run_at=due)
    store, queue = FakeJobStore(job), FakeJobQueue()

    answer = claim(store, queue, job_message_body(job.job_id, due), at=due)

    assert answer.outcome == "CLAIMED"
    assert store.jobs[job.job_id].status is JobStatus.IN_PROGRESS
    assert queue.sent == []


def test_a_delayed_job_never_starts_early_while_duplicates_of_its_message_arrive() -> None:
    # Given a job due in 10 minutes, and 200 deliveries of its message (with and without its
    # due time) at random moments from submit to 5 s past the due time
    due = T0 + timedelta(minutes=10)
    job = make_job(status=JobStatus.SCHEDULED, run_at=due)
    store, queue = FakeJobStore(job), FakeJobQueue()
    rng = random.Random(19)
    moments = sorted(T0 + timedelta(seconds=rng.uniform(0, 605)) for _ in range(200))
    outcomes = []

    # When each delivery is claimed at its moment
    for index, moment in enumerate(moments):
        body = job_message_body(job.job_id, due if index % 2 else None)
        answer = claim(store, queue, body, at=moment, message=f"m-{index}")
        outcomes.append((moment, answer.outcome))

    # Then nothing started it before its time; one delivery after it did, the rest were skipped
    claimed = [moment for moment, outcome in outcomes if outcome == "CLAIMED"]
    assert len(claimed) == 1
    assert claimed[0] >= due
    assert store.jobs[job.job_id].started_at is not None
    assert store.jobs[job.job_id].started_at >= due
    assert {outcome for moment, outcome in outcomes if moment < due} == {"DEFERRED"}
    # And each early delivery was put back to come back no earlier than the due time
    assert all(run_at == due or run_at is None for _, run_at, _ in queue.delays)


# --- cancel ------------------------------------------------------------------------------


def test_cancelling_a_scheduled_job_deletes_its_schedule_and_a_late_delivery_does_nothing() -> None:
    # Given a job on the Scheduler path
    store, queue, sends = FakeJobStore(), FakeJobQueue(), FakeDelayedSends()
    due = T0 + timedelta(days=2)
    job = submit(store, queue, sends, run_at=due)

    # When it is cancelled
    cancelled = cancel_job(job.job_id, store=store, now=T0, caller=Caller("anonymous"), delayed_sends=sends)

    # Then it is CANCELLED and its schedule is gone
    assert cancelled.status is JobStatus.CANCELLED
    assert sends.schedules == {}
    # And a message that comes anyway, after its time, does not run it
    answer = claim(store, queue, job_message_body(job.job_id, due), at=due + timedelta(seconds=1))
    assert answer.outcome == "SKIPPED"
    assert store.jobs[job.job_id].status is JobStatus.CANCELLED


# --- the HTTP API ------------------------------------------------------------------------


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    api.settings.cache_clear()
    yield {"store": FakeJobStore(), "queue": FakeJobQueue(), "sends": FakeDelayedSends()}
    api.settings.cache_clear()


def call(fakes: dict[str, Any], method: str, path: str, **event: Any) -> tuple[int, Any]:
    return answer_of(
        api.handler(
            http_event(method, path, **event),
            FakeLambdaContext(),
            store=fakes["store"],
            queue=fakes["queue"],
            log=FakeExecutionLog(),
            workflow=FakeWorkflow(),
            delayed_sends=fakes["sends"],
        )
    )


def test_a_submit_with_delay_seconds_answers_a_scheduled_job_with_its_run_at(fakes) -> None:
    before = utc_now()
    status, body = call(fakes, "POST", "/jobs", body=A_JOB | {"delaySeconds": 60})

    assert status == 202
    assert body["status"] == "SCHEDULED"
    run_at = datetime.fromisoformat(body["runAt"])
    assert before + timedelta(seconds=60) <= run_at <= utc_now() + timedelta(seconds=61)
    assert fakes["queue"].delays[0][2] in (60, 61)


def test_a_submit_with_run_at_in_another_offset_is_due_at_that_instant(fakes) -> None:
    due = (utc_now() + timedelta(hours=2)).replace(microsecond=0)
    text = due.astimezone(UTC).astimezone(__import__("datetime").timezone(timedelta(hours=5))).isoformat()

    status, body = call(fakes, "POST", "/jobs", body=A_JOB | {"runAt": text})

    assert status == 202
    assert datetime.fromisoformat(body["runAt"]) == due
    assert list(fakes["sends"].schedules.values()) == [due]


def test_a_retried_delayed_submit_with_its_key_is_the_same_job(fakes) -> None:
    headers = {"Idempotency-Key": "later-1"}
    first = call(fakes, "POST", "/jobs", body=A_JOB | {"delaySeconds": 600}, headers=headers)
    again = call(fakes, "POST", "/jobs", body=A_JOB | {"delaySeconds": 600}, headers=headers)

    assert (first[0], again[0]) == (202, 200)
    assert again[1]["jobId"] == first[1]["jobId"]


def _in(seconds: float) -> str:
    return (utc_now() + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(
    ("timing", "says"),
    [
        ({"delaySeconds": 5, "runAt": "2030-01-01T00:00:00Z"}, "not both"),
        ({"delaySeconds": 0}, "delaySeconds"),
        ({"delaySeconds": 31_536_001}, "delaySeconds"),
        ({"delaySeconds": "soon"}, "delaySeconds"),
        ({"runAt": "2020-01-01T00:00:00Z"}, "not in the future"),
        ({"runAt": "past"}, "runAt"),
        ({"runAt": "2030-01-01T00:00:00"}, "timezone"),
    ],
)
def test_a_bad_timing_answers_422_saying_what_is_wrong_and_keeps_nothing(fakes, timing, says) -> None:
    status, body = call(fakes, "POST", "/jobs", body=A_JOB | timing)

    assert status == 422
    assert says in body["error"]["message"]
    assert fakes["store"].jobs == {}
    assert fakes["queue"].sent == []


def test_a_run_at_more_than_a_year_ahead_answers_422(fakes) -> None:
    status, body = call(fakes, "POST", "/jobs", body=A_JOB | {"runAt": _in(31_536_000 + 120)})

    assert status == 422
    assert "more than a year" in body["error"]["message"]
    assert fakes["store"].jobs == {}


def test_a_scheduled_job_reads_scheduled_until_it_is_due_then_queued_in_reads_and_listings(fakes) -> None:
    # Given a job due a minute ago that no claim has taken yet (a backlog, or a slot held), one
    # due in an hour, and a keyed one due a minute ago whose claim found every slot held
    now = utc_now().replace(microsecond=0)  # the table keeps milliseconds
    due = make_job(
        status=JobStatus.SCHEDULED, run_at=now - timedelta(minutes=1), created_at=now, updated_at=now
    )
    later = make_job(
        status=JobStatus.SCHEDULED, run_at=now + timedelta(hours=1), created_at=now, updated_at=now
    )
    waiting = make_job(
        status=JobStatus.SCHEDULED,
        run_at=now - timedelta(minutes=1),
        created_at=now,
        updated_at=now,
        concurrency_key="tenant-7",
        waiting_for="concurrency",
    )
    for job in (due, later, waiting):
        fakes["store"].jobs[job.job_id] = job

    # Then a read answers QUEUED from the due time on, SCHEDULED before it, runAt either way
    read = {job.job_id: call(fakes, "GET", f"/jobs/{job.job_id}")[1] for job in (due, later, waiting)}
    assert [read[job.job_id]["status"] for job in (due, later, waiting)] == ["QUEUED", "SCHEDULED", "QUEUED"]
    assert read[waiting.job_id]["waitingFor"] == "concurrency"
    assert datetime.fromisoformat(read[due.job_id]["runAt"]) == due.run_at

    # And the listing's status filter agrees with the reads
    def listed(status: str) -> set[str]:
        return {each["jobId"] for each in call(fakes, "GET", "/jobs", query={"status": status})[1]["jobs"]}

    assert listed("QUEUED") == {due.job_id, waiting.job_id}
    assert listed("SCHEDULED") == {later.job_id}
    # While the table keeps SCHEDULED, which the claim's condition reads
    assert fakes["store"].jobs[due.job_id].status is JobStatus.SCHEDULED


def test_cancelling_a_scheduled_job_through_the_api_answers_200_and_deletes_its_schedule(fakes) -> None:
    _, submitted = call(fakes, "POST", "/jobs", body=A_JOB | {"delaySeconds": 86_400})

    status, body = call(fakes, "DELETE", f"/jobs/{submitted['jobId']}")

    assert status == 200
    assert body["status"] == "CANCELLED"
    assert fakes["sends"].schedules == {}


def test_the_openapi_document_lists_scheduled_and_the_timing_fields(fakes) -> None:
    status, document = call(fakes, "GET", "/openapi.json")

    assert status == 200
    assert "SCHEDULED" in document["components"]["schemas"]["JobStatus"]["enum"]
    submit = document["components"]["schemas"]["SubmitTextTransformJob"]["properties"]
    assert {"delaySeconds", "runAt"} <= set(submit)
