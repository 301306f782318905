"""The JobStore contract: one set of cases, run on the in-memory fake and on DynamoJobStore (moto).

The fake (``tests.fakes.FakeJobStore``) stands in for DynamoDB in the workflow, recovery and
API tests, so it must answer as DynamoDB does: where the two disagree, a case here fails on one
of them. Each case uses only the ``JobStore`` port plus ``Given`` helpers that write a state
directly (as another writer would have).

The lease boundary is one rule for both: a lease is live strictly before ``leaseExpiresAt``;
at that instant it has expired (``lifecycle.lease_is_live``; DynamoDB's conditions say
``leaseExpiresAt <= :epoch`` for "expired").

``TestRecoveryContract`` holds the cases of the recovery design (claim owner, tombstones,
pending sends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
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
    LeaseLost,
)
from cloudqueue.jobs import request_hash
from cloudqueue.models import ClaimRequest, Job, JobFailure, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.workflow import claim_job
from tests.fakes import FakeJobStore, job_id, job_message, later, make_job
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


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    if request.param == "fake":
        yield FakeJobStore()
        return
    client = request.getfixturevalue("dynamodb")
    create_jobs_table(client, TABLE)
    try:
        yield DynamoJobStore(TABLE, shards=4, retention_days=30, client=client)
    finally:
        client.delete_table(TableName=TABLE)


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
        store.keys[key] = (target, payload_hash)
        return
    assert isinstance(store, DynamoJobStore)
    store.client.put_item(
        TableName=store.table_name,
        Item=to_item(
            {"jobId": store.idempotency_item_key(key), "targetJobId": target, "payloadHash": payload_hash}
        ),
    )


def claim(store: JobStore, job: Job, *, at: datetime, token: str = "new-token", execution: str = "run-2"):
    return store.claim_job(job.job_id, execution_id=execution, lease_token=token, now=at, lease_seconds=LEASE)


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
    assert finished.lease_token is None
    assert finished.lease_expires_at is None
    assert stored(store, job) == finished


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
def test_a_job_not_in_progress_cannot_be_finished_even_with_its_old_token(store, status):
    job = given(store, status=status, lease_token="holder")
    before = stored(store, job)

    with pytest.raises(LeaseLost):
        store.finish_job(
            job.job_id,
            lease_token="holder",
            status=JobStatus.FAILED,
            result=None,
            error=DEAD,
            now=START,
        )

    assert stored(store, job) == before


# --- cancel ---------------------------------------------------------------------------------


def test_a_queued_job_is_cancelled(store):
    job = given(store)

    cancelled = store.cancel_job(job.job_id, later(5, START))

    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == later(5, START)
    assert stored(store, job) == cancelled


@pytest.mark.parametrize("status", [JobStatus.IN_PROGRESS, *TERMINAL])
def test_only_a_queued_job_is_cancelled(store, status):
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


# --- undoing a submit whose message could not be sent ---------------------------------------


def test_undoing_a_queued_job_removes_it_and_frees_its_idempotency_key(store):
    job = given(store, idempotency_key="k-1")

    store.delete_queued_job(job)

    assert store.get_job(job.job_id) is None
    retry = make_job(idempotency_key="k-1")
    assert store.create_job(retry) == (retry, True)


def test_undoing_a_job_never_removes_an_idempotency_record_that_names_another_job(store):
    # Given key k-1 made job A, and a job B that carries k-1 but never owned its record
    owner = given(store, idempotency_key="k-1")
    impostor = make_job(idempotency_key="k-1")
    store.create_job(impostor.model_copy(update={"idempotency_key": None}))

    # When B is undone: the undo is refused as a whole, and nothing changes
    with pytest.raises(Exception):  # noqa: B017 - DynamoDB's TransactionCanceledException or the fake's
        store.delete_queued_job(impostor)

    # Then the key still answers with A
    again = make_job(idempotency_key="k-1")
    assert store.create_job(again) == (stored(store, owner), False)
    assert store.get_job(impostor.job_id) is not None


def test_a_job_that_left_queued_is_not_undone(store):
    job = given_leased(store)
    before = stored(store, job)

    with pytest.raises(Exception):  # noqa: B017 - the condition refuses it on either store
        store.delete_queued_job(job)

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
    with pytest.raises(EnqueueFailed, match="retry"):
        store.create_job(again)

    # Then it made no job
    assert store.get_job(again.job_id) is None


# --- the dead-letter guard -----------------------------------------------------------------


def test_a_dead_lettered_queued_job_is_failed(store):
    job = given(store)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=START)

    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error == DEAD
    assert stored(store, job) == failed


@pytest.mark.parametrize(
    ("at", "fails"),
    [
        pytest.param(later(LEASE - 0.001, START), False, id="a millisecond before expiry"),
        pytest.param(EXPIRY, True, id="at the instant of expiry"),
    ],
)
def test_a_dead_lettered_job_is_failed_only_once_its_lease_expired(store, at, fails):
    job = given_leased(store)
    before = stored(store, job)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=at)

    if fails:
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

    assert pages == [[job_id(10), job_id(5)], [job_id(0)]]


# --- requeue marks --------------------------------------------------------------------------


def test_a_stranded_job_is_marked_requeued_once_per_state_it_was_found_in(store):
    job = given(store)
    (found,) = store.find_stranded_jobs(queued_before=later(1, START), lease_expired_before=START)

    assert store.mark_requeued(found, later(2, START))
    assert not store.mark_requeued(found, later(3, START)), "a second sweep holding the same copy"
    assert stored(store, job).updated_at == later(2, START)


def test_only_jobs_past_their_grace_are_found_stranded(store):
    queued = given(store, job_id=job_id(1))
    given(store, job_id=job_id(2), updated_at=later(10, START))
    expired = given_leased(store, expires=START)
    given_leased(store, expires=later(10, START))

    found = store.find_stranded_jobs(queued_before=later(5, START), lease_expired_before=later(5, START))

    assert sorted(job.job_id for job in found) == sorted([queued.job_id, expired.job_id])


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


@pytest.fixture
def dynamo_store(dynamodb) -> Iterator[DynamoJobStore]:
    create_jobs_table(dynamodb, TABLE)
    try:
        yield DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb)
    finally:
        dynamodb.delete_table(TableName=TABLE)


def test_a_job_that_changes_status_mid_listing_is_listed_once_in_its_newest_state(dynamo_store):
    # Given a queued job that a worker claims while the listing is between two status queries
    job = given(dynamo_store)
    queued_shard = dynamo_store.status_shard(job.job_id, JobStatus.QUEUED)
    racing = DynamoJobStore(
        TABLE,
        shards=4,
        client=_RacingClient(
            dynamo_store.client,
            "query",
            lambda: claim(dynamo_store, job, at=later(1, START)),
            when=lambda query: query["ExpressionAttributeValues"][":shard"] == {"S": queued_shard},
        ),
    )

    page, after = racing.list_jobs(None, 10, None)

    # Then the listing saw it QUEUED and then IN_PROGRESS, and shows only the newer
    assert [(each.job_id, each.status) for each in page] == [(job.job_id, JobStatus.IN_PROGRESS)]
    assert after is None


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
            last = response["Items"][-1]
            response["LastEvaluatedKey"] = {key: last[key] for key in ("jobId", "statusShard")}
        return response


def test_a_page_that_ends_exactly_at_a_shards_last_job_says_no_more_remain(dynamo_store):
    jobs = [given(dynamo_store, job_id=job_id(n)) for n in range(12)]
    paging = DynamoJobStore(TABLE, shards=4, client=_StopsAtLimit(dynamo_store.client))

    for limit in range(1, 6):  # the shards hold 5, 4, 2 and 1 of these jobs
        pages = walk(paging, JobStatus.QUEUED, limit)
        assert [each for page in pages for each in page] == [job.job_id for job in reversed(jobs)]
        assert pages[-1], f"an empty last page with limit {limit}"


def test_a_reused_key_whose_first_request_was_just_undone_asks_the_client_to_retry(dynamo_store):
    # Given a first request holding key k-1 ...
    first = given(dynamo_store, idempotency_key="k-1")
    # ... that is undone (its send failed) just after the second request's write was refused
    racing = DynamoJobStore(
        TABLE,
        shards=4,
        client=_RacingClient(
            dynamo_store.client, "transact_write_items", lambda: dynamo_store.delete_queued_job(first)
        ),
    )

    again = make_job(idempotency_key="k-1")
    with pytest.raises(EnqueueFailed, match="undone; retry"):
        racing.create_job(again)

    assert dynamo_store.get_job(again.job_id) is None
    assert dynamo_store.get_job(first.job_id) is None


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


# --- the recovery design (core branch): claim owner, tombstones, pending sends --------------
#
# These cases go through ``workflow.claim_job`` (the port plus the claim rules), on both
# stores. Names they assume from the design: ``Job.lease_message_id``,
# ``Job.lease_execution_id``, ``Job.pending_since``, ``errors.JobNotYetWritten``, and the
# record's ``sentTimestamp`` (epoch milliseconds, as SQS gives it).

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
        now=at,
        lease_seconds=LEASE,
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

        assert answer.outcome == "SKIPPED"
        with pytest.raises(Exception):  # noqa: B017 - the late API write fails (and answers 503)
            store.create_job(missing)
        assert store.get_job(missing.job_id) is None

    def test_a_claim_removes_the_pending_send_marker(self, store):
        job = given(store, pending_since=int(START.timestamp()), pending_shard="PENDING#0")

        deliver(store, job.job_id, message="m-1", execution="e-1", at=START)

        assert stored(store, job).pending_since is None
