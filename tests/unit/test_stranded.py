"""The sweep of stranded jobs (``cloudqueue.recovery`` item 7), on the fake store and on DynamoDB
(moto): a job QUEUED longer than the queue keeps a message is sent again, found without a scan,
each day once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.handlers import requeue
from cloudqueue.listing import window_days
from cloudqueue.models import Job, JobStatus, utc_now
from cloudqueue.ports import JobStore, StrandedSweep
from cloudqueue.recovery import StrandedReport, resend_stranded_jobs
from tests.fakes import FakeJobQueue, FakeJobStore, FakeLambdaContext, job_id, make_job, schedule_event
from tests.unit.test_dynamodb_store import create_jobs_table

TABLE = "cloudqueue-stranded-jobs"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUEUE_RETENTION = timedelta(days=14)
WINDOW = window_days(30, int(QUEUE_RETENTION.total_seconds()))
LEASE = 60


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[JobStore]:
    if request.param == "fake":
        yield FakeJobStore(clock=lambda: NOW)
        return
    client = request.getfixturevalue("dynamodb")
    create_jobs_table(client, TABLE)
    try:
        yield DynamoJobStore(TABLE, shards=4, client=client, clock=lambda: NOW)
    finally:
        client.delete_table(TableName=TABLE)


class CountingStore:
    """A store that counts the pages of listed jobs it is asked for."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self.pages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def jobs_listed_on(self, *args: Any) -> Any:
        self.pages += 1
        return self._store.jobs_listed_on(*args)


def queued(store: JobStore, days_ago: float, n: int, **fields: Any) -> Job:
    """A job last queued ``days_ago`` before NOW (QUEUED unless ``status`` says otherwise)."""
    at = NOW - timedelta(days=days_ago)
    job = make_job(job_id=job_id(n), created_at=at, updated_at=at, queued_at=at, **fields)
    store.create_job(job)
    return job


def sweep(store: Any, queue: FakeJobQueue, *, now: datetime = NOW, page_size: int = 100) -> StrandedReport:
    return resend_stranded_jobs(
        store=store,
        queue=queue,
        now=now,
        queue_retention=QUEUE_RETENTION,
        window_days=WINDOW,
        page_size=page_size,
        time_left=lambda: 60.0,
    )


def test_a_job_queued_longer_than_the_queue_keeps_a_message_is_sent_again_and_then_claimed(store):
    # Given a job QUEUED 15 days ago, whose message the queue no longer holds
    job = queued(store, days_ago=15, n=1)
    queue = FakeJobQueue()

    # When the sweeper runs
    report = sweep(store, queue)

    # Then its message is sent again, it is queued now and listed today
    assert report.resent == queue.sent == [job.job_id]
    stored = store.get_job(job.job_id)
    assert (stored.status, stored.queued_at) == (JobStatus.QUEUED, NOW)
    assert stored.expires_at == int((NOW + timedelta(days=30)).timestamp())
    assert [each.job_id for each in store.list_jobs(None, None, 1, None)[0]] == [job.job_id]
    # And the new message's delivery claims it
    attempt = store.claim_job(
        job.job_id, message_id="m-2", execution_id="run-2", lease_token="t", now=NOW, lease_seconds=LEASE
    )
    assert attempt.claimed


def test_a_job_queued_less_than_the_queues_retention_ago_is_left_to_its_message(store):
    job = queued(store, days_ago=13, n=1)
    queue = FakeJobQueue()

    report = sweep(store, queue)

    assert queue.sent == [] and report.resent == []
    assert store.get_job(job.job_id) == job
    # Its day is not examined yet: it did not end more than the retention ago
    assert store.stranded_sweep().day <= job.queued_at.date()


@pytest.mark.parametrize(
    "status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.IN_PROGRESS]
)
def test_a_job_that_left_queued_is_not_touched_however_old(store, status):
    job = queued(store, days_ago=20, n=1, status=status)
    queue = FakeJobQueue()

    report = sweep(store, queue)

    assert queue.sent == [] and report.resent == []
    assert report.examined == 1
    assert store.get_job(job.job_id) == job


def test_the_cursor_moves_past_each_day_examined_and_a_second_sweep_reads_nothing_again(store):
    # Given stranded jobs on two days and a finished one
    jobs = [queued(store, days_ago=16, n=1), queued(store, days_ago=15, n=2)]
    queued(store, days_ago=15.5, n=3, status=JobStatus.SUCCEEDED)
    queue = FakeJobQueue()

    first = sweep(store, queue)
    counting = CountingStore(store)
    second = sweep(counting, queue)

    # Then the first sweep examined every day of the window up to the newest that ended more
    # than the retention ago, once; the second found nothing left to read
    newest = (NOW - QUEUE_RETENTION).date() - timedelta(days=1)
    assert first.days == [newest - timedelta(days=n) for n in reversed(range(WINDOW - 14))]
    assert store.stranded_sweep() == StrandedSweep(newest + timedelta(days=1))
    assert sorted(first.resent) == sorted(job.job_id for job in jobs) and first.examined == 3
    assert (second.resent, second.examined, counting.pages) == ([], 0, 0)
    # A day later, the sweep reads that one day, its shards once each
    third = sweep(counting, queue, now=NOW + timedelta(days=1))
    assert third.days == [newest + timedelta(days=1)] and counting.pages == 4


def test_a_rerun_job_is_found_by_the_day_it_was_rerun_not_the_day_it_was_created(store):
    # Given two jobs made 40 days ago, FAILED, then rerun: one 15 days ago, one 5 days ago
    made = NOW - timedelta(days=40)
    old_rerun, new_rerun = (
        make_job(job_id=job_id(n), created_at=made, updated_at=made, queued_at=made, status=JobStatus.FAILED)
        for n in (1, 2)
    )
    for job in (old_rerun, new_rerun):
        store.create_job(job)
    store.rerun_job(old_rerun.job_id, now=NOW - timedelta(days=15), idempotency_key=None, request_hash="a")
    store.rerun_job(new_rerun.job_id, now=NOW - timedelta(days=5), idempotency_key=None, request_hash="b")
    queue = FakeJobQueue()

    report = sweep(store, queue)

    # Then only the job rerun longer than the retention ago is sent again
    assert queue.sent == [old_rerun.job_id] and report.resent == [old_rerun.job_id]


def test_a_day_of_many_stranded_jobs_is_read_a_page_at_a_time_and_each_sent_once(store):
    jobs = [queued(store, days_ago=15, n=n) for n in range(9)]
    queue = FakeJobQueue()

    report = sweep(store, queue, page_size=2)

    assert sorted(queue.sent) == sorted(job.job_id for job in jobs)
    assert report.examined == 9


def test_a_sweep_whose_cursor_another_sweep_moved_stops_without_moving_it_back(store):
    # Given a sweep that read the cursor, and another that moved it meanwhile
    start = StrandedSweep((NOW - timedelta(days=20)).date())
    assert store.save_stranded_sweep(None, start)
    assert store.save_stranded_sweep(start, StrandedSweep(start.day + timedelta(days=3)))

    # Then the first one's move is refused, and the cursor stays where the other put it
    assert not store.save_stranded_sweep(start, StrandedSweep(start.day + timedelta(days=1)))
    assert not store.save_stranded_sweep(None, start)
    assert store.stranded_sweep() == StrandedSweep(start.day + timedelta(days=3))


def test_a_sweep_overtaken_by_another_stops_and_says_so():
    store = FakeJobStore(clock=lambda: NOW)
    queued(store, days_ago=15, n=1)

    class Overtaken(CountingStore):
        def save_stranded_sweep(self, previous: Any, position: Any) -> bool:
            return False

    report = sweep(Overtaken(store), FakeJobQueue())

    assert report.overtaken and report.days == []


def test_a_job_claimed_between_its_resend_and_its_record_is_left_as_the_claim_wrote_it(store):
    job = queued(store, days_ago=15, n=1)

    class ClaimedMeanwhile(CountingStore):
        def requeue_stranded(self, stranded: Job, now: datetime) -> Job | None:
            self._store.claim_job(
                stranded.job_id,
                message_id="m",
                execution_id="e",
                lease_token="t",
                now=now,
                lease_seconds=LEASE,
            )
            return self._store.requeue_stranded(stranded, now)

    queue = FakeJobQueue()
    report = sweep(ClaimedMeanwhile(store), queue)

    stored = store.get_job(job.job_id)
    assert report.resent == queue.sent == [job.job_id]
    assert (stored.status, stored.queued_at) == (JobStatus.IN_PROGRESS, job.queued_at)


# --- the handler ----------------------------------------------------------------------------


@pytest.fixture
def requeue_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    requeue.settings.cache_clear()
    yield
    requeue.settings.cache_clear()


def test_the_requeue_handler_logs_each_resent_job_and_counts_them_only_when_there_are_some(
    requeue_environment, caplog, monkeypatch
):
    # Given a job QUEUED 15 days ago, and the metrics the handler adds, recorded
    stranded = make_job(created_at=utc_now() - timedelta(days=15), updated_at=utc_now() - timedelta(days=15))
    store, queue = FakeJobStore(stranded, clock=utc_now), FakeJobQueue()
    added: list[tuple[str, float]] = []
    monkeypatch.setattr(requeue.metrics, "add_metric", lambda name, unit, value: added.append((name, value)))

    # When the scheduled sweep runs
    first = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)

    # Then it sent it again, logged it at WARNING with its id, and counted it
    assert first["strandedResent"] == queue.sent == [stranded.job_id]
    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert [getattr(record, "jobId", None) for record in warnings] == [stranded.job_id]
    assert ("StrandedJobsResent", 1) in added

    # And a second run, which sends nothing, adds no such metric
    added.clear()
    second = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)
    assert second["strandedResent"] == []
    assert [name for name, _ in added if name == "StrandedJobsResent"] == []
