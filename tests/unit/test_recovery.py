"""No job lost, none stuck: dead-lettered jobs end FAILED, stranded jobs are sent again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cloudqueue.models import Job, JobStatus
from cloudqueue.recovery import DEAD_LETTERED, fail_dead_lettered_job, requeue_stranded_jobs
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

QUEUED_FOR = timedelta(minutes=15)
LEASE_GRACE = timedelta(minutes=5)


def dead_letter(store: FakeJobStore, body: str, *, at: datetime = T0, receive_count: int = 3):
    return fail_dead_lettered_job(body, receive_count=receive_count, store=store, now=at)


def sweep(store: FakeJobStore, queue: FakeJobQueue, *, at: datetime):
    return requeue_stranded_jobs(
        store=store, queue=queue, now=at, queued_for=QUEUED_FOR, lease_expired_for=LEASE_GRACE
    )


# --- dead letters -------------------------------------------------------------------------


def test_a_dead_lettered_queued_job_is_failed_saying_why():
    # Given a job that never got claimed
    job = make_job()
    store = FakeJobStore(job)

    # When its message arrives from the dead-letter queue after 3 receives
    outcome = dead_letter(store, job_message(job.job_id), receive_count=3, at=later(60))

    # Then the job FAILED with a DeadLettered error that says what happened
    stored = store.get_job(job.job_id)
    assert outcome.failed
    assert not outcome.retry_later
    assert stored.status is JobStatus.FAILED
    assert stored.error.type == DEAD_LETTERED
    assert "received 3 times" in stored.error.message
    assert "dead-letter queue" in stored.error.message
    assert stored.finished_at == later(60)


def test_a_dead_lettered_job_whose_lease_expired_is_failed():
    job = make_job(status=JobStatus.IN_PROGRESS, lease_token="t", lease_expires_at=later(30).timestamp())
    store = FakeJobStore(job)

    outcome = dead_letter(store, job_message(job.job_id), at=later(31))

    stored = store.get_job(job.job_id)
    assert outcome.failed
    assert stored.status is JobStatus.FAILED
    assert stored.lease_token is None


def test_a_dead_lettered_job_a_live_worker_holds_is_left_and_looked_at_later():
    # Given a worker that is still working on the job
    job = make_job(status=JobStatus.IN_PROGRESS, lease_token="t", lease_expires_at=later(30).timestamp())
    store = FakeJobStore(job)
    before = store.snapshot()

    # When its (older) message is dead-lettered meanwhile
    outcome = dead_letter(store, job_message(job.job_id), at=later(10))

    # Then the job is not failed under its worker; the caller should keep the message
    assert not outcome.failed
    assert outcome.retry_later
    assert outcome.job_id == job.job_id
    assert store.snapshot() == before


def test_a_dead_lettered_job_that_already_finished_is_left_alone():
    job = make_job(status=JobStatus.SUCCEEDED, result={"ok": True})
    store = FakeJobStore(job)
    before = store.snapshot()

    outcome = dead_letter(store, job_message(job.job_id))

    assert not outcome.failed
    assert not outcome.retry_later
    assert "SUCCEEDED" in outcome.reason
    assert store.snapshot() == before


def test_an_unreadable_dead_letter_is_dropped_without_touching_any_job():
    store = FakeJobStore(make_job())
    before = store.snapshot()

    outcome = dead_letter(store, "definitely not a job message")

    assert outcome.job_id is None
    assert not outcome.failed
    assert not outcome.retry_later
    assert store.snapshot() == before


def test_a_dead_letter_for_a_job_that_does_not_exist_needs_nothing():
    outcome = dead_letter(FakeJobStore(), job_message(job_id(9)))

    assert (outcome.job_id, outcome.failed, outcome.retry_later) == (job_id(9), False, False)
    assert outcome.reason == "no such job"


# --- stranded jobs ------------------------------------------------------------------------


def stranded_world() -> tuple[FakeJobStore, dict[str, Job]]:
    """One job of each kind, as seen 20 minutes after T0."""
    jobs = {
        "old queued": make_job(job_id=job_id(1)),
        "fresh queued": make_job(job_id=job_id(2), updated_at=later(19 * 60)),
        "dead worker": make_job(
            job_id=job_id(3),
            status=JobStatus.IN_PROGRESS,
            lease_token="t",
            lease_expires_at=later(60).timestamp(),
        ),
        "just expired": make_job(
            job_id=job_id(4),
            status=JobStatus.IN_PROGRESS,
            lease_token="t",
            lease_expires_at=later(19 * 60).timestamp(),
        ),
        "live worker": make_job(
            job_id=job_id(5),
            status=JobStatus.IN_PROGRESS,
            lease_token="t",
            lease_expires_at=later(21 * 60).timestamp(),
        ),
        "succeeded": make_job(job_id=job_id(6), status=JobStatus.SUCCEEDED),
        "cancelled": make_job(job_id=job_id(7), status=JobStatus.CANCELLED),
    }
    return FakeJobStore(*jobs.values()), jobs


def test_stranded_jobs_are_sent_again_once_each():
    # Given a job QUEUED 20 minutes ago and a job whose lease expired 19 minutes ago, among others
    store, jobs = stranded_world()
    queue = FakeJobQueue()

    # When the sweep runs
    report = sweep(store, queue, at=later(20 * 60))

    # Then exactly those two are sent, once each
    expected = sorted([jobs["old queued"].job_id, jobs["dead worker"].job_id])
    assert sorted(queue.sent) == expected
    assert sorted(report.requeued) == expected
    assert report.skipped == []


def test_a_second_sweep_right_after_sends_nothing_for_the_queued_job():
    store, jobs = stranded_world()
    queue = FakeJobQueue()
    sweep(store, queue, at=later(20 * 60))
    queue.sent.clear()

    sweep(store, queue, at=later(20 * 60 + 1))

    assert jobs["old queued"].job_id not in queue.sent


class ChangingStore(FakeJobStore):
    """A store in which something else happens to the jobs between the scan and the requeue."""

    def __init__(self, *jobs: Job, meanwhile) -> None:
        super().__init__(*jobs)
        self.meanwhile = meanwhile

    def find_stranded_jobs(self, **kwargs) -> list[Job]:
        found = super().find_stranded_jobs(**kwargs)
        self.meanwhile(self)
        return found


def test_a_stranded_job_that_changed_since_the_scan_is_skipped():
    # Given a stranded QUEUED job that a worker claims right after the sweep found it
    job = make_job()
    store = ChangingStore(
        job,
        meanwhile=lambda store: store.claim_job(
            job.job_id, execution_id="late", lease_token="t", now=later(20 * 60), lease_seconds=60
        ),
    )
    queue = FakeJobQueue()

    # When the sweep goes on
    report = sweep(store, queue, at=later(20 * 60))

    # Then it sends nothing for it
    assert queue.sent == []
    assert report.skipped == [job.job_id]


def _same_data(store: FakeJobStore) -> FakeJobStore:
    """The same jobs seen through a plain store (one that does not run ``meanwhile`` again)."""
    plain = FakeJobStore()
    plain.jobs, plain.keys = store.jobs, store.keys
    return plain


def test_two_overlapping_sweeps_send_one_message():
    # Given a stranded job, and a second sweep that runs while the first is between scan and send
    job = make_job()
    other_queue = FakeJobQueue()
    store = ChangingStore(
        job, meanwhile=lambda store: sweep(_same_data(store), other_queue, at=later(20 * 60))
    )
    queue = FakeJobQueue()

    # When the first sweep goes on
    sweep(store, queue, at=later(20 * 60))

    # Then between them the job was sent once
    assert queue.sent + other_queue.sent == [job.job_id]


def test_a_job_whose_send_failed_is_sent_by_a_later_sweep():
    # Given a stranded job and a queue that is down
    job = make_job()
    store = FakeJobStore(job)
    queue = FakeJobQueue(fail=True)

    # When a sweep runs, the send error surfaces (the scheduled invocation fails)
    with pytest.raises(QueueUnavailable):
        sweep(store, queue, at=later(20 * 60))

    # Then once the queue is back, a later sweep sends the job: it is late, not lost
    queue.fail = False
    sweep(store, queue, at=later(20 * 60) + QUEUED_FOR + timedelta(seconds=1))
    assert queue.sent == [job.job_id]
