"""Cancelling a running job: the mark, finalize turning it into CANCELLED, the race between a
cancel and finalize stepped both ways, and a marked job whose worker died ending CANCELLED at
the dead-letter consumer, on the fake store and on DynamoDB (moto) alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudqueue import jobs
from cloudqueue.callers import Caller
from cloudqueue.errors import JobNotCancellable, LeaseLost
from cloudqueue.models import FinalizeRequest, Job, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.recovery import DeadLetterAction, handle_dead_letter
from cloudqueue.workflow import finalize_job
from tests.fakes import FakeJobQueue, job_message, later
from tests.unit.test_store_contract import (
    DEAD,
    EXPIRY,
    LEASE,
    START,
    dynamodb,  # noqa: F401  (a fixture, asked for by name)
    each_store,
    given,
    given_leased,
    stored,
)

ANYONE = Caller(owner="anonymous", admin=False)
TABLE = "cloudqueue-cancel-jobs"


@pytest.fixture(params=["fake", "dynamodb"])
def job_store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    """Each case on the fake (stepped in order by the test) and on DynamoDB's conditions."""
    yield from each_store(request, TABLE)


def finalize(store, job, outcome="SUCCEEDED", *, token="holder", at=None):
    request = FinalizeRequest(
        job_id=job.job_id,
        lease_token=token,
        outcome=outcome,
        result={"answer": 42} if outcome == "SUCCEEDED" else None,
    )
    return finalize_job(request, store=store, now=at or later(2, START))


def test_cancelling_a_running_job_marks_it_and_leaves_it_running(job_store):
    job = given_leased(job_store)

    marked = job_store.cancel_job(job.job_id, later(1, START))

    assert marked.status is JobStatus.IN_PROGRESS
    assert marked.cancel_requested_at == later(1, START)
    assert marked.lease_token == "holder"
    assert stored(job_store, job) == marked


def test_a_second_cancel_keeps_the_first_mark(job_store):
    job = given_leased(job_store)
    job_store.cancel_job(job.job_id, later(1, START))

    again = job_store.cancel_job(job.job_id, later(2, START))

    assert again.cancel_requested_at == later(1, START)


@pytest.mark.parametrize("outcome", ["SUCCEEDED", "FAILED"])
def test_cancel_first_then_finalize_ends_cancelled_and_discards_the_outcome(job_store, outcome):
    job = given_leased(job_store)
    job_store.cancel_job(job.job_id, later(1, START))

    response = finalize(job_store, job, outcome)

    assert response.status is JobStatus.CANCELLED
    after = stored(job_store, job)
    assert after.status is JobStatus.CANCELLED
    assert after.result is None and after.error is None
    assert after.finished_at == later(2, START)


@pytest.mark.parametrize(("outcome", "status"), [("SUCCEEDED", "SUCCEEDED"), ("FAILED", "FAILED")])
def test_finalize_first_then_cancel_is_refused_and_the_outcome_stays(job_store, outcome, status):
    job = given_leased(job_store)
    finalize(job_store, job, outcome)
    finished = stored(job_store, job)

    with pytest.raises(JobNotCancellable) as refused:
        job_store.cancel_job(job.job_id, later(3, START))

    assert refused.value.status == 409
    assert refused.value.details == {"status": status}
    assert stored(job_store, job) == finished


def test_a_retried_finalize_of_a_cancelled_job_answers_cancelled_again(job_store):
    job = given_leased(job_store)
    job_store.cancel_job(job.job_id, later(1, START))
    finalize(job_store, job)

    assert finalize(job_store, job).status is JobStatus.CANCELLED


def test_a_stale_worker_cannot_finalize_a_cancelled_mark_into_anything(job_store):
    job = given_leased(job_store)
    job_store.cancel_job(job.job_id, later(1, START))

    with pytest.raises(LeaseLost):
        finalize(job_store, job, token="someone-else")

    assert stored(job_store, job).status is JobStatus.IN_PROGRESS


def test_the_use_case_cancels_a_running_job_it_may_see(job_store):
    job = given_leased(job_store)

    marked = jobs.cancel_job(job.job_id, store=job_store, now=later(1, START), caller=ANYONE)

    assert marked.status is JobStatus.IN_PROGRESS and marked.cancel_requested_at is not None


def test_a_queued_job_is_still_cancelled_at_once(job_store):
    job = given(job_store)

    assert job_store.cancel_job(job.job_id, later(1, START)).status is JobStatus.CANCELLED


# --- a marked job whose worker died: the dead-letter consumer ends it CANCELLED ------------

AFTER_EXPIRY = later(LEASE + 1, START)
MAX_RECEIVES = 3


def given_abandoned(store: JobStore, *, attempts: int, marked: bool) -> Job:
    """An IN_PROGRESS job whose worker's lease expired, claimed ``attempts`` times; ``marked``:
    a cancel marked it while it ran."""
    return given(
        store,
        status=JobStatus.IN_PROGRESS,
        attempts=attempts,
        started_at=START,
        lease_token="holder",
        lease_expires_at=EXPIRY.timestamp(),
        cancel_requested_at=later(1, START) if marked else None,
    )


def dead_letter(store: Any, job: Job, queue: FakeJobQueue) -> Any:
    return handle_dead_letter(
        job_message(job.job_id),
        receive_count=MAX_RECEIVES,
        store=store,
        queue=queue,
        now=AFTER_EXPIRY,
        max_receive_count=MAX_RECEIVES,
    )


def test_the_dead_letter_write_ends_a_marked_abandoned_job_cancelled_not_failed(job_store):
    job = given_abandoned(job_store, attempts=1, marked=True)

    ended = job_store.fail_abandoned_job(job.job_id, error=DEAD, now=AFTER_EXPIRY)

    assert ended is not None and ended == stored(job_store, job)
    assert ended.status is JobStatus.CANCELLED
    assert ended.error is None and ended.result is None
    assert ended.finished_at == AFTER_EXPIRY
    assert ended.lease_token is None and ended.lease_expires_at is None
    assert ended.cancel_requested_at == later(1, START)


def test_the_dead_letter_write_still_fails_an_unmarked_abandoned_job(job_store):
    job = given_abandoned(job_store, attempts=1, marked=False)

    ended = job_store.fail_abandoned_job(job.job_id, error=DEAD, now=AFTER_EXPIRY)

    assert ended is not None and ended.status is JobStatus.FAILED and ended.error == DEAD


def test_the_dead_letter_write_leaves_a_marked_job_a_live_worker_holds(job_store):
    job = given_abandoned(job_store, attempts=1, marked=True)
    before = stored(job_store, job)

    assert job_store.fail_abandoned_job(job.job_id, error=DEAD, now=later(LEASE - 1, START)) is None
    assert stored(job_store, job) == before


@pytest.mark.parametrize("attempts", [1, MAX_RECEIVES], ids=["claims left", "claimed as often as received"])
def test_a_dead_lettered_marked_job_ends_cancelled_and_is_not_run_again(job_store, attempts):
    # Given a running job a cancel marked, whose worker died (its lease expired)
    job = given_abandoned(job_store, attempts=attempts, marked=True)
    queue = FakeJobQueue()

    # When its message reaches the dead-letter consumer
    outcome = dead_letter(job_store, job, queue)

    # Then it is CANCELLED, not FAILED, and no fresh message runs its code again
    assert outcome.action is DeadLetterAction.CANCELLED
    assert stored(job_store, job).status is JobStatus.CANCELLED
    assert stored(job_store, job).error is None
    assert queue.sent == []


class MarkedAfterRead:
    """The store, with a cancel marking the job just after the consumer read it unmarked."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def get_job(self, job_id: str, **options: Any) -> Job | None:
        job = self.store.get_job(job_id, **options)
        self.store.cancel_job(job_id, later(LEASE + 0.5, START))
        return job

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_cancel_that_marks_the_job_between_the_consumers_read_and_write_still_wins(job_store):
    # Given an abandoned job claimed as often as received, read unmarked (a FAILED verdict)
    job = given_abandoned(job_store, attempts=MAX_RECEIVES, marked=False)

    # When a cancel marks it before the consumer's write
    outcome = dead_letter(MarkedAfterRead(job_store), job, FakeJobQueue())

    # Then the write's condition sees the mark: CANCELLED, as the cancel's 202 promised
    assert outcome.action is DeadLetterAction.CANCELLED
    assert stored(job_store, job).status is JobStatus.CANCELLED
    assert stored(job_store, job).error is None
