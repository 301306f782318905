"""No job lost, none stuck, no backlog multiplied: the dead-letter consumer and the sweeper."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cloudqueue.models import Job, JobStatus
from cloudqueue.recovery import DEAD_LETTERED, DeadLetterAction, handle_dead_letter, send_pending_jobs
from tests.fakes import (
    T0,
    FakeJobQueue,
    FakeJobStore,
    QueueUnavailable,
    job_id,
    job_message,
    later,
    make_job,
)

MAX_RECEIVES = 3
GRACE = timedelta(seconds=15)


def dead_letter(
    store: FakeJobStore,
    body: str,
    *,
    at: datetime = T0,
    receive_count: int = 3,
    queue: FakeJobQueue | None = None,
):
    return handle_dead_letter(
        body,
        receive_count=receive_count,
        store=store,
        queue=queue or FakeJobQueue(),
        now=at,
        max_receive_count=MAX_RECEIVES,
    )


def sweep(
    store: FakeJobStore, queue: FakeJobQueue, *, at: datetime, max_pages: int = 10, page_size: int = 10
):
    return send_pending_jobs(
        store=store,
        queue=queue,
        now=at,
        grace=GRACE,
        page_size=page_size,
        max_pages=max_pages,
        time_left=lambda: 60.0,
    )


def leased(job: Job, *, expires_at: datetime, attempts: int = 1) -> Job:
    return job.model_copy(
        update={
            "status": JobStatus.IN_PROGRESS,
            "attempts": attempts,
            "lease_token": "t",
            "lease_expires_at": expires_at.timestamp(),
        }
    )


# --- dead letters -------------------------------------------------------------------------


def test_a_dead_lettered_job_that_was_never_claimed_is_redriven_once():
    job = make_job()
    store, queue = FakeJobStore(job), FakeJobQueue()

    outcome = dead_letter(store, job_message(job.job_id), queue=queue)

    assert outcome.action is DeadLetterAction.REDRIVEN
    assert queue.sent == [job.job_id]
    assert store.get_job(job.job_id).redrives == 1
    assert store.get_job(job.job_id).status is JobStatus.QUEUED


def test_a_delayed_jobs_send_that_scheduler_dead_lettered_is_sent_again_and_the_job_waits_its_time():
    # Given a job due in an hour whose one-time schedule failed to send its message for a day:
    # Scheduler puts the schedule's input, the job's message, in the dead-letter queue
    from cloudqueue.adapters.sqs import job_message_body

    due = later(3600)
    job = make_job(status=JobStatus.SCHEDULED, run_at=due)
    store, queue = FakeJobStore(job), FakeJobQueue()

    # When the dead-letter consumer reads it
    outcome = dead_letter(store, job_message_body(job.job_id, due), receive_count=1, queue=queue)

    # Then the job gets a fresh message, and is still SCHEDULED for its time (the claim holds
    # an early message back until then)
    assert outcome.action is DeadLetterAction.REDRIVEN
    assert queue.sent == [job.job_id]
    stored = store.get_job(job.job_id)
    assert (stored.status, stored.run_at, stored.redrives) == (JobStatus.SCHEDULED, due, 1)


def test_a_dead_lettered_job_whose_worker_died_is_redriven_while_claims_remain():
    job = leased(make_job(), expires_at=later(-1), attempts=2)
    store, queue = FakeJobStore(job), FakeJobQueue()

    outcome = dead_letter(store, job_message(job.job_id), queue=queue)

    assert outcome.action is DeadLetterAction.REDRIVEN
    assert queue.sent == [job.job_id]


def test_a_dead_lettered_job_claimed_max_receive_count_times_is_failed_saying_why():
    job = leased(make_job(), expires_at=later(-1), attempts=MAX_RECEIVES)
    store, queue = FakeJobStore(job), FakeJobQueue()

    outcome = dead_letter(store, job_message(job.job_id), queue=queue, receive_count=3)

    assert outcome.action is DeadLetterAction.FAILED
    assert queue.sent == []
    failed = store.get_job(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error.type == DEAD_LETTERED
    assert "received 3 times" in failed.error.message and "claimed 3 times" in failed.error.message
    assert failed.lease_token is None


def test_a_job_redriven_max_receive_count_times_is_failed_not_redriven_forever():
    job = make_job(redrives=MAX_RECEIVES)
    store, queue = FakeJobStore(job), FakeJobQueue()

    assert dead_letter(store, job_message(job.job_id), queue=queue).action is DeadLetterAction.FAILED
    assert queue.sent == []


def test_a_dead_lettered_job_a_live_worker_holds_is_kept_and_looked_at_later():
    job = leased(make_job(), expires_at=later(60), attempts=MAX_RECEIVES)
    store, queue = FakeJobStore(job), FakeJobQueue()
    before = store.snapshot()

    outcome = dead_letter(store, job_message(job.job_id), queue=queue)

    assert outcome.action is DeadLetterAction.KEEP
    assert store.snapshot() == before and queue.sent == []


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_dead_lettered_job_that_already_finished_is_consumed(status):
    job = make_job(status=status)
    store, queue = FakeJobStore(job), FakeJobQueue()
    before = store.snapshot()

    outcome = dead_letter(store, job_message(job.job_id), queue=queue)

    assert outcome.action is DeadLetterAction.CONSUMED
    assert store.snapshot() == before and queue.sent == []


@pytest.mark.parametrize(
    "body", ["not json", '{"jobId": "idem#abc"}', '{"other": 1}', job_message(job_id(404))]
)
def test_a_dead_letter_naming_no_job_is_poison_and_touches_nothing(body):
    store, queue = FakeJobStore(make_job()), FakeJobQueue()
    before = store.snapshot()

    outcome = dead_letter(store, body, queue=queue)

    assert outcome.action is DeadLetterAction.POISON
    assert store.snapshot() == before and queue.sent == []


def test_a_redrive_whose_send_fails_raises_so_the_dead_letter_is_kept():
    job = make_job()
    store = FakeJobStore(job)

    with pytest.raises(QueueUnavailable):
        dead_letter(store, job_message(job.job_id), queue=FakeJobQueue(fail=True))


# --- the sweeper: pending sends only --------------------------------------------------------


def pending(n: int, *, since: datetime, status: JobStatus = JobStatus.QUEUED) -> Job:
    return make_job(job_id=job_id(n), status=status, pending_since=int(since.timestamp()))


def test_a_queued_job_without_a_pending_marker_is_never_sent_however_old():
    # Given a backlog: jobs QUEUED a day ago whose messages wait in the queue.
    store, queue = FakeJobStore(*(make_job(job_id=job_id(n)) for n in range(5))), FakeJobQueue()

    report = sweep(store, queue, at=later(86_400))

    assert queue.sent == [] and report.sent == []


def test_a_pending_send_older_than_the_grace_is_sent_once_and_its_marker_removed():
    store, queue = FakeJobStore(pending(1, since=T0)), FakeJobQueue()

    first = sweep(store, queue, at=later(16))
    second = sweep(store, queue, at=later(17))

    assert first.sent == [job_id(1)] and second.sent == []
    assert queue.sent == [job_id(1)]
    assert store.get_job(job_id(1)).pending_since is None


@pytest.mark.parametrize(
    ("seconds", "sent"),
    [
        pytest.param(14, False, id="a second before its grace ends"),
        pytest.param(15, True, id="the instant its grace ends"),
    ],
)
def test_a_pending_send_is_sent_from_the_instant_its_grace_ends(seconds, sent):
    # As a lease expires at leaseExpiresAt: the writer had `grace` seconds to send, not more.
    store, queue = FakeJobStore(pending(1, since=T0)), FakeJobQueue()

    report = sweep(store, queue, at=later(seconds))

    assert queue.sent == ([job_id(1)] if sent else [])
    assert (report.waiting, store.get_job(job_id(1)).pending_since is None) == (int(not sent), sent)


def test_a_pending_send_within_the_grace_is_left_to_its_writer():
    store, queue = FakeJobStore(pending(1, since=T0)), FakeJobQueue()

    report = sweep(store, queue, at=later(5))

    assert queue.sent == [] and report.waiting == 1
    assert store.get_job(job_id(1)).pending_since is not None


def test_a_pending_marker_on_a_job_that_left_queued_is_cleared_without_a_send():
    store, queue = FakeJobStore(pending(1, since=T0, status=JobStatus.CANCELLED)), FakeJobQueue()

    report = sweep(store, queue, at=later(60))

    assert queue.sent == [] and report.cleared == [job_id(1)]


def test_one_sweep_reads_a_bounded_number_of_pages_and_the_next_resumes_where_it_stopped():
    store, queue = FakeJobStore(*(pending(n, since=T0) for n in range(10))), FakeJobQueue()

    first = sweep(store, queue, at=later(60), max_pages=2, page_size=3)
    assert first.pages == 2 and len(first.sent) == 6 and not first.finished_pass
    second = sweep(store, queue, at=later(60), max_pages=2, page_size=3)

    assert second.finished_pass
    assert queue.sent == [job_id(n) for n in range(10)]


def test_a_sweep_stops_when_its_time_is_up_and_keeps_its_place():
    store, queue = FakeJobStore(*(pending(n, since=T0) for n in range(4))), FakeJobQueue()

    report = send_pending_jobs(
        store=store, queue=queue, now=later(60), grace=GRACE, page_size=2, max_pages=10, time_left=lambda: 0.0
    )

    assert report.pages == 0 and queue.sent == []


def test_a_pending_job_whose_send_fails_keeps_its_marker_for_the_next_sweep():
    store = FakeJobStore(pending(1, since=T0))

    with pytest.raises(QueueUnavailable):
        sweep(store, FakeJobQueue(fail=True), at=later(60))
    queue = FakeJobQueue()
    sweep(store, queue, at=later(61))

    assert queue.sent == [job_id(1)]
