"""Cancelling a running job: the mark, finalize turning it into CANCELLED, and the race between
a cancel and finalize stepped both ways, on the fake store and on DynamoDB (moto) alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudqueue import jobs
from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.callers import Caller
from cloudqueue.errors import JobNotCancellable, LeaseLost
from cloudqueue.models import FinalizeRequest, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.workflow import finalize_job
from tests.fakes import FakeJobStore, later
from tests.unit.test_dynamodb_store import create_jobs_table
from tests.unit.test_store_contract import (
    START,
    dynamodb,  # noqa: F401  (a fixture, asked for by name)
    given,
    given_leased,
    stored,
)

ANYONE = Caller(owner="anonymous", admin=False)
TABLE = "cloudqueue-cancel-jobs"


@pytest.fixture(params=["fake", "dynamodb"])
def job_store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    """Each case on the fake (stepped in order by the test) and on DynamoDB's conditions."""
    if request.param == "fake":
        yield FakeJobStore(clock=lambda: START)
        return
    client = request.getfixturevalue("dynamodb")
    create_jobs_table(client, TABLE)
    try:
        yield DynamoJobStore(TABLE, shards=4, retention_days=30, client=client, clock=lambda: START)
    finally:
        client.delete_table(TableName=TABLE)


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
