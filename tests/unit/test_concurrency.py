"""Per-key concurrency: a slot is a lease. Each case on the fake store and on DynamoDB (moto):
at most the limit of a type+key hold a live lease; different keys never block each other; an
expired lease frees its slot; finalize releases it, fenced by the lease token; and a claim
that finds no slot re-sends the job's message, delayed, and answers WAITING."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from cloudqueue.models import ClaimRequest, Job, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.workflow import SLOT_RETRY_SECONDS, claim_job
from tests.fakes import FakeJobQueue, FakePoisonMessages, job_message, later, make_job
from tests.unit.test_store_contract import (
    LEASE,
    START,
    dynamodb,  # noqa: F401  (a fixture, asked for by name)
    each_store,
)

TABLE = "cloudqueue-concurrency-jobs"


@pytest.fixture(params=["fake", "dynamodb"])
def slot_store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    yield from each_store(request, TABLE)


def keyed(store: JobStore, key: str = "tenant-a", *, limit: int = 2) -> Job:
    job = make_job(
        type="demo.sleep",
        payload={"seconds": 1},
        created_at=START,
        updated_at=START,
        concurrency_key=key,
        concurrency_limit=limit,
    )
    store.create_job(job)
    return job


def claim(store: JobStore, job: Job, at: datetime = START, token: str | None = None):
    return store.claim_job(
        job.job_id,
        message_id=f"m-{job.job_id}",
        execution_id=f"run-{job.job_id}",
        lease_token=token or f"token-{job.job_id}",
        now=at,
        lease_seconds=LEASE,
    )


def test_at_most_the_limit_of_one_key_are_claimed(slot_store):
    jobs = [keyed(slot_store) for _ in range(4)]

    attempts = [claim(slot_store, job) for job in jobs]

    assert [attempt.claimed for attempt in attempts] == [True, True, False, False]
    assert [attempt.waiting for attempt in attempts] == [False, False, True, True]
    assert slot_store.get_job(jobs[2].job_id).status is JobStatus.QUEUED
    assert {slot_store.get_job(job.job_id).slot_index for job in jobs[:2]} == {0, 1}


def test_different_keys_do_not_block_each_other(slot_store):
    a = [keyed(slot_store, "a") for _ in range(2)]
    b = keyed(slot_store, "b")
    unkeyed = make_job(type="demo.sleep", payload={"seconds": 1}, created_at=START, updated_at=START)
    slot_store.create_job(unkeyed)

    for job in a:
        assert claim(slot_store, job).claimed

    assert claim(slot_store, b).claimed
    assert claim(slot_store, unkeyed).claimed


def test_finalize_releases_the_slot_and_the_waiting_job_takes_it(slot_store):
    first, second, waiting = (keyed(slot_store) for _ in range(3))
    claim(slot_store, first)
    claim(slot_store, second)
    assert claim(slot_store, waiting).waiting

    slot_store.finish_job(
        first.job_id,
        lease_token=f"token-{first.job_id}",
        status=JobStatus.SUCCEEDED,
        result={},
        error=None,
        now=later(1, START),
    )

    assert claim(slot_store, waiting, at=later(2, START)).claimed


def test_a_dead_workers_slot_frees_when_its_lease_expires(slot_store):
    dead, alive, waiting = (keyed(slot_store) for _ in range(3))
    claim(slot_store, dead)
    claim(slot_store, alive, at=later(30, START))

    assert claim(slot_store, waiting, at=later(LEASE - 1, START)).waiting
    assert claim(slot_store, waiting, at=later(LEASE, START)).claimed
    # The dead worker's own job, re-claimed later, waits like any other: both slots are live.
    assert claim(slot_store, dead, at=later(LEASE + 1, START), token="again").waiting


def test_a_stale_workers_release_frees_nothing(slot_store):
    stale, taker = keyed(slot_store, limit=1), keyed(slot_store, limit=1)
    claim(slot_store, stale)
    assert claim(slot_store, taker, at=later(LEASE, START)).claimed  # the stale one's slot expired

    slot_store.release_slot(slot_store.get_job(stale.job_id), f"token-{stale.job_id}")

    third = keyed(slot_store, limit=1)
    assert claim(slot_store, third, at=later(LEASE + 1, START)).waiting


def test_a_claim_that_finds_no_slot_resends_its_message_delayed_and_answers_waiting(slot_store):
    for _ in range(2):
        claim(slot_store, keyed(slot_store))
    waiting = keyed(slot_store)
    queue = FakeJobQueue()
    request = ClaimRequest.model_validate(
        {"message": {"messageId": "m-1", "body": job_message(waiting.job_id)}, "executionId": "run-9"}
    )

    response = claim_job(
        request,
        store=slot_store,
        poison=FakePoisonMessages(),
        now=later(1, START),
        lease_seconds=LEASE,
        submit_grace_seconds=15,
        queue=queue,
    )

    # The execution succeeds (its message is deleted); a new one comes back in a second, so the
    # waiting job uses up no receive and is never dead-lettered
    assert response.outcome == "WAITING"
    assert (queue.sent, queue.delays) == ([waiting.job_id], [(waiting.job_id, None, SLOT_RETRY_SECONDS)])
    seen = slot_store.get_job(waiting.job_id)
    assert (seen.status, seen.waiting_for, seen.attempts) == (JobStatus.QUEUED, "concurrency", 0)
