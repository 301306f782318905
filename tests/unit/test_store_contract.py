"""The JobStore contract: one set of cases, run on the in-memory fake and on DynamoJobStore (moto).

The fake (``tests.fakes.FakeJobStore``) stands in for DynamoDB in the workflow, recovery and
API tests, so it must answer as DynamoDB does: where the two disagree, a case here fails on one
of them. Each case uses only the ``JobStore`` port plus ``Given`` helpers that write a state
directly (as another writer would have).

The lease boundary is one rule for both: a lease is live strictly before ``leaseExpiresAt``;
at that instant it has expired (``lifecycle.lease_is_live``; DynamoDB's conditions say
``leaseExpiresAt <= :epoch`` for "expired").

``TestRecoveryContract`` runs the claim rules of the recovery design (claim owner, tombstones,
pending sends) through ``workflow.claim_job`` on both stores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from cloudqueue import errors
from cloudqueue.adapters.dynamodb import DynamoJobStore, to_item
from cloudqueue.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    JobLeased,
    JobNotCancellable,
    JobNotFoundError,
    JobNotRerunnable,
    LeaseLost,
    StoreBusy,
)
from cloudqueue.jobs import request_hash
from cloudqueue.listing import DEFAULT_OWNER, window_days
from cloudqueue.models import ClaimRequest, Job, JobFailure, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.workflow import claim_job
from tests.fakes import FakeJobStore, FakePoisonMessages, job_id, job_message, later, make_job
from tests.unit.test_dynamodb_store import create_jobs_table, walk

TABLE = "cloudqueue-contract-jobs"
LEASE = 60
# A whole second, so that epoch arithmetic is exact and "the instant the lease expires" is one
# float on both stores.
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EXPIRY = later(LEASE, START)
DEAD = JobFailure(type="DeadLettered", message="moved to the dead-letter queue")
TERMINAL = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def each_store(request: pytest.FixtureRequest, table: str) -> Iterator[JobStore]:
    """A fixture's body: the fake store, or DynamoDB (moto) in a table of its own, by the
    fixture's param ("fake" or "dynamodb"; the module provides the ``dynamodb`` fixture)."""
    if request.param == "fake":
        yield FakeJobStore(clock=lambda: START)
        return
    client = request.getfixturevalue("dynamodb")
    create_jobs_table(client, table)
    try:
        yield DynamoJobStore(table, shards=4, retention_days=30, client=client, clock=lambda: START)
    finally:
        client.delete_table(TableName=table)


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    yield from each_store(request, TABLE)


# --- Given: states written directly, as another writer would have left them ----------------


def given(store: JobStore, **fields: Any) -> Job:
    """A stored job (QUEUED unless ``status`` says otherwise), written as it is."""
    job = make_job(**({"created_at": START, "updated_at": START} | fields))
    store.create_job(job)
    return job


def given_leased(store: JobStore, *, token: str = "holder", expires: datetime = EXPIRY) -> Job:
    return given(
        store,
        status=JobStatus.IN_PROGRESS,
        attempts=1,
        started_at=START,
        lease_token=token,
        lease_expires_at=expires.timestamp(),
    )


def given_key_record(store: JobStore, key: str, *, target: str, payload_hash: str) -> None:
    """An idempotency record naming ``target``, with no job written (yet, or any more)."""
    if isinstance(store, FakeJobStore):
        store.keys[(DEFAULT_OWNER, key)] = (target, payload_hash)
        return
    assert isinstance(store, DynamoJobStore)
    store.client.put_item(
        TableName=store.table_name,
        Item=to_item(
            {"jobId": store.idempotency_item_key(key), "targetJobId": target, "payloadHash": payload_hash}
        ),
    )


def claim(
    store: JobStore,
    job: Job,
    *,
    at: datetime,
    token: str = "new-token",
    execution: str = "run-2",
    message: str = "m-2",
):
    return store.claim_job(
        job.job_id, message_id=message, execution_id=execution, lease_token=token, now=at, lease_seconds=LEASE
    )


def fail_as(store: JobStore, job: Job, *, token: str, at: datetime) -> Job:
    """The worker holding ``token`` finishes the job FAILED (dead-lettered)."""
    return store.finish_job(
        job.job_id, lease_token=token, status=JobStatus.FAILED, result=None, error=DEAD, now=at
    )


def stored(store: JobStore, job: Job) -> Job:
    found = store.get_job(job.job_id)
    assert found is not None
    return found


# --- claim and the lease boundary ----------------------------------------------------------


def test_a_queued_job_is_claimed_with_a_lease_from_now(store):
    job = given(store)

    attempt = claim(store, job, at=START)

    assert attempt.claimed
    assert attempt.job.status is JobStatus.IN_PROGRESS
    assert attempt.job.lease_token == "new-token"
    assert attempt.job.lease_expires_at == EXPIRY.timestamp()
    assert attempt.job.attempts == 1
    assert attempt.job.executions == ["run-2"]
    assert (attempt.job.lease_message_id, attempt.job.lease_execution_id) == ("m-2", "run-2")
    assert stored(store, job) == attempt.job


@pytest.mark.parametrize(
    ("at", "claimed"),
    [
        pytest.param(later(LEASE - 0.001, START), False, id="a millisecond before expiry"),
        pytest.param(EXPIRY, True, id="at the instant of expiry"),
        pytest.param(later(LEASE + 0.001, START), True, id="a millisecond after expiry"),
    ],
)
def test_a_leased_job_is_claimed_again_from_the_instant_its_lease_expires(store, at, claimed):
    job = given_leased(store)

    attempt = claim(store, job, at=at)

    assert attempt.claimed is claimed
    holder = stored(store, job)
    assert holder.lease_token == ("new-token" if claimed else "holder")
    assert holder.attempts == (2 if claimed else 1)
    assert attempt.job == holder


@pytest.mark.parametrize("status", TERMINAL)
def test_a_finished_job_is_not_claimed_and_not_changed(store, status):
    job = given(store, status=status, finished_at=START)
    before = stored(store, job)

    attempt = claim(store, job, at=later(3600, START))

    assert not attempt.claimed
    assert attempt.job == before
    assert stored(store, job) == before


def test_a_job_in_progress_without_a_lease_expiry_is_not_claimed(store):
    # DynamoDB's condition needs leaseExpiresAt to compare; the fake follows it.
    job = given(store, status=JobStatus.IN_PROGRESS, attempts=1, lease_token="holder")
    before = stored(store, job)

    attempt = claim(store, job, at=later(3600, START))

    assert not attempt.claimed
    assert attempt.job == before
    assert stored(store, job) == before


def test_claiming_a_missing_job_reports_no_job_and_creates_none(store):
    missing = make_job()

    attempt = claim(store, missing, at=START)

    assert attempt == type(attempt)(claimed=False, job=None)
    assert store.get_job(missing.job_id) is None


# --- fencing --------------------------------------------------------------------------------


def test_the_lease_holder_finishes_the_job(store):
    job = given_leased(store)

    finished = store.finish_job(
        job.job_id, lease_token="holder", status=JobStatus.SUCCEEDED, result={"n": 1}, error=None, now=START
    )

    assert finished.status is JobStatus.SUCCEEDED
    assert finished.result == {"n": 1}
    assert finished.lease_token == "holder", "kept, so that a retried finalize recognises its write"
    assert finished.lease_expires_at is None
    assert stored(store, job) == finished


def test_a_finalize_retried_after_its_write_returns_the_job_as_written(store):
    job = given_leased(store)
    first = store.finish_job(
        job.job_id, lease_token="holder", status=JobStatus.SUCCEEDED, result={"n": 1}, error=None, now=START
    )

    again = fail_as(store, job, token="holder", at=later(1, START))

    assert again == first
    assert stored(store, job) == first


def test_a_worker_whose_lease_was_taken_over_cannot_finish_the_job(store):
    # Given a job whose first worker's lease expired and a second worker claimed it
    job = given_leased(store, token="first")
    assert claim(store, job, at=later(1, EXPIRY), token="second").claimed
    before = stored(store, job)

    # When the first worker comes back to write its result
    with pytest.raises(LeaseLost):
        store.finish_job(
            job.job_id, lease_token="first", status=JobStatus.SUCCEEDED, result={}, error=None, now=EXPIRY
        )

    # Then the second worker still holds the job, untouched
    assert stored(store, job) == before


@pytest.mark.parametrize("status", [JobStatus.QUEUED, *TERMINAL])
def test_a_job_not_in_progress_cannot_be_finished_by_a_worker_whose_token_it_no_longer_holds(store, status):
    job = given(store, status=status, lease_token="holder")
    before = stored(store, job)

    with pytest.raises(LeaseLost):
        fail_as(store, job, token="earlier-holder", at=START)

    assert stored(store, job) == before


def test_a_queued_job_cannot_be_finished_even_with_its_old_token(store):
    job = given(store, lease_token="holder")
    before = stored(store, job)

    with pytest.raises(LeaseLost):
        store.finish_job(
            job.job_id, lease_token="holder", status=JobStatus.SUCCEEDED, result={}, error=None, now=START
        )

    assert stored(store, job) == before


# --- cancel ---------------------------------------------------------------------------------


def test_a_queued_job_is_cancelled(store):
    job = given(store)

    cancelled = store.cancel_job(job.job_id, later(5, START))

    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == later(5, START)
    assert stored(store, job) == cancelled


def test_a_dead_lettered_scheduled_job_may_be_redriven_and_failed_as_a_queued_one(store):
    # Given a SCHEDULED job whose message was dead-lettered (its claims kept failing)
    job = given(store, status=JobStatus.SCHEDULED, run_at=later(60, START))

    # Then the dead-letter consumer may count a redrive of it, and fail it
    assert store.mark_redriven(job.job_id, START).redrives == 1
    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=START)
    assert failed is not None
    assert failed.status is JobStatus.FAILED


def test_a_scheduled_job_is_cancelled_before_its_time(store):
    job = given(store, status=JobStatus.SCHEDULED, run_at=later(3600, START))

    cancelled = store.cancel_job(job.job_id, later(5, START))

    assert cancelled.status is JobStatus.CANCELLED
    assert stored(store, job) == cancelled


@pytest.mark.parametrize(
    ("at", "claimed"),
    [
        pytest.param(later(59.999, START), False, id="a millisecond before its time"),
        pytest.param(later(60, START), True, id="at its time"),
        pytest.param(later(3600, START), True, id="an hour after"),
    ],
)
def test_a_scheduled_job_is_claimed_from_its_run_at_on(store, at, claimed):
    # Given a job SCHEDULED for START + 60 s
    job = given(store, status=JobStatus.SCHEDULED, run_at=later(60, START))
    before = stored(store, job)

    # When a delivery claims it
    attempt = claim(store, job, at=at)

    # Then it is taken from its time on, and not changed before
    assert attempt.claimed is claimed
    if claimed:
        assert attempt.job.status is JobStatus.IN_PROGRESS
        assert attempt.job.attempts == 1
    else:
        assert attempt.job == before
        assert stored(store, job) == before


@pytest.mark.parametrize("status", TERMINAL)
def test_a_finished_job_is_not_cancelled(store, status):
    job = given(store, status=status)
    before = stored(store, job)

    with pytest.raises(JobNotCancellable) as refused:
        store.cancel_job(job.job_id, START)

    assert refused.value.details == {"status": status.value}
    assert stored(store, job) == before


def test_cancelling_a_missing_job_is_not_found_and_creates_none(store):
    missing = make_job()

    with pytest.raises(JobNotFoundError):
        store.cancel_job(missing.job_id, START)

    assert store.get_job(missing.job_id) is None


# --- tombstones: a submit whose write came too late ----------------------------------------


@pytest.mark.parametrize("key", [None, "k-1"])
def test_a_new_job_is_created_and_says_so(store, key):
    job = make_job(idempotency_key=key)

    assert store.create_job(job) == (job, True)
    assert stored(store, job) == job


def test_a_tombstoned_id_refuses_a_later_create_and_stays_unwritten(store):
    missing = make_job()

    assert store.write_tombstone(missing.job_id, START)

    with pytest.raises(EnqueueFailed, match="given up on before it was stored; retry"):
        store.create_job(missing)
    assert store.get_job(missing.job_id) is None


def test_a_tombstoned_id_refuses_a_later_create_with_an_idempotency_key_and_keeps_the_key_free(store):
    missing = make_job(idempotency_key="k-1")
    assert store.write_tombstone(missing.job_id, START)

    # refused for the tombstone (not taken for a reused key whose record went meanwhile)
    with pytest.raises(EnqueueFailed, match="given up on before it was stored; retry"):
        store.create_job(missing)

    assert store.job_for_idempotency_key("k-1", missing.payload_hash) is None
    retry = make_job(idempotency_key="k-1")
    assert store.create_job(retry) == (retry, True)


def test_an_existing_job_is_not_tombstoned(store):
    job = given(store)
    before = stored(store, job)

    assert not store.write_tombstone(job.job_id, START)

    assert stored(store, job) == before


# --- idempotency ----------------------------------------------------------------------------


def test_a_reused_key_with_the_same_request_returns_the_first_job(store):
    first = given(store, idempotency_key="k-1")

    again = make_job(idempotency_key="k-1")

    assert store.create_job(again) == (stored(store, first), False)
    assert store.get_job(again.job_id) is None


def test_a_reused_key_with_another_request_is_a_conflict_naming_the_first_job(store):
    first = given(store, idempotency_key="k-1")
    other = make_job(idempotency_key="k-1", payload={"text": "something else"})

    with pytest.raises(IdempotencyConflict) as conflict:
        store.create_job(other)

    assert conflict.value.details == {"jobId": first.job_id}
    assert store.get_job(other.job_id) is None


def test_a_reused_key_whose_job_is_not_written_yet_asks_the_client_to_retry(store):
    # Given another request's record for key k-1, whose job write has not landed yet
    payload_hash = request_hash("text.transform", {"text": "hello cloudqueue"})
    given_key_record(store, "k-1", target=job_id(9), payload_hash=payload_hash)

    # When the same request comes again with the same key
    again = make_job(idempotency_key="k-1")
    with pytest.raises(EnqueueFailed, match="is being created; retry"):
        store.create_job(again)

    # Then it made no job
    assert store.get_job(again.job_id) is None


AROUND_EXPIRY = pytest.mark.parametrize(
    ("at", "expired"),
    [
        pytest.param(later(LEASE - 0.001, START), False, id="a millisecond before expiry"),
        pytest.param(EXPIRY, True, id="at the instant of expiry"),
    ],
)


def test_an_idempotency_key_looks_up_the_job_it_made(store):
    first = given(store, idempotency_key="k-1")

    assert store.job_for_idempotency_key("k-1", first.payload_hash) == stored(store, first)
    assert store.job_for_idempotency_key("k-2", first.payload_hash) is None


def test_an_idempotency_key_looked_up_with_another_request_is_a_conflict_naming_its_job(store):
    first = given(store, idempotency_key="k-1")

    with pytest.raises(IdempotencyConflict) as conflict:
        store.job_for_idempotency_key("k-1", "another request")

    assert conflict.value.details == {"jobId": first.job_id}


def test_an_idempotency_key_whose_job_is_not_written_yet_asks_the_client_to_retry(store):
    given_key_record(store, "k-1", target=job_id(9), payload_hash="h")

    with pytest.raises(EnqueueFailed, match="is being created; retry"):
        store.job_for_idempotency_key("k-1", "h")


def test_an_idempotency_key_is_per_owner(store):
    # Given alice's job made with key k-1
    alices = given(store, owner="alice", idempotency_key="k-1")

    # When bob, then the anonymous owner, submit the same request with the same key
    bobs = make_job(owner="bob", idempotency_key="k-1")
    anonymous = make_job(idempotency_key="k-1")

    # Then each is a new job of its own, and each owner's key finds its own job
    assert store.create_job(bobs) == (bobs, True)
    assert store.create_job(anonymous) == (anonymous, True)
    assert store.job_for_idempotency_key("k-1", alices.payload_hash, owner="alice") == stored(store, alices)
    assert store.job_for_idempotency_key("k-1", bobs.payload_hash, owner="bob") == stored(store, bobs)
    assert store.job_for_idempotency_key("k-1", bobs.payload_hash) == stored(store, anonymous)
    assert store.job_for_idempotency_key("k-1", bobs.payload_hash, owner="carol") is None
    # and alice's own retry replays hers
    assert store.create_job(make_job(owner="alice", idempotency_key="k-1")) == (stored(store, alices), False)


def test_another_owners_key_never_conflicts_with_a_request_it_did_not_make(store):
    given(store, owner="alice", idempotency_key="k-1")
    other = make_job(owner="bob", idempotency_key="k-1", payload={"text": "something else"})

    assert store.create_job(other) == (other, True)


# --- the dead-letter guard -----------------------------------------------------------------


def test_a_dead_lettered_queued_job_is_failed(store):
    job = given(store)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=START)

    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error == DEAD
    assert stored(store, job) == failed


@AROUND_EXPIRY
def test_a_dead_lettered_job_is_failed_only_once_its_lease_expired(store, at, expired):
    job = given_leased(store)
    before = stored(store, job)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=at)

    if expired:
        assert failed == stored(store, job)
        assert failed.status is JobStatus.FAILED
        assert failed.lease_token is None
        assert failed.lease_expires_at is None
    else:
        assert failed is None
        assert stored(store, job) == before


def test_a_dead_lettered_job_in_progress_without_a_lease_is_failed(store):
    # An IN_PROGRESS job with no lease expiry has no live worker to wait for.
    job = given(store, status=JobStatus.IN_PROGRESS, lease_token="holder")

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=START)

    assert failed is not None
    assert stored(store, job).status is JobStatus.FAILED


@pytest.mark.parametrize("status", TERMINAL)
def test_a_dead_lettered_finished_job_is_left_as_it_is(store, status):
    job = given(store, status=status, finished_at=START)
    before = stored(store, job)

    assert store.fail_abandoned_job(job.job_id, error=DEAD, now=later(3600, START)) is None
    assert stored(store, job) == before


def test_a_dead_lettered_missing_job_creates_none(store):
    missing = make_job()

    assert store.fail_abandoned_job(missing.job_id, error=DEAD, now=START) is None
    assert store.get_job(missing.job_id) is None


# --- listing --------------------------------------------------------------------------------

CYCLE = [JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


@pytest.fixture
def twelve_jobs(store) -> list[Job]:
    """Twelve jobs of every status, oldest first."""
    return [given(store, job_id=job_id(n), status=CYCLE[n % 5]) for n in range(12)]


@pytest.mark.parametrize("limit", [5, 12])
def test_listing_pages_through_every_job_newest_first_and_the_last_page_says_so(store, twelve_jobs, limit):
    pages = walk(store, None, limit)

    assert [each for page in pages for each in page] == [job.job_id for job in reversed(twelve_jobs)]
    assert [len(page) for page in pages] == [min(limit, 12 - start) for start in range(0, 12, limit)]


def test_listing_one_status_pages_through_its_jobs_newest_first(store, twelve_jobs):
    pages = walk(store, JobStatus.QUEUED, 2)

    assert [each for page in pages for each in page] == [job_id(10), job_id(5), job_id(0)]
    assert all(len(page) <= 2 for page in pages)


def on_day(store: JobStore, days_ago: int, n: int, **fields: Any) -> Job:
    """A job queued ``days_ago`` days before START (the stores' today); ids sort by ``n``."""
    at = START - timedelta(days=days_ago)
    return given(store, job_id=job_id(n), created_at=at, updated_at=at, queued_at=at, **fields)


def ids(jobs: list[Job]) -> list[str]:
    return [job.job_id for job in jobs]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_one_owners_listing_pages_through_their_jobs_newest_day_first_and_no_one_elses(store, limit):
    # Given jobs of two owners (one's name the start of the other's) and anonymous ones, over
    # three days, spread over every shard
    owners = ["ada", "adam", "anonymous"]
    jobs = [on_day(store, days_ago=2 - n // 6, n=n, owner=owners[n % 3]) for n in range(18)]

    # When ada's jobs are listed, page by page
    pages = walk(store, None, limit, owner="ada")

    # Then they are all there, newest first, and only hers: "adam" is not "ada" plus something
    assert [each for page in pages for each in page] == [
        job.job_id for job in reversed(jobs) if job.owner == "ada"
    ]
    assert all(len(page) <= limit for page in pages)


def test_an_administrators_listing_holds_every_owners_jobs_newest_day_first(store):
    jobs = [on_day(store, days_ago=3 - n // 4, n=n, owner=f"owner-{n % 3}") for n in range(16)]

    listed = [each for page in walk(store, None, 3, owner=None) for each in page]

    # Every job once; a day's jobs come before an older day's (within a day, grouped by owner key)
    assert sorted(listed) == sorted(job.job_id for job in jobs)
    days = {job.job_id: job.queued_at for job in jobs}
    assert [days[each] for each in listed] == sorted(days.values(), reverse=True)


def test_a_status_filter_pages_through_its_jobs_in_pages_it_may_leave_short(store):
    # Given 30 jobs over two days, every tenth FAILED
    jobs = [
        on_day(store, days_ago=n // 15, n=30 - n, status=CYCLE[3 if n % 10 == 0 else 0]) for n in range(30)
    ]
    failed = sorted((job.job_id for job in jobs if job.status is JobStatus.FAILED), reverse=True)

    # When the FAILED jobs are listed two a page
    pages = walk(store, JobStatus.FAILED, 2, owner="anonymous")

    # Then each is listed once, newest first; a page that found too few says more may remain
    assert [each for page in pages for each in page] == failed
    assert all(len(page) <= 2 for page in pages)


def test_an_owner_whose_key_collides_with_anothers_is_told_apart_by_the_owner_on_the_job(store, monkeypatch):
    # Given two owners whose keys collide (as two sha256 prefixes could)
    for module in ("cloudqueue.listing", "cloudqueue.adapters.dynamodb.listing", "tests.fakes"):
        monkeypatch.setattr(f"{module}.owner_key", lambda owner: "0" * 16)
    mine = [on_day(store, days_ago=0, n=n, owner="ada") for n in range(0, 6, 2)]
    for n in range(1, 6, 2):
        on_day(store, days_ago=0, n=n, owner="eve")

    # Then ada's listing holds only her jobs
    listed = [each for page in walk(store, None, 2, owner="ada") for each in page]
    assert listed == ids(list(reversed(mine)))


def test_a_status_filter_at_a_time_takes_a_due_scheduled_job_as_queued(store):
    # Given a job due an hour before START, one due an hour after, and a QUEUED one
    due = on_day(store, days_ago=0, n=3, status=JobStatus.SCHEDULED, run_at=START - timedelta(hours=1))
    ahead = on_day(store, days_ago=0, n=2, status=JobStatus.SCHEDULED, run_at=START + timedelta(hours=1))
    queued = on_day(store, days_ago=0, n=1)

    # When they are listed by status as read at START, and as stored
    def listed(status: JobStatus, **at: Any) -> list[str]:
        return ids(store.list_jobs(None, status, 10, None, **at)[0])

    # Then at START the due one is QUEUED, the other SCHEDULED; as stored both are SCHEDULED
    assert listed(JobStatus.QUEUED, now=START) == [due.job_id, queued.job_id]
    assert listed(JobStatus.SCHEDULED, now=START) == [ahead.job_id]
    assert listed(JobStatus.SCHEDULED) == [due.job_id, ahead.job_id]


def test_a_job_is_listed_for_as_long_as_it_can_exist(store):
    # Given jobs queued at the edge of what the window holds: a job may wait in the queue for
    # the queue's retention (14 days), then live RetentionDays (30) after it finished
    window = window_days(30, 1_209_600)
    kept = on_day(store, days_ago=window, n=2)
    on_day(store, days_ago=window + 1, n=1)

    assert ids(store.list_jobs(None, None, 10, None)[0]) == [kept.job_id]


def test_a_cursor_of_another_owners_listing_or_that_no_listing_gave_is_refused(store):
    for n in range(3):
        on_day(store, days_ago=n, n=n, owner="ada")
    _, cursor = store.list_jobs("ada", None, 1, None)
    assert cursor is not None

    with pytest.raises(errors.InvalidPageToken, match="another owner"):
        store.list_jobs("eve", None, 1, cursor)
    for garbage in [
        "",
        "x",
        "2026-01-02|nope",
        f"2026-13-40|{cursor.split('|')[1]}",
        cursor.replace("|", "#"),
    ]:
        with pytest.raises(errors.InvalidPageToken, match="not a token"):
            store.list_jobs("ada", None, 1, garbage)


def test_a_cursor_naming_a_day_after_today_starts_from_today(store):
    job = on_day(store, days_ago=0, n=1, owner="ada")
    _, cursor = store.list_jobs("ada", None, 1, None)
    assert cursor is None
    # A cursor forged a thousand years on (a walk back from it would never end)
    forged = f"3026-01-02|{hashlib.sha256(b'ada').hexdigest()[:16]}#{job_id(2)}"

    assert ids(store.list_jobs("ada", None, 5, forged)[0]) == [job.job_id]


# --- redrives (the dead-letter consumer) ---------------------------------------------------


def test_each_redrive_of_a_queued_job_is_counted(store):
    job = given(store)

    first = store.mark_redriven(job.job_id, later(1, START))
    second = store.mark_redriven(job.job_id, later(2, START))

    assert first is not None and first.redrives == 1
    assert second is not None and second.redrives == 2
    assert stored(store, job) == second
    assert second.status is JobStatus.QUEUED


@AROUND_EXPIRY
def test_a_leased_job_is_redriven_only_once_its_lease_expired(store, at, expired):
    job = given_leased(store)
    before = stored(store, job)

    redriven = store.mark_redriven(job.job_id, at)

    if expired:
        assert redriven is not None
        assert redriven.redrives == 1
        assert stored(store, job) == redriven
    else:
        assert redriven is None
        assert stored(store, job) == before


@pytest.mark.parametrize("status", TERMINAL)
def test_a_finished_job_is_not_redriven(store, status):
    job = given(store, status=status, finished_at=START)
    before = stored(store, job)

    assert store.mark_redriven(job.job_id, later(3600, START)) is None
    assert stored(store, job) == before


def test_redriving_a_missing_job_creates_none(store):
    missing = make_job()

    assert store.mark_redriven(missing.job_id, START) is None
    assert store.get_job(missing.job_id) is None


# --- rerun: FAILED -> QUEUED, with a pending-send marker ------------------------------------

RERUN_HASH = "rerun-request"


def given_failed(store: JobStore, **fields: Any) -> Job:
    values = {
        "status": JobStatus.FAILED,
        "attempts": 1,
        "started_at": START,
        "finished_at": START,
        "error": DEAD,
        "lease_token": "holder",
        "executions": ["run-1"],
    }
    return given(store, **(values | fields))


def rerun(store: JobStore, job: Job, *, at: datetime = START, key: str | None = None) -> tuple[Job, bool]:
    return store.rerun_job(job.job_id, now=at, idempotency_key=key, request_hash=RERUN_HASH)


def test_a_failed_job_is_rerun_once_keeping_its_failed_run(store):
    job = given_failed(store)

    queued, changed = rerun(store, job, at=later(5, START))

    assert changed
    assert queued.status is JobStatus.QUEUED
    assert (queued.error, queued.finished_at, queued.lease_token) == (None, None, None)
    assert [(run.run, run.status, run.error) for run in queued.runs] == [(1, JobStatus.FAILED, DEAD)]
    assert queued.pending_since == int(later(5, START).timestamp())
    assert stored(store, job).model_dump(exclude={"expires_at"}) == queued.model_dump(exclude={"expires_at"})

    # A second rerun (another request, no key) finds it QUEUED: refused, nothing changes
    before = stored(store, job)
    with pytest.raises(JobNotRerunnable):
        rerun(store, job, at=later(6, START))
    assert stored(store, job) == before


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.SUCCEEDED])
def test_only_a_failed_job_is_rerun(store, status):
    job = given(store, status=status)
    before = stored(store, job)

    with pytest.raises(JobNotRerunnable):
        rerun(store, job)

    assert stored(store, job) == before


def test_a_rerun_replayed_with_its_key_returns_the_job_and_reruns_nothing(store):
    job = given_failed(store)
    first, _ = rerun(store, job, key="r-1")

    again, changed = rerun(store, job, at=later(9, START), key="r-1")

    assert not changed
    assert again == stored(store, job)
    assert len(again.runs) == 1
    assert again.pending_since == first.pending_since


def test_a_rerun_key_used_with_another_request_is_a_conflict(store):
    job = given_failed(store)
    rerun(store, job, key="r-1")
    before = stored(store, job)

    with pytest.raises(IdempotencyConflict):
        store.rerun_job(job.job_id, now=later(9, START), idempotency_key="r-1", request_hash="other")

    assert stored(store, job) == before


def test_a_rerun_key_is_the_callers_own(store):
    alices, bobs = given_failed(store, owner="alice"), given_failed(store, owner="bob")
    rerun_hash = "rerun of alices"

    _, first = store.rerun_job(
        alices.job_id, now=later(1, START), idempotency_key="r-1", request_hash=rerun_hash, owner="alice"
    )
    _, second = store.rerun_job(
        bobs.job_id, now=later(1, START), idempotency_key="r-1", request_hash="rerun of bobs", owner="bob"
    )
    _, replayed = store.rerun_job(
        alices.job_id, now=later(2, START), idempotency_key="r-1", request_hash=rerun_hash, owner="alice"
    )

    assert (first, second, replayed) == (True, True, False)
    assert len(stored(store, bobs).runs) == 1 and len(stored(store, alices).runs) == 1


def test_undoing_a_rerun_frees_only_its_owners_key(store):
    alices, bobs = given_failed(store, owner="alice"), given_failed(store, owner="bob")
    queued, _ = store.rerun_job(
        alices.job_id, now=later(1, START), idempotency_key="r-1", request_hash="a", owner="alice"
    )
    store.rerun_job(bobs.job_id, now=later(1, START), idempotency_key="r-1", request_hash="b", owner="bob")

    assert store.undo_rerun(queued, now=later(2, START), idempotency_key="r-1", owner="alice")

    # bob's key still names bob's rerun: a retry of it is a replay
    _, again = store.rerun_job(
        bobs.job_id, now=later(3, START), idempotency_key="r-1", request_hash="b", owner="bob"
    )
    assert again is False


def test_undoing_a_rerun_restores_the_failed_job_and_frees_its_key(store):
    job = given_failed(store)
    queued, _ = rerun(store, job, key="r-1")

    assert store.undo_rerun(queued, now=later(1, START), idempotency_key="r-1")

    restored = stored(store, job)
    assert (restored.status, restored.error, restored.finished_at) == (JobStatus.FAILED, DEAD, START)
    assert restored.runs == []
    assert restored.pending_since is None
    assert _pending_ids(store) == []
    again, changed = rerun(store, job, at=later(2, START), key="r-1")
    assert changed, "the key was forgotten with the undone rerun"
    assert len(again.runs) == 1


def test_a_rerun_is_not_undone_once_its_marker_is_gone(store):
    job = given_failed(store)
    queued, _ = rerun(store, job, key="r-1")
    assert claim(store, job, at=later(1, START)).claimed
    before = stored(store, job)

    assert not store.undo_rerun(queued, now=later(2, START), idempotency_key="r-1")

    assert stored(store, job) == before
    replay, changed = rerun(store, job, at=later(3, START), key="r-1")
    assert not changed, "the key still names the rerun that was not undone"
    assert replay == before


def test_undoing_a_job_that_carries_no_rerun_marker_undoes_nothing(store):
    job = given_failed(store)
    queued, _ = rerun(store, job)
    store.clear_pending_send(job.job_id, queued.pending_since)  # sent: the marker is gone
    sent = stored(store, job)  # the job as read now: no marker
    never_rerun = given_failed(store)

    assert not store.undo_rerun(sent, now=later(2, START), idempotency_key=None)
    assert not store.undo_rerun(never_rerun, now=later(2, START), idempotency_key=None)

    assert stored(store, job) == sent
    assert stored(store, never_rerun) == never_rerun


def test_a_rerun_whose_message_the_sweeper_sent_is_not_undone(store):
    job = given_failed(store)
    queued, _ = rerun(store, job)
    assert queued.pending_since is not None
    store.clear_pending_send(job.job_id, queued.pending_since)  # sent: the marker is gone
    before = stored(store, job)

    assert not store.undo_rerun(queued, now=later(2, START), idempotency_key=None)

    assert stored(store, job) == before
    assert before.status is JobStatus.QUEUED


# --- pending sends (the sweeper reads only these) --------------------------------------------


def _pending_ids(store: JobStore, *, limit: int = 100, cursor: str | None = None) -> list[str]:
    """Every job id listed as pending-send, from ``cursor`` to the end, page by page."""
    found: list[str] = []
    for _ in range(100):
        page, cursor = store.pending_sends(cursor, limit)
        found.extend(each.job_id for each in page)
        if cursor is None:
            return found
    raise AssertionError("pending_sends never reached its end")


def given_pending(store: JobStore, n: int, *, at: datetime = START) -> Job:
    """A FAILED job rerun at ``at``: QUEUED with a pending-send marker."""
    queued, changed = rerun(store, given_failed(store, job_id=job_id(n)), at=at)
    assert changed
    return queued


def test_only_jobs_carrying_a_pending_send_marker_are_listed(store):
    pending = [given_pending(store, n) for n in range(3)]
    given(store, job_id=job_id(10))  # QUEUED, its message in the queue: no marker
    given_failed(store, job_id=job_id(11))

    ids = _pending_ids(store)

    assert sorted(ids) == sorted(job.job_id for job in pending)
    assert len(ids) == len(set(ids))


def test_a_listed_pending_send_says_since_when_and_in_which_status(store):
    job = given_pending(store, 1, at=later(7, START))

    page: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        more, cursor = store.pending_sends(cursor, 10)
        page.extend(more)
        if cursor is None:
            break

    assert [(each.job_id, each.pending_since, each.status) for each in page] == [
        (job.job_id, int(later(7, START).timestamp()), JobStatus.QUEUED)
    ]


def test_a_pending_send_is_cleared_only_by_the_marker_that_set_it(store):
    job = given_pending(store, 1)
    assert job.pending_since is not None

    store.clear_pending_send(job.job_id, job.pending_since - 1)  # an older marker's sweeper
    assert _pending_ids(store) == [job.job_id]
    assert stored(store, job).pending_since == job.pending_since

    store.clear_pending_send(job.job_id, job.pending_since)
    assert _pending_ids(store) == []
    cleared = stored(store, job)
    assert (cleared.pending_since, cleared.pending_shard, cleared.status) == (None, None, JobStatus.QUEUED)


def test_clearing_the_pending_send_of_a_missing_job_creates_none(store):
    missing = make_job()

    store.clear_pending_send(missing.job_id, int(START.timestamp()))

    assert store.get_job(missing.job_id) is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda store, job: claim(store, job, at=later(1, START)), id="claimed"),
        pytest.param(lambda store, job: store.cancel_job(job.job_id, later(1, START)), id="cancelled"),
        pytest.param(
            lambda store, job: store.fail_abandoned_job(job.job_id, error=DEAD, now=later(1, START)),
            id="dead-lettered",
        ),
    ],
)
def test_a_job_that_leaves_queued_no_longer_carries_its_pending_send(store, change):
    job = given_pending(store, 1)

    change(store, job)

    after = stored(store, job)
    assert after.status is not JobStatus.QUEUED
    assert (after.pending_since, after.pending_shard) == (None, None)
    assert _pending_ids(store) == []


def test_the_sweep_resumes_from_the_saved_cursor_and_sees_every_pending_send_once(store):
    pending = sorted(given_pending(store, n).job_id for n in range(5))
    assert store.sweep_cursor() is None

    # One sweep reads a single page and saves where it stopped
    first, cursor = store.pending_sends(store.sweep_cursor(), 1)
    while not first and cursor is not None:  # DynamoDB: a shard may have none
        first, cursor = store.pending_sends(cursor, 1)
    assert cursor is not None
    store.save_sweep_cursor(cursor)
    assert store.sweep_cursor() == cursor

    # The next sweep goes on from there to the end
    rest = _pending_ids(store, limit=1, cursor=store.sweep_cursor())

    seen = [each.job_id for each in first] + rest
    assert sorted(seen) == pending
    assert len(seen) == len(set(seen))

    store.save_sweep_cursor(None)
    assert store.sweep_cursor() is None


# --- DynamoDB only: the answers to races a single-threaded fake cannot have ----------------


class _RacingClient:
    """A DynamoDB client that runs ``meanwhile`` once, right after the first call to ``operation``
    whose arguments ``when`` accepts."""

    def __init__(
        self,
        client: Any,
        operation: str,
        meanwhile: Callable[[], object],
        when: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> None:
        self._client = client
        self._operation = operation
        self._meanwhile: Callable[[], object] | None = meanwhile
        self._when = when

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._operation:
            return method

        def call(**kwargs: Any) -> Any:
            try:
                return method(**kwargs)
            finally:
                if self._meanwhile is not None and self._when(kwargs):
                    meanwhile, self._meanwhile = self._meanwhile, None
                    meanwhile()

        return call


def racing_store(
    store: DynamoJobStore,
    operation: str,
    meanwhile: Callable[[], object],
    when: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> DynamoJobStore:
    """``store``'s table through a client that runs ``meanwhile`` once after ``operation``."""
    return DynamoJobStore(
        TABLE, shards=4, client=_RacingClient(store.client, operation, meanwhile, when), clock=lambda: START
    )


@pytest.fixture
def dynamo_store(dynamodb) -> Iterator[DynamoJobStore]:
    create_jobs_table(dynamodb, TABLE)
    try:
        yield DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb, clock=lambda: START)
    finally:
        dynamodb.delete_table(TableName=TABLE)


def test_a_job_rerun_mid_listing_is_listed_once_under_its_new_day(dynamo_store):
    # Given a failed job of yesterday, rerun today while the listing reads yesterday's shards
    yesterday = later(-86_400, START)
    job = given(dynamo_store, status=JobStatus.FAILED, queued_at=yesterday, updated_at=yesterday)
    racing = racing_store(
        dynamo_store,
        "query",
        lambda: dynamo_store.rerun_job(job.job_id, now=START, idempotency_key=None, request_hash="r"),
        when=lambda query: query["ExpressionAttributeValues"][":shard"]["S"].startswith("2026-01-01#"),
    )

    # When every job is listed: today's shards (before the rerun), then yesterday's
    page, after = racing.list_jobs(None, None, 10, None)

    # Then the index still showed it under yesterday; it is not listed there, being today's now
    assert page == []
    assert after is None
    # and the next listing finds it under today, QUEUED
    assert [(each.job_id, each.status) for each in dynamo_store.list_jobs(None, None, 10, None)[0]] == [
        (job.job_id, JobStatus.QUEUED)
    ]


def after_the_last_index_query(store: DynamoJobStore) -> Callable[[dict[str, Any]], bool]:
    """Whether a query is the listing's last one: the jobs are read from the table next."""
    window = window_days(store.retention_days, int(store.queue_retention.total_seconds()))
    last = f"{(START - timedelta(days=window)).date().isoformat()}#{store.shards - 1}"
    return lambda query: query["ExpressionAttributeValues"][":shard"] == {"S": last}


def test_a_listed_job_is_shown_as_the_table_holds_it_now_not_as_the_index_saw_it(dynamo_store):
    # Given a queued job that a worker claims after the listing read the index, before it read the jobs
    job = given(dynamo_store)
    racing = racing_store(
        dynamo_store,
        "query",
        lambda: claim(dynamo_store, job, at=later(1, START)),
        when=after_the_last_index_query(dynamo_store),
    )

    # When every status is listed
    page, after = racing.list_jobs(None, None, 10, None)

    # Then the index found it QUEUED, and the page shows the claimed job
    [listed] = page
    assert (listed.job_id, listed.status, listed.attempts) == (job.job_id, JobStatus.IN_PROGRESS, 1)
    assert after is None


def test_a_job_that_left_the_listed_status_before_it_was_read_is_not_listed_under_it(dynamo_store):
    # Given two queued jobs, the newer claimed between the listing's index queries and its read
    older, newer = given(dynamo_store, job_id=job_id(1)), given(dynamo_store, job_id=job_id(2))
    racing = racing_store(
        dynamo_store,
        "query",
        lambda: claim(dynamo_store, newer, at=later(1, START)),
        when=lambda query: ":high" not in query["ExpressionAttributeValues"],
    )

    # When the QUEUED jobs are listed, one a page
    page, after = racing.list_jobs(None, JobStatus.QUEUED, 1, None)

    # Then the page holds no job that is not QUEUED: it reads on, and lists the older one
    assert [each.job_id for each in page] == [older.job_id]
    assert after is None


class _LeavesKeysUnprocessed:
    """DynamoDB's BatchGetItem under throttling: the first ``times`` answers read only ``reads``
    of the keys asked for and leave the rest unprocessed (moto always answers whole)."""

    def __init__(self, client: Any, times: int, reads: int = 1) -> None:
        self._client = client
        self.times = times
        self.reads = reads
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls > self.times:
            return self._client.batch_get_item(**kwargs)
        ((table, request),) = kwargs["RequestItems"].items()
        first, rest = request["Keys"][: self.reads], request["Keys"][self.reads :]
        response = (
            self._client.batch_get_item(RequestItems={table: {**request, "Keys": first}})
            if first
            else {"Responses": {table: []}}
        )
        response["UnprocessedKeys"] = {table: {**request, "Keys": rest}} if rest else {}
        return response


def test_keys_a_batch_read_leaves_unprocessed_are_asked_for_again_until_every_job_is_read(dynamo_store):
    jobs = [given(dynamo_store, job_id=job_id(n)) for n in range(5)]
    client = _LeavesKeysUnprocessed(dynamo_store.client, times=2)

    page, _ = DynamoJobStore(TABLE, shards=4, client=client, clock=lambda: START).list_jobs(
        None, None, 10, None
    )

    assert [each.job_id for each in page] == [job.job_id for job in reversed(jobs)]
    assert client.calls == 3


def test_a_batch_read_that_never_finishes_is_store_busy_not_a_short_page(dynamo_store):
    for n in range(3):
        given(dynamo_store, job_id=job_id(n))
    client = _LeavesKeysUnprocessed(dynamo_store.client, times=1_000, reads=0)

    with pytest.raises(StoreBusy, match="left 3 of 3 jobs unread"):
        DynamoJobStore(TABLE, shards=4, client=client, clock=lambda: START).list_jobs(None, None, 10, None)
    assert client.calls == 6


class _StopsAtLimit:
    """DynamoDB's paging, which moto does not copy: a query that stops at its Limit returns a
    LastEvaluatedKey even when nothing is left."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> Any:
        response = self._client.query(**kwargs)
        if len(response["Items"]) == kwargs.get("Limit") and "LastEvaluatedKey" not in response:
            # DynamoDB's LastEvaluatedKey holds the index's keys whatever the query projects.
            last = response["Items"][-1]
            response["LastEvaluatedKey"] = {
                "jobId": {"S": last["listKey"]["S"].split("#", 1)[1]},
                "listKey": last["listKey"],
                "listShard": kwargs["ExpressionAttributeValues"][":shard"],
            }
        return response


def test_a_page_that_ends_exactly_at_a_shards_last_job_says_no_more_remain(dynamo_store):
    jobs = [given(dynamo_store, job_id=job_id(n)) for n in range(12)]
    paging = DynamoJobStore(TABLE, shards=4, client=_StopsAtLimit(dynamo_store.client), clock=lambda: START)

    for limit in range(1, 6):  # the shards hold 5, 4, 2 and 1 of these jobs
        pages = walk(paging, JobStatus.QUEUED, limit)
        assert [each for page in pages for each in page] == [job.job_id for job in reversed(jobs)]
        assert pages[-1], f"an empty last page with limit {limit}"


def test_a_reused_key_whose_record_vanished_meanwhile_asks_the_client_to_retry(dynamo_store):
    # Given a first request holding key k-1 ...
    first = given(dynamo_store, idempotency_key="k-1")
    # ... whose key record goes (its time to live ran out) just after the second request's
    # write was refused because of it
    key_item = {"jobId": {"S": dynamo_store.idempotency_item_key("k-1")}}
    racing = racing_store(
        dynamo_store,
        "transact_write_items",
        lambda: dynamo_store.client.delete_item(TableName=TABLE, Key=key_item),
    )

    again = make_job(idempotency_key="k-1")
    with pytest.raises(EnqueueFailed, match="undone; retry"):
        racing.create_job(again)

    assert dynamo_store.get_job(again.job_id) is None
    assert stored(dynamo_store, first) == first


def test_two_racing_reruns_of_a_failed_job_queue_it_once(dynamo_store):
    # Given a failed job, and a second rerun that lands between the first one's read and write
    job = given_failed(dynamo_store)
    racing = racing_store(dynamo_store, "get_item", lambda: rerun(dynamo_store, job, at=later(1, START)))

    # When the first rerun writes: refused, the job changed under it
    with pytest.raises(JobNotRerunnable):
        rerun(racing, job, at=later(2, START))

    # Then the job was queued once, by the second rerun
    queued = stored(dynamo_store, job)
    assert queued.status is JobStatus.QUEUED
    assert len(queued.runs) == 1
    assert queued.pending_since == int(later(1, START).timestamp())


def test_a_rerun_that_loses_a_race_to_its_own_retry_is_a_replay_not_a_second_rerun(dynamo_store):
    # Given a rerun with key r-1 whose retry (same key, same request) lands between its read and
    # its write
    job = given_failed(dynamo_store)
    racing = racing_store(
        dynamo_store,
        "get_item",
        lambda: rerun(dynamo_store, job, at=later(1, START), key="r-1"),
        when=lambda read: read["Key"]["jobId"] == {"S": job.job_id},  # after the job's read
    )

    # When the first one writes: refused, and it answers as a replay of the retry's rerun
    queued, changed = rerun(racing, job, at=later(2, START), key="r-1")

    assert not changed
    assert queued == stored(dynamo_store, job)
    assert (queued.status, len(queued.runs)) == (JobStatus.QUEUED, 1)


def test_a_rerun_that_loses_a_race_to_its_own_retry_is_a_replay_even_when_plain_reads_lag(dynamo_store):
    # Given the same race, on a table whose plain reads have not yet seen the retry's key
    job = given_failed(dynamo_store)
    racing = _RacingClient(
        dynamo_store.client,
        "get_item",
        lambda: rerun(dynamo_store, job, at=later(1, START), key="r-1"),
        lambda read: read["Key"]["jobId"] == {"S": job.job_id},
    )
    lagging = DynamoJobStore(TABLE, shards=4, client=_StaleReads(racing))

    # When the first one writes: refused, and it still finds the key (a consistent read) and
    # answers as a replay, not 409 "not rerunnable" for the job its own retry queued
    queued, changed = rerun(lagging, job, at=later(2, START), key="r-1")

    assert not changed
    assert queued == stored(dynamo_store, job)


def test_a_rerun_is_refused_when_the_job_was_rerun_and_failed_again_meanwhile(dynamo_store):
    # Given a failed job that another request reruns, a worker claims and fails again, all
    # between this rerun's read and its write: FAILED as read, but not the same run
    job = given_failed(dynamo_store)

    def rerun_and_fail_again() -> None:
        rerun(dynamo_store, job, at=later(1, START))
        claim(dynamo_store, job, at=later(2, START), token="second-run")
        fail_as(dynamo_store, job, token="second-run", at=later(3, START))

    racing = racing_store(dynamo_store, "get_item", rerun_and_fail_again)

    # When this rerun writes: refused (the condition is the status AND the updatedAt it read)
    with pytest.raises(JobNotRerunnable):
        rerun(racing, job, at=later(4, START))

    # Then the job is as the second run left it: FAILED, its first run kept once
    again = stored(dynamo_store, job)
    assert (again.status, again.finished_at) == (JobStatus.FAILED, later(3, START))
    assert [run.run for run in again.runs] == [1]


class _Throttled:
    """A DynamoDB client whose ``operation`` is refused for throughput, as under a spike."""

    def __init__(self, client: Any, operation: str) -> None:
        self._client = client
        self._operation = operation

    def __getattr__(self, name: str) -> Any:
        if name != self._operation:
            return getattr(self._client, name)

        def refuse(**_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, name
            )

        return refuse


def test_a_throttled_submit_with_a_key_is_an_error_not_a_reused_key(dynamo_store):
    throttled = DynamoJobStore(
        TABLE, shards=4, client=_Throttled(dynamo_store.client, "transact_write_items")
    )

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        throttled.create_job(make_job(idempotency_key="k-1"))


def test_a_throttled_cancel_is_an_error_not_a_refusal(dynamo_store):
    job = given(dynamo_store)
    throttled = DynamoJobStore(TABLE, shards=4, client=_Throttled(dynamo_store.client, "update_item"))

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        throttled.cancel_job(job.job_id, START)

    assert stored(dynamo_store, job).status is JobStatus.QUEUED


class _StaleReads:
    """DynamoDB's eventually consistent reads, which moto does not copy: a read that does not
    ask for ConsistentRead sees the table as it was before this test's writes (empty)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**kwargs) if kwargs.get("ConsistentRead") else {}


def test_a_reused_key_finds_the_first_job_even_when_plain_reads_lag(dynamo_store):
    first = given(dynamo_store, idempotency_key="k-1")
    lagging = DynamoJobStore(TABLE, shards=4, client=_StaleReads(dynamo_store.client))

    again = make_job(idempotency_key="k-1")

    assert lagging.create_job(again) == (stored(dynamo_store, first), False)


def test_a_job_that_just_failed_is_rerun_even_when_plain_reads_lag(dynamo_store):
    job = given_failed(dynamo_store)
    lagging = DynamoJobStore(TABLE, shards=4, client=_StaleReads(dynamo_store.client))

    queued, changed = rerun(lagging, job, at=later(5, START))

    assert changed and queued.status is JobStatus.QUEUED
    assert stored(dynamo_store, job).status is JobStatus.QUEUED


def test_the_sweeper_resumes_where_it_stopped_even_when_plain_reads_lag(dynamo_store):
    # A lagging read of the cursor would walk the pending-send index again from its start
    # every run, never reaching what lies past the first pages of a long index.
    dynamo_store.save_sweep_cursor("2|" + job_id(5))
    lagging = DynamoJobStore(TABLE, shards=4, client=_StaleReads(dynamo_store.client))

    assert lagging.sweep_cursor() == dynamo_store.sweep_cursor() is not None


# --- the recovery design (core branch): claim owner, tombstones, pending sends --------------
#
# These cases go through ``workflow.claim_job`` (the port plus the claim rules), on both
# stores: ``Job.lease_message_id``, ``Job.lease_execution_id``, ``Job.pending_since``,
# ``errors.JobNotYetWritten``, and ``QueueRecord.sent_timestamp`` (epoch milliseconds, as SQS
# gives it), older than ``submit_grace_seconds`` for a claim to give up on a missing job.

GRACE = 60.0  # how long a claim waits for the API's write of a job whose message came first


def claim_request(job_id_: str, *, message: str, execution: str, sent: datetime = START) -> ClaimRequest:
    return ClaimRequest.model_validate(
        {
            "message": {
                "messageId": message,
                "body": job_message(job_id_),
                "receiveCount": 1,
                "sentTimestamp": int(sent.timestamp() * 1000),
            },
            "executionId": execution,
        }
    )


def deliver(store: JobStore, job_id_: str, *, message: str, execution: str, at: datetime, sent=START):
    return claim_job(
        claim_request(job_id_, message=message, execution=execution, sent=sent),
        store=store,
        poison=FakePoisonMessages(),
        now=at,
        lease_seconds=LEASE,
        submit_grace_seconds=GRACE,
    )


class TestRecoveryContract:
    def test_a_claim_records_the_message_and_the_execution_that_hold_the_lease(self, store):
        job = given(store)

        deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        holder = stored(store, job)
        assert (holder.lease_message_id, holder.lease_execution_id) == ("m-1", "e-1")

    def test_a_claim_retried_by_the_same_execution_returns_the_same_claim(self, store):
        job = given(store)
        first = deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        again = deliver(store, job.job_id, message="m-1", execution="e-1", at=later(1, START))

        assert again == first
        assert stored(store, job).attempts == 1

    def test_another_message_for_a_job_under_a_live_lease_is_skipped(self, store):
        job = given(store)
        deliver(store, job.job_id, message="m-1", execution="e-1", at=START)
        before = stored(store, job)

        answer = deliver(store, job.job_id, message="m-2", execution="e-2", at=later(1, START))

        assert answer.outcome == "SKIPPED"
        assert stored(store, job).lease_token == before.lease_token

    def test_the_holders_own_message_back_under_a_live_lease_is_retried_later(self, store):
        job = given(store)
        deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        with pytest.raises(JobLeased):
            deliver(store, job.job_id, message="m-1", execution="e-2", at=later(1, START))

    def test_another_message_after_the_lease_expired_claims_the_job_again(self, store):
        job = given(store)
        first = deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        second = deliver(store, job.job_id, message="m-2", execution="e-2", at=EXPIRY)

        assert second.outcome == "CLAIMED"
        assert second.lease_token != first.lease_token
        assert stored(store, job).attempts == 2

    def test_a_young_message_for_a_job_not_written_yet_is_retried(self, store):
        missing = make_job()

        with pytest.raises(errors.JobNotYetWritten):
            deliver(store, missing.job_id, message="m-1", execution="e-1", at=later(1, START))

        assert store.get_job(missing.job_id) is None

    def test_an_old_message_for_a_missing_job_leaves_a_tombstone_that_refuses_a_late_write(self, store):
        missing = make_job()
        old = later(-2 * 24 * 3600, START)  # far past any grace

        answer = deliver(store, missing.job_id, message="m-1", execution="e-1", at=START, sent=old)

        assert answer.outcome == "POISON"
        with pytest.raises(EnqueueFailed):  # the late API write fails (and answers 503)
            store.create_job(missing)
        assert store.get_job(missing.job_id) is None

    def test_a_claim_removes_the_pending_send_marker(self, store):
        job = given(store, pending_since=int(START.timestamp()), pending_shard="PENDING#0")

        deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        assert stored(store, job).pending_since is None


def test_an_anonymous_key_written_before_owners_existed_still_replays(dynamo_store):
    # Given a record as the store wrote it before keys were per owner: idem#<sha256 of the key>
    job = given(dynamo_store, idempotency_key="legacy")
    dynamo_store.client.delete_item(
        TableName=TABLE, Key={"jobId": {"S": dynamo_store.idempotency_item_key("legacy")}}
    )
    dynamo_store.client.put_item(
        TableName=TABLE,
        Item=to_item(
            {
                "jobId": "idem#" + hashlib.sha256(b"legacy").hexdigest(),
                "targetJobId": job.job_id,
                "payloadHash": job.payload_hash,
            }
        ),
    )

    # Then the anonymous owner's retry (AuthMode=none, as before) replays it; a named owner's does not
    assert dynamo_store.create_job(make_job(idempotency_key="legacy"))[0].job_id == job.job_id
    bobs = make_job(owner="bob", idempotency_key="legacy")
    assert dynamo_store.create_job(bobs) == (bobs, True)
