"""Batch submit on the real adapters (DynamoDB and SQS on moto), with injected partial failures:
SQS entries reported Failed, whole calls failing, DynamoDB writes failing (before or after they
happened). Whatever fails, nothing accepted is lost and nothing is sent or written twice."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from cloudqueue import batch
from cloudqueue.adapters import sqs as sqs_adapter
from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.batch import BatchItem, ItemError, submit_batch
from cloudqueue_local.emulator.patches.moto_dynamodb import MotoDynamoDb
from tests.fakes import T0
from tests.unit.test_dynamodb_store import create_jobs_table

TABLE = "batch-jobs"


class FlakySqs:
    """An SQS client whose ``send_message_batch`` reports the entries ``fail(body, attempt)``
    picks as Failed (or raises on the attempts in ``raise_on``); everything else is moto's."""

    def __init__(self, client: Any, fail: Any = None, raise_on: frozenset[int] = frozenset()) -> None:
        self.client = client
        self.fail = fail or (lambda body, attempt: False)
        self.raise_on = raise_on
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls in self.raise_on:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "SendMessageBatch")
        failing = [entry for entry in Entries if self.fail(entry["MessageBody"], self.calls)]
        passing = [entry for entry in Entries if entry not in failing]
        answer: dict[str, Any] = {"Successful": [], "Failed": []}
        if passing:
            answer = dict(self.client.send_message_batch(QueueUrl=QueueUrl, Entries=passing))
            answer.setdefault("Failed", [])
        answer["Failed"] = [
            *answer.get("Failed", []),
            *({"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in failing),
        ]
        return answer


class FlakyDynamo:
    """A DynamoDB client whose conditional writes fail for the jobs ``fail(job_id, attempt)``
    picks: before the write, or (``after``) once it happened, as when an answer is lost."""

    def __init__(self, client: Any, fail: Any, *, after: bool = False) -> None:
        self.client = client
        self.fail = fail
        self.after = after
        self.attempts: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _maybe_fail(self, job_id: str, write: Any) -> Any:
        attempt = self.attempts[job_id] = self.attempts.get(job_id, 0) + 1
        failing = self.fail(job_id, attempt)
        if failing and not self.after:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "PutItem")
        answer = write()
        if failing:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "PutItem")
        return answer

    def put_item(self, **kwargs: Any) -> Any:
        job_id = kwargs["Item"]["jobId"]["S"]
        return self._maybe_fail(job_id, lambda: self.client.put_item(**kwargs))

    def transact_write_items(self, **kwargs: Any) -> Any:
        job_id = kwargs["TransactItems"][0]["Put"]["Item"]["jobId"]["S"]
        return self._maybe_fail(job_id, lambda: self.client.transact_write_items(**kwargs))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "WRITE_BACKOFF_SECONDS", 0)
    monkeypatch.setattr(sqs_adapter, "SEND_BACKOFF_SECONDS", 0)


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, str]]:
    # The local stack's patch: moto's transactions are not safe from concurrent writes, which
    # DynamoDB's are (the batch writes several jobs at once).
    isolated = MotoDynamoDb()
    isolated.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_jobs_table(dynamodb, TABLE)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="batch-jobs")["QueueUrl"]
        yield dynamodb, sqs, url
        # moto's backends may outlive mock_aws (a local stack in the same process)
        dynamodb.delete_table(TableName=TABLE)
        sqs.delete_queue(QueueUrl=url)
    isolated.uninstall()


def messages(sqs: Any, url: str) -> list[str]:
    """Every job id with a message in the queue (each message received once)."""
    ids: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        if not got.get("Messages"):
            return ids
        ids += [json.loads(message["Body"])["jobId"] for message in got["Messages"]]


def run(
    items: list[BatchItem | ItemError], dynamodb: Any, sqs: Any, url: str, owner: str = "alice"
) -> list[batch.ItemResult]:
    store = DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb, clock=lambda: T0)
    return submit_batch(
        items, store=store, queue=SqsJobQueue(url, client=sqs), now=T0, retention_days=30, owner=owner
    )


def stored_ids(dynamodb: Any) -> set[str]:
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return {item["jobId"]["S"] for item in items if "type" in item}


def items(count: int, keyed: bool = False) -> list[BatchItem | ItemError]:
    return [
        BatchItem("text.transform", {"text": str(n)}, f"key-{n}" if keyed else None) for n in range(count)
    ]


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_a_hundred_jobs_go_ten_to_a_call_each_sent_once_and_written(aws, keyed):
    dynamodb, sqs, url = aws
    flaky = FlakySqs(sqs)

    results = run(items(100, keyed), dynamodb, flaky, url)

    ids = [result.job.job_id for result in results if result.job and result.created]
    assert len(ids) == 100 and flaky.calls == 10
    assert sorted(messages(sqs, url)) == sorted(ids)
    assert stored_ids(dynamodb) == set(ids)


def test_entries_sqs_reports_failed_are_sent_again_and_none_twice(aws):
    dynamodb, sqs, url = aws
    # About a third of the jobs fail their first two attempts; the third gets them through.
    flaky = FlakySqs(sqs, fail=_fail_first_tries(2))

    results = run(items(25), dynamodb, flaky, url)

    ids = [result.job.job_id for result in results if result.job]
    assert len(ids) == 25
    sent = messages(sqs, url)
    assert sorted(sent) == sorted(ids)  # each once
    assert stored_ids(dynamodb) == set(ids)


def _fail_first_tries(tries: int) -> Any:
    seen: dict[str, int] = {}

    def fail(body: str, call: int) -> bool:
        job_id = json.loads(body)["jobId"]
        seen[job_id] = seen.get(job_id, 0) + 1
        return int(job_id[-1], 16) % 3 == 0 and seen[job_id] <= tries

    return fail


def test_entries_that_keep_failing_are_their_items_error_and_never_written(aws):
    dynamodb, sqs, url = aws
    doomed = {"1", "4"}
    texts: dict[str, str] = {}

    def fail(body: str, call: int) -> bool:
        return texts.get(json.loads(body)["jobId"]) in doomed

    flaky = FlakySqs(sqs, fail=fail)
    store = DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb, clock=lambda: T0)
    original = batch._new_job

    def remember(item: BatchItem, **kwargs: Any) -> Any:
        job = original(item, **kwargs)
        texts[job.job_id] = item.payload["text"]
        return job

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "_new_job", remember)
        results = submit_batch(
            items(6), store=store, queue=SqsJobQueue(url, client=flaky), now=T0, retention_days=30, owner="a"
        )

    assert [result.error.code if result.error else "ok" for result in results] == [
        "ok", "enqueue_failed", "ok", "ok", "enqueue_failed", "ok",
    ]  # fmt: skip
    accepted = {result.job.job_id for result in results if result.job}
    assert set(messages(sqs, url)) == accepted == stored_ids(dynamodb)
    assert len(accepted) == 4


def test_a_send_call_that_fails_whole_is_sent_again(aws):
    dynamodb, sqs, url = aws
    flaky = FlakySqs(sqs, raise_on=frozenset({1, 3}))

    results = run(items(20), dynamodb, flaky, url)

    ids = [result.job.job_id for result in results if result.job]
    assert len(ids) == 20
    assert sorted(messages(sqs, url)) == sorted(ids)


@pytest.mark.parametrize("keyed", [False, True], ids=["put", "transaction"])
@pytest.mark.parametrize("after", [False, True], ids=["before-write", "answer-lost"])
def test_writes_that_fail_then_pass_are_retried_and_each_job_is_written_once(aws, keyed, after):
    dynamodb, sqs, url = aws
    flaky = FlakyDynamo(
        dynamodb, fail=lambda job_id, attempt: attempt <= 2 and int(job_id[-1], 16) % 2 == 0, after=after
    )

    results = run(items(12, keyed), flaky, sqs, url)

    assert all(result.job is not None and result.created for result in results), results
    ids = [result.job.job_id for result in results if result.job]
    assert sorted(messages(sqs, url)) == sorted(ids)
    assert stored_ids(dynamodb) == set(ids)


def test_a_write_that_keeps_failing_is_that_items_error_and_its_message_an_orphan(aws):
    dynamodb, sqs, url = aws
    flaky = FlakyDynamo(dynamodb, fail=lambda job_id, attempt: flaky_target.get(job_id, False))
    flaky_target: dict[str, bool] = {}
    original = batch._new_job

    def remember(item: BatchItem, **kwargs: Any) -> Any:
        job = original(item, **kwargs)
        flaky_target[job.job_id] = item.payload["text"] == "2"
        return job

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "_new_job", remember)
        results = run(items(4), flaky, sqs, url)

    assert results[2].error is not None and results[2].error.code == "enqueue_failed"
    accepted = {result.job.job_id for result in results if result.job}
    assert len(accepted) == 3 and stored_ids(dynamodb) == accepted
    # The unwritten job's message was sent: the claim's grace consumes it unrun.
    assert len(set(messages(sqs, url)) - accepted) == 1
    assert flaky.attempts[next(iter(set(flaky_target) - accepted))] == batch.WRITE_ATTEMPTS


def test_past_its_deadline_a_batch_starts_nothing_and_asks_for_a_retry(aws):
    dynamodb, sqs, url = aws
    store = DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb, clock=lambda: T0)

    results = submit_batch(
        items(3) + items(2, keyed=True),
        store=store,
        queue=SqsJobQueue(url, client=sqs),
        now=T0,
        retention_days=30,
        owner="a",
        deadline=time.monotonic() - 1,
    )

    assert {result.error.code for result in results if result.error} == {"enqueue_failed"}
    assert all(result.job is None for result in results)
    assert messages(sqs, url) == [] and stored_ids(dynamodb) == set()


def test_a_deadline_reached_while_writing_leaves_orphans_only_never_a_job_without_its_message(
    aws, monkeypatch
):
    dynamodb, sqs, url = aws
    store = DynamoJobStore(TABLE, shards=4, retention_days=30, client=dynamodb, clock=lambda: T0)
    # The clock jumps past the deadline once the messages are sent.
    now = [0.0]
    monkeypatch.setattr(batch.time, "monotonic", lambda: now[0])
    queue = SqsJobQueue(url, client=sqs)
    send = queue.send_jobs

    def send_then_late(job_ids: Any) -> set[str]:
        unsent = send(job_ids)
        now[0] = 100.0
        return unsent

    monkeypatch.setattr(queue, "send_jobs", send_then_late)

    results = submit_batch(
        items(4), store=store, queue=queue, now=T0, retention_days=30, owner="a", deadline=50.0
    )

    assert [result.error.code for result in results if result.error] == ["enqueue_failed"] * 4
    assert stored_ids(dynamodb) == set()
    assert len(messages(sqs, url)) == 4  # orphans: the claim's grace consumes them unrun
