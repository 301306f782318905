"""What the HTTP API does with jobs: submit, read, list, cancel, history (against fakes)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from cloudqueue import jobs
from cloudqueue.callers import ANONYMOUS, Caller
from cloudqueue.errors import EnqueueFailed, IdempotencyConflict, JobNotCancellable, JobNotFoundError
from cloudqueue.jobs import InvalidPageToken, encode_page_token
from cloudqueue.models import JobStatus
from tests.fakes import (
    T0,
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    execution_arn,
    job_id,
    later,
    make_job,
)

TEXT = "text.transform"

ANYONE = Caller(ANONYMOUS)  # AuthMode=none: the caller owns make_job's jobs (owner anonymous)


def submit(store, queue, payload=None, *, key=None, job_type=TEXT, now=T0):
    return jobs.submit_job(
        job_type,
        {"text": "hello"} if payload is None else payload,
        store=store,
        queue=queue,
        now=now,
        retention_days=30,
        idempotency_key=key,
    )


# --- submit -------------------------------------------------------------------------------


def test_a_new_job_is_stored_queued_then_its_id_is_sent():
    # Given an empty store and a working queue
    store, queue = FakeJobStore(), FakeJobQueue()

    # When a job is submitted
    job, created = submit(store, queue, {"text": "hello"})

    # Then it is stored QUEUED, its message is sent, and it expires after the retention period
    assert created
    assert jobs.JOB_ID_PATTERN.match(job.job_id)
    assert store.get_job(job.job_id) == job
    assert job.status is JobStatus.QUEUED
    assert (job.type, job.payload, job.attempts) == (TEXT, {"text": "hello"}, 0)
    assert queue.sent == [job.job_id]
    assert job.expires_at == int((T0 + timedelta(days=30)).timestamp())


def test_job_ids_sort_by_creation_time():
    store, queue = FakeJobStore(), FakeJobQueue()

    ids = [submit(store, queue)[0].job_id for _ in range(20)]

    assert ids == sorted(ids)
    assert len(set(ids)) == 20


def test_a_retried_submit_with_the_same_key_and_body_returns_the_same_job():
    # Given a job submitted with an Idempotency-Key
    store, queue = FakeJobStore(), FakeJobQueue()
    first, _ = submit(store, queue, {"text": "hello"}, key="order-42")

    # When the client retries with the same key and body
    again, created = submit(store, queue, {"text": "hello"}, key="order-42", now=later(5))

    # Then it gets the same job back, and no second job or message is made
    assert not created
    assert again.job_id == first.job_id
    assert len(store.jobs) == 1
    assert queue.sent == [first.job_id]


def test_the_same_key_with_the_same_payload_in_another_key_order_is_a_replay():
    store, queue = FakeJobStore(), FakeJobQueue()
    first, _ = submit(store, queue, {"seconds": 1, "x": {"b": 1, "a": 2}}, key="k", job_type="demo.sleep")

    again, created = submit(
        store, queue, {"x": {"a": 2, "b": 1}, "seconds": 1}, key="k", job_type="demo.sleep"
    )

    assert not created
    assert again.job_id == first.job_id


def test_the_same_key_with_another_body_is_a_conflict():
    store, queue = FakeJobStore(), FakeJobQueue()
    first, _ = submit(store, queue, {"text": "hello"}, key="order-42")

    with pytest.raises(IdempotencyConflict) as raised:
        submit(store, queue, {"text": "goodbye"}, key="order-42")

    assert raised.value.details == {"jobId": first.job_id}
    assert len(store.jobs) == 1
    assert queue.sent == [first.job_id]


class OrderLog:
    """A store and a queue that write what happens, in order, into one list."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.store = FakeJobStore()
        self.queue = FakeJobQueue()
        real_create, real_send = self.store.create_job, self.queue.send_job
        self.store.create_job = lambda job: (self.events.append("write"), real_create(job))[1]
        self.queue.send_job = lambda job_id_: (self.events.append("send"), real_send(job_id_))[1]


def test_the_message_is_sent_before_the_job_is_written():
    # An accepted job always has a message: nothing can leave it QUEUED with none.
    log = OrderLog()

    submit(log.store, log.queue)

    assert log.events == ["send", "write"]


def test_when_the_write_fails_after_the_send_enqueue_failed_is_raised_and_no_job_exists():
    class WriteFails(FakeJobStore):
        def create_job(self, job):
            raise ConnectionError("DynamoDB is unreachable")

    store, queue = WriteFails(), FakeJobQueue()

    with pytest.raises(EnqueueFailed):
        submit(store, queue, key="order-42")

    # The message names a job that does not exist: the claim consumes it after the grace.
    assert len(queue.sent) == 1 and store.jobs == {} and store.keys == {}


def test_a_replayed_idempotency_key_sends_no_second_message():
    store, queue = FakeJobStore(), FakeJobQueue()
    first, _ = submit(store, queue, key="order-42")

    again, created = submit(store, queue, key="order-42")

    assert (again, created) == (first, False)
    assert queue.sent == [first.job_id]


def test_when_the_queue_send_fails_nothing_is_written_and_enqueue_failed_raised():
    # Given a queue that is down
    store, queue = FakeJobStore(), FakeJobQueue(fail=True)

    # When a job is submitted with a key
    with pytest.raises(EnqueueFailed):
        submit(store, queue, key="order-42")

    # Then nothing was kept: neither the job nor its key
    assert store.jobs == {}
    assert store.keys == {}

    # And a retry with the same key, once the queue is back, makes the job
    queue.fail = False
    job, created = submit(store, queue, key="order-42")
    assert created
    assert queue.sent == [job.job_id]


# --- get, cancel, history -----------------------------------------------------------------


def test_get_returns_the_stored_job():
    job = make_job()

    assert jobs.get_job(job.job_id, store=FakeJobStore(job), caller=ANYONE) == job


@pytest.mark.parametrize("wanted", [job_id(404), "not-a-job-id", "idem#abc", ""])
def test_get_of_an_unknown_or_malformed_id_is_not_found(wanted):
    with pytest.raises(JobNotFoundError):
        jobs.get_job(wanted, store=FakeJobStore(make_job()), caller=ANYONE)


def test_cancel_moves_a_queued_job_to_cancelled_once():
    # Given a QUEUED job
    job = make_job()
    store = FakeJobStore(job)

    # When it is cancelled, then cancelled again
    cancelled = jobs.cancel_job(job.job_id, store=store, now=later(3), caller=ANYONE)
    with pytest.raises(JobNotCancellable) as raised:
        jobs.cancel_job(job.job_id, store=store, now=later(4), caller=ANYONE)

    # Then the first cancel won and the second says the job's status
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == later(3)
    assert raised.value.details == {"status": "CANCELLED"}


def test_a_job_that_started_cannot_be_cancelled():
    job = make_job(status=JobStatus.IN_PROGRESS, lease_token="t", lease_expires_at=later(60).timestamp())
    store = FakeJobStore(job)

    with pytest.raises(JobNotCancellable):
        jobs.cancel_job(job.job_id, store=store, now=T0, caller=ANYONE)

    assert store.get_job(job.job_id).status is JobStatus.IN_PROGRESS


@pytest.mark.parametrize("wanted", [job_id(404), "../etc"])
def test_cancel_of_an_unknown_job_is_not_found(wanted):
    with pytest.raises(JobNotFoundError):
        jobs.cancel_job(wanted, store=FakeJobStore(), now=T0, caller=ANYONE)


def test_history_summarizes_every_execution_of_the_job_in_order():
    # Given a job seen by two executions, whose log has events for the first
    arns = [execution_arn("run-1"), execution_arn("run-2")]
    job = make_job(status=JobStatus.SUCCEEDED, executions=arns)
    log = FakeExecutionLog(
        {
            arns[0]: [
                {"id": "1", "type": "ExecutionStarted", "event_timestamp": "1767323045000", "details": {}}
            ]
        }
    )

    # When its history is read
    history = jobs.job_history(job.job_id, store=FakeJobStore(job), log=log, caller=ANYONE)

    # Then both executions are there, oldest first
    assert history["jobId"] == job.job_id
    assert history["status"] == "SUCCEEDED"
    assert [execution["executionArn"] for execution in history["executions"]] == arns
    assert len(history["executions"][0]["events"]) == 1
    assert history["executions"][1]["events"] == []
    assert log.asked == arns


def test_a_job_belongs_to_its_submitter_and_is_queued_when_it_is_submitted():
    store, queue = FakeJobStore(), FakeJobQueue()

    mine, _ = jobs.submit_job(
        TEXT, {"text": "hello"}, store=store, queue=queue, now=T0, retention_days=30, owner="ada"
    )
    anonymous, _ = submit(store, queue)

    assert (store.get_job(mine.job_id).owner, store.get_job(mine.job_id).queued_at) == ("ada", T0)
    assert anonymous.owner == "anonymous"
    # Each owner lists their own; an owner of None (an administrator) lists everyone's
    assert [view.job_id for view in jobs.list_jobs(None, 10, None, store=store, owner="ada").jobs] == [
        mine.job_id
    ]
    assert [view.job_id for view in jobs.list_jobs(None, 10, None, store=store).jobs] == [anonymous.job_id]
    assert {view.job_id for view in jobs.list_jobs(None, 10, None, store=store, owner=None).jobs} == {
        mine.job_id,
        anonymous.job_id,
    }


# --- list and page tokens -----------------------------------------------------------------


def listed_world(count: int = 25) -> FakeJobStore:
    statuses = [JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED]
    return FakeJobStore(*(make_job(job_id=job_id(n), status=statuses[n % 3]) for n in range(count)))


def all_pages(store, status, limit):
    pages, token = [], None
    while True:
        page = jobs.list_jobs(status, limit, token, store=store)
        pages.append([view.job_id for view in page.jobs])
        token = page.next_token
        if token is None:
            return pages
        assert len(pages) < 100, "the listing never ended"


def test_list_walks_every_job_newest_first_without_duplicates_or_gaps():
    store = listed_world(25)

    pages = all_pages(store, None, 7)

    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert [each for page in pages for each in page] == [job_id(n) for n in reversed(range(25))]


def test_list_with_a_status_filter_returns_only_that_status():
    store = listed_world(25)

    pages = all_pages(store, JobStatus.FAILED, 3)

    listed = [each for page in pages for each in page]
    assert listed == [job_id(n) for n in reversed(range(25)) if n % 3 == 2]


def test_list_pages_hide_the_lease_token():
    store = FakeJobStore(make_job(status=JobStatus.IN_PROGRESS, lease_token="secret"))

    page = jobs.list_jobs(None, 10, None, store=store)

    assert "secret" not in page.model_dump_json()


def test_a_page_token_round_trips_to_the_job_it_continues_after():
    token = encode_page_token(JobStatus.QUEUED, job_id(7))

    assert jobs.decode_page_token(token, JobStatus.QUEUED) == job_id(7)
    assert "=" not in token


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        b64("not json"),
        b64("null"),
        b64("[]"),
        b64('"after"'),
        b64(json.dumps({"status": None})),
        b64(json.dumps({"status": None, "after": 7})),
        b64(json.dumps({"status": None, "after": "idem#abc"})),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
def test_a_garbage_page_token_is_refused(token):
    with pytest.raises(InvalidPageToken, match="not a token this API gave out"):
        jobs.list_jobs(None, 10, token, store=listed_world(3))


def test_a_page_token_from_another_status_filter_is_refused():
    store = listed_world(25)
    token = jobs.list_jobs(JobStatus.QUEUED, 2, None, store=store).next_token
    assert token is not None

    with pytest.raises(InvalidPageToken, match="another status filter"):
        jobs.list_jobs(JobStatus.FAILED, 2, token, store=store)
    with pytest.raises(InvalidPageToken, match="another status filter"):
        jobs.list_jobs(None, 2, token, store=store)


def call_with_deep_stack(depth: int, function):
    return function() if depth == 0 else call_with_deep_stack(depth - 1, function)


def test_a_deeply_nested_page_token_is_refused_even_from_a_deep_call_stack():
    # Given a token as long as the API accepts (1,024 characters), nesting JSON arrays
    token = b64("[" * 760)
    assert len(token) <= 1024

    # When it is decoded where the call stack is already deep (wrappers, middlewares)
    def decode():
        return jobs.decode_page_token(token, None)

    # Then it is refused as a bad token, not a crash
    with pytest.raises(InvalidPageToken):
        call_with_deep_stack(400, decode)
