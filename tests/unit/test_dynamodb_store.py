"""The DynamoDB job store against moto, on the table exactly as template.yaml declares it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue.adapters.dynamodb import LIST_INDEX, PENDING_INDEX, DynamoJobStore, to_item
from cloudqueue.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    JobNotCancellable,
    JobNotFoundError,
    JobNotRerunnable,
    LeaseLost,
)
from cloudqueue.jobs import request_hash
from cloudqueue.listing import window_days
from cloudqueue.models import Job, JobFailure, JobStatus
from cloudqueue.ports import JobStore
from cloudqueue.rerun import rerun_request_hash
from cloudqueue_local.template import read_template
from tests.fakes import T0, job_id, later, make_job

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLE = "cloudqueue-test-jobs"
SHARDS = 4
LEASE = 60


def create_jobs_table(client: Any, table_name: str) -> dict[str, Any]:
    """Create the table from the JobsTable Properties in template.yaml; returns those Properties.

    Properties that CloudFormation spells differently from CreateTable are translated; any
    other property goes to CreateTable as it is, so a new one fails here until it is handled.
    """
    properties = dict(read_template(TEMPLATE)["Resources"]["JobsTable"]["Properties"])
    declared = dict(properties)
    properties.pop("TableName", None)
    ttl = properties.pop("TimeToLiveSpecification", None)
    properties.pop("PointInTimeRecoverySpecification", None)  # backups: not behaviour under test
    sse = properties.pop("SSESpecification", None)
    if sse is not None:
        properties["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))}
    stream = properties.pop("StreamSpecification", None)
    if stream is not None:
        # With JobEvents or Webhooks on (an !If on StreamWanted), as the options' tests run it.
        view = stream.get("Fn::If", [None, stream])[1]["StreamViewType"]
        properties["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    client.create_table(TableName=table_name, **properties)
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    return declared


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    # One mocked account and client for the module (a client takes a while to build);
    # each test gets a table of its own.
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def client(dynamodb: Any) -> Iterator[Any]:
    create_jobs_table(dynamodb, TABLE)
    yield dynamodb
    dynamodb.delete_table(TableName=TABLE)


@pytest.fixture
def store(client: Any) -> DynamoJobStore:
    # The listing's today is T0's, when make_job's jobs are made.
    return DynamoJobStore(TABLE, shards=SHARDS, retention_days=30, client=client, clock=lambda: T0)


def raw_item(client: Any, key: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key={"jobId": {"S": key}}, ConsistentRead=True).get("Item")


def item_count(client: Any) -> int:
    return client.scan(TableName=TABLE, Select="COUNT")["Count"]


def claim(
    store: DynamoJobStore,
    job_id_: str,
    *,
    at=T0,
    token: str = "token-1",
    execution: str = "run-1",
    message: str = "m-1",
):
    return store.claim_job(
        job_id_, message_id=message, execution_id=execution, lease_token=token, now=at, lease_seconds=LEASE
    )


def created(store: DynamoJobStore, **overrides: Any) -> Job:
    job = make_job(**overrides)
    store.create_job(job)
    return job


# --- the table ----------------------------------------------------------------------------


def test_the_table_the_template_declares_has_the_index_and_ttl_the_store_relies_on(client):
    described = client.describe_table(TableName=TABLE)["Table"]

    indexes = {index["IndexName"]: index for index in described["GlobalSecondaryIndexes"]}
    assert set(indexes) == {LIST_INDEX, PENDING_INDEX}
    assert [(key["AttributeName"], key["KeyType"]) for key in indexes[LIST_INDEX]["KeySchema"]] == [
        ("listShard", "HASH"),
        ("listKey", "RANGE"),
    ]
    assert indexes[LIST_INDEX]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert [(key["AttributeName"], key["KeyType"]) for key in indexes[PENDING_INDEX]["KeySchema"]] == [
        ("pendingShard", "HASH"),
        ("jobId", "RANGE"),
    ]
    ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"


# --- create, read -------------------------------------------------------------------------


def test_a_created_job_reads_back_equal_with_floats_in_its_payload(store):
    # Given a payload with floats, ints, nesting and a list
    job = make_job(
        type="demo.sleep",
        payload={"seconds": 0.25, "ratio": 1 / 3, "count": 3, "nested": {"values": [1.5, 2, -0.001]}},
    )

    # When it is stored and read back
    store.create_job(job)
    again = store.get_job(job.job_id, consistent=True)

    # Then nothing changed: floats stay floats (not Decimal), ints stay ints
    assert again == job
    assert again.payload["ratio"] == 1 / 3
    assert isinstance(again.payload["count"], int)
    assert isinstance(again.payload["nested"]["values"][0], float)


def test_a_missing_job_reads_as_none(store):
    assert store.get_job(job_id(404)) is None


def test_a_job_is_written_to_its_day_and_shard_of_the_listing_index_under_its_owner(client, store):
    job = created(store, owner="ada", queued_at=later(86_400))

    item = raw_item(client, job.job_id)

    assert item["listShard"]["S"] == store.list_shard(job.job_id, later(86_400))
    assert item["listShard"]["S"].startswith("2026-01-03#")
    assert 0 <= int(item["listShard"]["S"].split("#")[1]) < SHARDS
    assert item["listKey"]["S"] == f"{hashlib.sha256(b'ada').hexdigest()[:16]}#{job.job_id}"
    assert item["owner"]["S"] == "ada"


@pytest.mark.parametrize("change", ["claim", "finish", "cancel", "fail", "redrive"])
def test_no_change_of_status_moves_the_jobs_listing_keys(client, store, change):
    # Given a job queued at T0
    job = created(store)
    keys = {name: raw_item(client, job.job_id)[name] for name in ("listShard", "listKey")}

    # When the workflow, the API or the dead-letter consumer changes it, days later
    at = later(3 * 86_400)
    if change == "cancel":
        store.cancel_job(job.job_id, at)
    elif change == "fail":
        store.fail_abandoned_job(job.job_id, error=DEAD, now=at)
    elif change == "redrive":
        store.mark_redriven(job.job_id, at)
    else:
        claim(store, job.job_id, at=at)
        if change == "finish":
            store.finish_job(
                job.job_id, lease_token="token-1", status=JobStatus.SUCCEEDED, result={}, error=None, now=at
            )

    # Then its index keys are as the submit wrote them (DynamoDB writes nothing to the index)
    assert {name: raw_item(client, job.job_id)[name] for name in keys} == keys


# --- idempotency --------------------------------------------------------------------------


def test_reusing_an_idempotency_key_for_the_same_request_returns_the_first_job(store):
    # Given a job made with a key
    first = created(store, idempotency_key="order-42")

    # When another job with the same key and request arrives
    retry = make_job(idempotency_key="order-42", created_at=later(5), updated_at=later(5))
    stored, was_created = store.create_job(retry)

    # Then the first job is returned and the second is not stored
    assert not was_created
    assert stored.job_id == first.job_id
    assert store.get_job(retry.job_id) is None


def test_reusing_an_idempotency_key_for_another_request_is_a_conflict(store):
    first = created(store, idempotency_key="order-42")
    other = make_job(
        idempotency_key="order-42",
        payload={"text": "something else"},
        payload_hash=request_hash("text.transform", {"text": "something else"}),
    )

    with pytest.raises(IdempotencyConflict) as raised:
        store.create_job(other)

    assert raised.value.details == {"jobId": first.job_id}
    assert store.get_job(other.job_id) is None


def test_the_idempotency_record_is_not_a_job(client, store):
    created(store, idempotency_key="order-42")
    key = store.idempotency_item_key("order-42")

    assert raw_item(client, key) is not None
    assert store.get_job(key) is None
    assert [job.idempotency_key for job in store.list_jobs(None, None, 10, None)[0]] == ["order-42"]


def test_a_job_whose_id_was_tombstoned_cannot_be_created(client, store):
    # Given a claim that gave up on a message whose job was never written
    assert store.write_tombstone(job_id(7), T0)

    # When the API's write arrives late, it fails (its client gets 503) and writes nothing
    with pytest.raises(EnqueueFailed):
        store.create_job(make_job(job_id=job_id(7)))
    with pytest.raises(EnqueueFailed):
        store.create_job(make_job(job_id=job_id(7), idempotency_key="order-7"))

    assert store.get_job(job_id(7)) is None
    assert raw_item(client, store.idempotency_item_key("order-7")) is None


def test_a_tombstone_is_not_written_over_a_job_and_expires(client, store):
    job = created(store)

    assert not store.write_tombstone(job.job_id, T0)
    assert store.get_job(job.job_id) == job
    assert store.write_tombstone(job_id(8), T0)
    assert int(raw_item(client, job_id(8))["expiresAt"]["N"]) > T0.timestamp()


def test_an_idempotency_key_is_looked_up_before_anything_is_sent(store):
    job = created(store, idempotency_key="order-42")

    assert store.job_for_idempotency_key("order-42", job.payload_hash) == job
    assert store.job_for_idempotency_key("order-43", job.payload_hash) is None
    with pytest.raises(IdempotencyConflict):
        store.job_for_idempotency_key("order-42", "another hash")


# --- claim --------------------------------------------------------------------------------


def test_a_job_is_claimed_once_and_a_second_claim_of_the_live_lease_is_refused(store):
    # Given a QUEUED job
    job = created(store)

    # When two deliveries claim it, the second before the lease expires
    first = claim(store, job.job_id, token="token-1", execution="run-1")
    second = claim(store, job.job_id, at=later(LEASE - 1), token="token-2", execution="run-2")

    # Then only the first took it; the second sees the job as the first left it
    assert first.claimed
    assert first.job.status is JobStatus.IN_PROGRESS
    assert (first.job.attempts, first.job.lease_token) == (1, "token-1")
    assert first.job.lease_expires_at == T0.timestamp() + LEASE
    assert first.job.started_at == T0
    assert first.job.executions == ["run-1"]
    assert (first.job.lease_message_id, first.job.lease_execution_id) == ("m-1", "run-1")
    assert not second.claimed
    assert second.job.lease_token == "token-1"
    assert store.get_job(job.job_id).lease_token == "token-1"


def test_a_job_is_claimed_again_after_its_lease_expired(store):
    job = created(store)
    claim(store, job.job_id, token="token-1", execution="run-1")

    again = claim(store, job.job_id, at=later(LEASE + 1), token="token-2", execution="run-2")

    assert again.claimed
    assert again.job.attempts == 2
    assert again.job.lease_token == "token-2"
    assert again.job.started_at == T0  # the first start is kept
    assert again.job.executions == ["run-1", "run-2"]


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_finished_job_is_not_claimed(store, status):
    job = created(store, status=status)

    attempt = claim(store, job.job_id)

    assert not attempt.claimed
    assert attempt.job.status is status


def test_claiming_a_missing_job_reports_no_job_and_creates_nothing(client, store):
    attempt = claim(store, job_id(404))

    assert not attempt.claimed
    assert attempt.job is None
    assert item_count(client) == 0


# --- finish (fenced) ----------------------------------------------------------------------


def test_finishing_writes_the_result_and_clears_the_lease(client, store):
    job = created(store)
    claim(store, job.job_id, token="token-1")

    done = store.finish_job(
        job.job_id,
        lease_token="token-1",
        status=JobStatus.SUCCEEDED,
        result={"wordCount": 2, "score": 0.75},
        error=None,
        now=later(10),
    )

    assert done.status is JobStatus.SUCCEEDED
    assert done.result == {"wordCount": 2, "score": 0.75}
    assert done.lease_expires_at is None
    assert done.finished_at == later(10)
    assert done.expires_at == int((later(10) + timedelta(days=30)).timestamp())
    item = raw_item(client, job.job_id)
    assert "leaseExpiresAt" not in item


def test_finishing_as_failed_writes_the_error(store):
    job = created(store)
    claim(store, job.job_id, token="token-1")
    failure = JobFailure(type="PermanentJobError", message="text is empty")

    done = store.finish_job(
        job.job_id, lease_token="token-1", status=JobStatus.FAILED, result=None, error=failure, now=later(10)
    )

    assert done.status is JobStatus.FAILED
    assert done.error == failure
    assert done.result is None


def test_a_stale_lease_token_cannot_finish_the_job(store):
    # Given a job whose first worker's lease expired and a second worker claimed it
    job = created(store)
    claim(store, job.job_id, token="token-1")
    claim(store, job.job_id, at=later(LEASE + 1), token="token-2")

    # When the first worker comes back and tries to record its result
    with pytest.raises(LeaseLost, match="IN_PROGRESS"):
        store.finish_job(
            job.job_id,
            lease_token="token-1",
            status=JobStatus.SUCCEEDED,
            result={"stale": True},
            error=None,
            now=later(LEASE + 2),
        )

    # Then the job is still the second worker's, with no result
    current = store.get_job(job.job_id)
    assert current.status is JobStatus.IN_PROGRESS
    assert current.lease_token == "token-2"
    assert current.result is None


def test_a_retried_finish_with_the_same_token_returns_the_job_as_written(store):
    job = created(store)
    claim(store, job.job_id, token="token-1")
    first = store.finish_job(
        job.job_id, lease_token="token-1", status=JobStatus.SUCCEEDED, result={"n": 1}, error=None, now=T0
    )

    again = store.finish_job(
        job.job_id,
        lease_token="token-1",
        status=JobStatus.SUCCEEDED,
        result={"n": 2},
        error=None,
        now=later(1),
    )

    assert again == first
    assert store.get_job(job.job_id).result == {"n": 1}


def test_a_finished_job_cannot_be_finished_again_by_another_token(store):
    job = created(store)
    claim(store, job.job_id, token="token-1")
    store.finish_job(
        job.job_id, lease_token="token-1", status=JobStatus.SUCCEEDED, result={}, error=None, now=T0
    )

    with pytest.raises(LeaseLost, match="SUCCEEDED"):
        store.finish_job(
            job.job_id,
            lease_token="token-2",
            status=JobStatus.FAILED,
            result=None,
            error=JobFailure(type="X", message="late"),
            now=T0,
        )


def test_finishing_a_missing_job_is_a_lost_lease_and_creates_nothing(client, store):
    with pytest.raises(LeaseLost, match="missing"):
        store.finish_job(
            job_id(404), lease_token="t", status=JobStatus.SUCCEEDED, result={}, error=None, now=T0
        )

    assert item_count(client) == 0


# --- cancel -------------------------------------------------------------------------------


def test_a_queued_job_is_cancelled(store):
    job = created(store)

    cancelled = store.cancel_job(job.job_id, later(3))

    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == later(3)
    assert [each.job_id for each in store.list_jobs(None, JobStatus.CANCELLED, 10, None)[0]] == [job.job_id]
    assert store.list_jobs(None, JobStatus.QUEUED, 10, None)[0] == []


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_finished_job_is_not_cancellable(store, status):
    job = created(store, status=status)

    with pytest.raises(JobNotCancellable) as raised:
        store.cancel_job(job.job_id, later(3))

    assert raised.value.details == {"status": status.value}
    assert store.get_job(job.job_id).status is status


def test_cancelling_a_missing_job_is_not_found_and_creates_nothing(client, store):
    with pytest.raises(JobNotFoundError):
        store.cancel_job(job_id(404), T0)

    assert item_count(client) == 0


# --- list ---------------------------------------------------------------------------------

STATUS_CYCLE = [
    JobStatus.QUEUED,
    JobStatus.IN_PROGRESS,
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
]


@pytest.fixture
def many_jobs(store) -> list[Job]:
    """43 jobs across every status, ids in creation order."""
    jobs = [make_job(job_id=job_id(n), status=STATUS_CYCLE[(n * 7) % 5]) for n in range(43)]
    for job in jobs:
        store.create_job(job)
    return jobs


def walk(
    store: JobStore, status: JobStatus | None, limit: int, *, owner: str | None = None
) -> list[list[str]]:
    """The ids of every page of a listing, page by page, following its cursor to the end."""
    pages, after = [], None
    while True:
        page, after = store.list_jobs(owner, status, limit, after)
        pages.append([job.job_id for job in page])
        if after is None:
            return pages
        assert len(pages) <= 50, "the listing never ended"


def test_the_jobs_are_spread_over_every_shard(store, many_jobs):
    shards = {store.list_shard(job.job_id, job.created_at).split("#")[1] for job in many_jobs}

    assert len(shards) == SHARDS


@pytest.mark.parametrize("limit", [2, 5, 10, 43, 100])
def test_listing_every_status_walks_all_jobs_newest_first_without_duplicates_or_gaps(store, many_jobs, limit):
    pages = walk(store, None, limit)

    listed = [each for page in pages for each in page]
    assert listed == [job.job_id for job in reversed(many_jobs)]
    assert all(len(page) <= limit for page in pages)
    assert all(pages[:-1]), "only the last page may be empty"


@pytest.mark.parametrize("status", STATUS_CYCLE)
def test_listing_one_status_walks_its_jobs_newest_first_across_shards(store, many_jobs, status):
    pages = walk(store, status, 3)

    listed = [each for page in pages for each in page]
    assert listed == [job.job_id for job in reversed(many_jobs) if job.status is status]


def test_a_full_page_that_holds_the_last_job_says_no_more_remain(store, many_jobs):
    page, after = store.list_jobs(None, None, 43, None)

    assert [job.job_id for job in page] == [job.job_id for job in reversed(many_jobs)]
    assert after is None, "a next page that would be empty"


class _CountsQueries:
    """The store's client, counting the index queries by partition."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.partitions: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> Any:
        self.partitions.append(kwargs["ExpressionAttributeValues"][":shard"]["S"])
        return self._client.query(**kwargs)


def test_a_page_that_today_fills_queries_todays_shards_only(client, store, many_jobs):
    counting = _CountsQueries(client)

    page, after = DynamoJobStore(TABLE, shards=SHARDS, client=counting, clock=lambda: T0).list_jobs(
        None, None, 20, None
    )

    assert len(page) == 20 and after is not None
    assert sorted(counting.partitions) == [f"{T0.date().isoformat()}#{n}" for n in range(SHARDS)]


def test_a_listing_that_finds_nothing_asks_each_shard_of_each_day_it_can_hold_once(client, store):
    counting = _CountsQueries(client)

    page, after = DynamoJobStore(TABLE, shards=SHARDS, client=counting, clock=lambda: T0).list_jobs(
        "ada", None, 20, None
    )

    assert (page, after) == ([], None)
    days = window_days(30, 14 * 86_400) + 1
    assert len(counting.partitions) == len(set(counting.partitions)) == days * SHARDS


# --- recovery -----------------------------------------------------------------------------

DEAD = JobFailure(type="DeadLettered", message="moved to the dead-letter queue")


def test_an_abandoned_queued_job_is_failed(store):
    job = created(store)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=later(60))

    assert failed.status is JobStatus.FAILED
    assert failed.error == DEAD
    assert failed.finished_at == later(60)


def test_an_abandoned_job_whose_lease_expired_is_failed_and_its_lease_cleared(store):
    job = created(store)
    claim(store, job.job_id)

    failed = store.fail_abandoned_job(job.job_id, error=DEAD, now=later(LEASE + 1))

    assert failed.status is JobStatus.FAILED
    assert (failed.lease_token, failed.lease_expires_at) == (None, None)


def test_a_job_a_live_worker_holds_is_not_failed_as_abandoned(store):
    job = created(store)
    claim(store, job.job_id)

    assert store.fail_abandoned_job(job.job_id, error=DEAD, now=later(LEASE - 1)) is None
    assert store.get_job(job.job_id).status is JobStatus.IN_PROGRESS


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_finished_job_is_not_failed_as_abandoned(store, status):
    job = created(store, status=status)

    assert store.fail_abandoned_job(job.job_id, error=DEAD, now=later(60)) is None
    assert store.get_job(job.job_id).error is None


def test_failing_a_missing_job_as_abandoned_creates_nothing(client, store):
    assert store.fail_abandoned_job(job_id(404), error=DEAD, now=T0) is None
    assert item_count(client) == 0


def test_a_redrive_is_counted_only_while_no_live_worker_holds_the_job(store):
    queued = created(store, job_id=job_id(1))
    held = created(store, job_id=job_id(2))
    claim(store, held.job_id)

    assert store.mark_redriven(queued.job_id, later(1)).redrives == 1
    assert store.mark_redriven(held.job_id, later(LEASE - 1)) is None
    assert store.mark_redriven(held.job_id, later(LEASE + 1)).redrives == 1


# --- pending sends ------------------------------------------------------------------------


def mark_pending(client: Any, store: DynamoJobStore, job: Job, at) -> None:
    """What a writer that makes a job QUEUED before sending its message (rerun) does."""
    marker = store.pending_send_marker(job.job_id, at)
    client.update_item(
        TableName=TABLE,
        Key={"jobId": {"S": job.job_id}},
        UpdateExpression="SET pendingSince = :since, pendingShard = :shard",
        ExpressionAttributeValues=to_item(
            {":since": marker["pendingSince"], ":shard": marker["pendingShard"]}
        ),
    )


def all_pending(store: DynamoJobStore, limit: int = 2) -> tuple[list[str], int]:
    found: list[str] = []
    cursor, calls = None, 0
    while True:
        page, cursor = store.pending_sends(cursor, limit)
        calls += 1
        found += [pending.job_id for pending in page]
        if cursor is None:
            return found, calls


def test_only_jobs_marked_pending_are_in_the_pending_index_and_a_walk_visits_each_once(client, store):
    jobs = [created(store, job_id=job_id(n)) for n in range(9)]
    for job in jobs[:5]:
        mark_pending(client, store, job, T0)

    found, calls = all_pending(store, limit=2)

    assert sorted(found) == sorted(job.job_id for job in jobs[:5])
    assert calls >= SHARDS  # every shard is walked, a page at a time


def test_a_pending_index_entry_without_its_since_is_skipped_and_the_sweep_walks_on(client, store):
    # Given a job in the index with a pendingShard but no pendingSince (half a marker, as no
    # writer of this store leaves it) beside a job marked in full
    half, marked = (created(store, job_id=job_id(n)) for n in range(2))
    mark_pending(client, store, marked, T0)
    client.update_item(
        TableName=TABLE,
        Key={"jobId": {"S": half.job_id}},
        UpdateExpression="SET pendingShard = :shard",
        ExpressionAttributeValues=to_item(
            {":shard": store.pending_send_marker(half.job_id, T0)["pendingShard"]}
        ),
    )

    # Then the walk lists the marked job only, instead of failing every sweep on the half one
    assert all_pending(store)[0] == [marked.job_id]


@pytest.mark.parametrize(
    "cursor",
    [f"{SHARDS + 3}|", f"{SHARDS}|", "x|"],
    ids=["a shard this store has not", "the first shard past its last", "garbage"],
)
def test_a_sweep_cursor_naming_no_shard_of_this_store_starts_again_at_the_first(client, store, cursor):
    # e.g. saved before the number of shards was lowered
    jobs = [created(store, job_id=job_id(n)) for n in range(9)]
    for job in jobs:
        mark_pending(client, store, job, T0)
    first_shard = [job.job_id for job in jobs if store.pending_shard(job.job_id) == "PENDING#0"]
    assert first_shard, "no job fell in the first shard"

    page, after = store.pending_sends(cursor, 100)

    assert [pending.job_id for pending in page] == first_shard
    assert after == "1|"


def test_the_claim_and_a_cleared_send_remove_the_pending_marker(client, store):
    claimed, sent, resent = (created(store, job_id=job_id(n)) for n in range(3))
    for job in (claimed, sent, resent):
        mark_pending(client, store, job, T0)

    claim(store, claimed.job_id)
    store.clear_pending_send(sent.job_id, int(T0.timestamp()))
    store.clear_pending_send(resent.job_id, int(T0.timestamp()) - 1)  # a newer marker: kept

    assert all_pending(store)[0] == [resent.job_id]
    assert "pendingShard" not in raw_item(client, claimed.job_id)


def test_the_sweep_cursor_is_kept_between_runs(store):
    assert store.sweep_cursor() is None
    store.save_sweep_cursor("2|" + job_id(5))
    assert store.sweep_cursor() == "2|" + job_id(5)
    store.save_sweep_cursor(None)
    assert store.sweep_cursor() is None
    assert store.get_job("sweep#pending") is None


def test_record_execution_remembers_executions_up_to_a_cap(store):
    job = created(store, status=JobStatus.SUCCEEDED)

    for n in range(30):
        store.record_execution(job.job_id, f"run-{n}")

    assert store.get_job(job.job_id).executions == [f"run-{n}" for n in range(25)]


def test_record_execution_for_a_missing_job_creates_nothing(client, store):
    store.record_execution(job_id(404), "run-1")

    assert item_count(client) == 0


# --- rerun ---------------------------------------------------------------------------------


def a_failed_job(store: DynamoJobStore, *, reason: str = "nope") -> Job:
    job = make_job()
    store.create_job(job)
    claim(store, job.job_id)
    return store.finish_job(
        job.job_id,
        lease_token="token-1",
        status=JobStatus.FAILED,
        result=None,
        error=JobFailure(type="PermanentJobError", message=reason),
        now=later(1),
    )


def rerun(store: DynamoJobStore, job_id_: str, *, at=None, key: str | None = None) -> tuple[Job, bool]:
    return store.rerun_job(
        job_id_, now=at or later(2), idempotency_key=key, request_hash=rerun_request_hash(job_id_)
    )


def test_a_rerun_is_one_write_that_queues_the_job_keeps_its_run_and_sets_the_pending_marker(client, store):
    failed = a_failed_job(store)

    job, created = rerun(store, failed.job_id)

    stored = store.get_job(failed.job_id, consistent=True)
    assert created and stored == job
    assert stored.status is JobStatus.QUEUED and stored.attempts == 1
    assert stored.error is None and stored.finished_at is None and stored.lease_token is None
    [run] = stored.runs
    assert (run.run, run.status, run.first_attempt, run.last_attempt) == (1, JobStatus.FAILED, 1, 1)
    assert run.error == JobFailure(type="PermanentJobError", message="nope")
    assert run.executions == ["run-1"] and run.finished_at == later(1)
    item = raw_item(client, failed.job_id)
    # Queued again today: listed among today's jobs, swept as stranded from today
    assert item["listShard"]["S"] == store.list_shard(failed.job_id, later(2))
    assert stored.queued_at == later(2)
    assert item["pendingShard"]["S"] == store.pending_shard(failed.job_id)
    assert item["pendingShard"]["S"].startswith("PENDING#")
    assert int(item["pendingSince"]["N"]) == int(later(2).timestamp())


def test_the_marker_is_removed_only_by_the_rerun_that_set_it(client, store):
    failed = a_failed_job(store)
    job, _ = rerun(store, failed.job_id)

    assert job.pending_since is not None
    store.clear_pending_send(job.job_id, job.pending_since - 1)  # not this marker
    assert "pendingShard" in raw_item(client, failed.job_id)
    store.clear_pending_send(job.job_id, job.pending_since)

    item = raw_item(client, failed.job_id)
    assert "pendingShard" not in item and "pendingSince" not in item
    assert item["status"]["S"] == "QUEUED"


def test_a_second_run_counts_on_from_the_first_and_both_runs_are_kept(store):
    failed = a_failed_job(store)
    rerun(store, failed.job_id)
    claim(store, failed.job_id, at=later(3), token="token-2", execution="run-2")
    store.finish_job(
        failed.job_id,
        lease_token="token-2",
        status=JobStatus.FAILED,
        result=None,
        error=JobFailure(type="PermanentJobError", message="again"),
        now=later(4),
    )

    job, _ = rerun(store, failed.job_id, at=later(5))

    assert job.attempts == 2
    assert [(run.first_attempt, run.last_attempt, run.executions) for run in job.runs] == [
        (1, 1, ["run-1"]),
        (2, 2, ["run-2"]),
    ]
    assert [run.error.message for run in job.runs] == ["nope", "again"]
    assert job.executions == ["run-1", "run-2"]


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.CANCELLED])
def test_only_a_failed_job_is_rerun(client, store, status):
    job = make_job(status=status)
    store.create_job(job)
    before = raw_item(client, job.job_id)

    with pytest.raises(JobNotRerunnable):
        rerun(store, job.job_id)

    assert raw_item(client, job.job_id) == before


def test_rerunning_a_missing_job_is_not_found_and_creates_nothing(client, store):
    with pytest.raises(JobNotFoundError):
        rerun(store, job_id(1))
    assert item_count(client) == 0


def test_two_reruns_at_once_make_one_run(store, monkeypatch):
    failed = a_failed_job(store)
    both_read = threading.Barrier(2, timeout=30)
    read = store.get_job
    reads = 0

    def read_then_wait(job_id_: str, *, consistent: bool = False) -> Job | None:
        nonlocal reads
        job = read(job_id_, consistent=consistent)
        reads += 1
        if reads <= 2:
            both_read.wait()  # both reruns have seen the job FAILED before either writes
        return job

    # DynamoDB applies one write to an item at a time; moto's in-process backend does not
    # lock, so the writes are serialised here as the service serialises them.
    one_write_at_a_time = threading.Lock()
    write = store.client.transact_write_items

    def serialised_write(**request: Any) -> Any:
        with one_write_at_a_time:
            return write(**request)

    monkeypatch.setattr(store, "get_job", read_then_wait)
    monkeypatch.setattr(store.client, "transact_write_items", serialised_write)
    outcomes: list[Any] = []

    def attempt() -> None:
        try:
            outcomes.append(rerun(store, failed.job_id))
        except JobNotRerunnable as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["JobNotRerunnable", "tuple"]
    monkeypatch.undo()
    assert len(store.get_job(failed.job_id, consistent=True).runs) == 1


def test_a_rerun_key_replays_and_another_request_with_it_conflicts(client, store):
    failed = a_failed_job(store)
    other = a_failed_job(store)
    first, created = rerun(store, failed.job_id, key="rerun-1")

    again, created_again = rerun(store, failed.job_id, key="rerun-1")

    assert created and not created_again and again.job_id == first.job_id
    assert len(again.runs) == 1
    with pytest.raises(IdempotencyConflict):
        rerun(store, other.job_id, key="rerun-1")


def test_undoing_a_rerun_restores_the_failed_job_and_frees_its_key(client, store):
    failed = a_failed_job(store)
    before = store.get_job(failed.job_id, consistent=True)
    job, _ = rerun(store, failed.job_id, key="rerun-1")

    assert store.undo_rerun(job, now=later(3), idempotency_key="rerun-1")

    restored = store.get_job(failed.job_id, consistent=True)
    # Everything the job shows comes back; the finished run's lease bookkeeping does not (a
    # rerun clears it, so that a rerun job never carries a lease that still looks live), nor
    # when it was last queued: it stays listed under the day of the rerun (no index move).
    bookkeeping = {"updated_at", "expires_at", "lease_token", "lease_message_id", "lease_execution_id"}
    bookkeeping.add("queued_at")
    assert restored.model_dump(exclude=bookkeeping) == before.model_dump(exclude=bookkeeping)
    assert raw_item(client, store.idempotency_item_key("rerun-1")) is None
    assert "pendingShard" not in raw_item(client, failed.job_id)


def test_a_rerun_already_claimed_is_not_undone(store):
    failed = a_failed_job(store)
    job, _ = rerun(store, failed.job_id)
    claim(store, failed.job_id, at=later(3), token="token-2", execution="run-2")

    assert not store.undo_rerun(job, now=later(4), idempotency_key=None)
    assert store.get_job(failed.job_id, consistent=True).status is JobStatus.IN_PROGRESS
