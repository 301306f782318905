"""EventBridge Pipes: a DynamoDB stream source, an enrichment function, and an event bus or an
SQS queue as the target.

``StreamPipe`` reads the table's stream from where it was when the Pipe started
(``StartingPosition: LATEST``), as a Pipe does: a batch of up to ``BatchSize`` records, then
the Pipe's filters (EventBridge patterns, matched by moto's own matcher, on the record as
Pipes sees it), then the enrichment function with the records that passed (a JSON array, as
Pipes invokes it), then one PutEvents entry per element the enrichment answered, with the
Pipe's ``Source`` and ``DetailType``, on the target bus; or, to a queue, one message per
element, its body the element's JSON (the record itself when there is no enrichment). A batch
whose enrichment or target fails is read again from the same place
(``MaximumRetryAttempts: -1``), so an event may be put twice, never skipped: at least once,
as on AWS. moto keeps one shard per table, so one thread reads it in order; AWS reads each
shard in order too, and a table's writes to one item are in one shard.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

import boto3
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, dynamodbstreams_backends
from moto.events.models import EventPattern

from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.polling import Loop
from cloudqueue_local.template import StreamPipeSpec

logger = logging.getLogger("cloudqueue.local")

_PUT_EVENTS_MAX = 10  # entries in one PutEvents call


class PipeTargetFailed(RuntimeError):
    """The enrichment or the bus refused a batch; it is read again."""


def stream_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stream record as Pipes hands it on: plain JSON, its creation time in epoch seconds."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return int(value.timestamp())
        raise TypeError(f"not JSON: {type(value).__name__}")

    loaded: dict[str, Any] = json.loads(json.dumps(record, default=plain))
    return loaded


class StreamPipe(Loop):
    """EventBridge Pipe: DynamoDB stream → (filter) → enrichment → event bus."""

    def __init__(
        self,
        spec: StreamPipeSpec,
        runtime: LambdaRuntime,
        *,
        account: str,
        region: str,
        idle_seconds: float = 0.1,
    ) -> None:
        super().__init__(f"pipe-{spec.logical_id}", 1)
        self.spec = spec
        self.runtime = runtime
        self.idle_seconds = idle_seconds
        self.patterns = [EventPattern.load(pattern) for pattern in spec.filters]
        # moto's streams backend itself: its mock answers no DynamoDB Streams request in-process.
        self.streams: DynamoDBStreamsBackend = dynamodbstreams_backends[account][region]
        self.dynamodb = boto3.client("dynamodb", region_name=region)
        self.events = boto3.client("events", region_name=region)
        self.sqs = boto3.client("sqs", region_name=region)
        self.iterator: str | None = None
        self.records_read = 0
        self.records_passed = 0
        self.events_put = 0

    def start(self) -> None:
        """Take the stream's position now (LATEST), then start reading from it."""
        stream_arn = self.dynamodb.describe_table(TableName=self.spec.table_name)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(stream_arn)["Shards"]
        self.iterator = self.streams.get_shard_iterator(
            stream_arn,
            shards[0]["ShardId"],
            "TRIM_HORIZON" if self.spec.starting_position == "TRIM_HORIZON" else "LATEST",
        ).arn
        super().start()

    def passes(self, record: dict[str, Any]) -> bool:
        """The Pipe's FilterCriteria: no filter passes all; else one pattern must match."""
        return not self.patterns or any(pattern.matches_event(cast(Any, record)) for pattern in self.patterns)

    def step(self) -> None:
        if not self.begin_work():
            return
        read = 0
        try:
            read = self.read_batch()
        finally:
            self.end_work()
        if not read:
            self._stopping.wait(self.idle_seconds)

    def read_batch(self) -> int:
        """Read, filter, enrich and put one batch; move on only once it is all on the bus."""
        assert self.iterator is not None
        answer = self.streams.get_records(self.iterator, self.spec.batch_size)
        records = [stream_record(record) for record in answer.get("Records", [])]
        passed = [record for record in records if self.passes(record)]
        if passed:
            self.put(self.enrich(passed))
        # Only now: a batch that failed above is read again from the same place.
        self.iterator = answer["NextShardIterator"]
        self.records_read += len(records)
        self.records_passed += len(passed)
        return len(records)

    def enrich(self, records: list[dict[str, Any]]) -> list[Any]:
        """The enrichment's answer: the list of events' details (the records themselves if none)."""
        if self.spec.enrichment is None:
            return records
        invocation = self.runtime.invoke(self.spec.enrichment, records)
        if invocation.function_error:
            raise PipeTargetFailed(f"enrichment {self.spec.enrichment} failed: {invocation.payload!r}")
        answer = invocation.json()
        if answer is None:
            return []
        return list(answer) if isinstance(answer, list) else [answer]

    def put(self, details: list[Any]) -> None:
        """One event per detail on the target bus, ten to a PutEvents call; or one message each."""
        if not self.spec.targets_bus:
            queue_url = self.sqs.get_queue_url(QueueName=self.spec.target_arn.rsplit(":", 1)[1])["QueueUrl"]
            for detail in details:
                self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(detail))
                self.events_put += 1
            return
        for start in range(0, len(details), _PUT_EVENTS_MAX):
            chunk = details[start : start + _PUT_EVENTS_MAX]
            answer = self.events.put_events(
                Entries=[
                    {
                        "Source": self.spec.source,
                        "DetailType": self.spec.detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self.spec.target_arn,
                    }
                    for detail in chunk
                ]
            )
            if answer.get("FailedEntryCount"):
                raise PipeTargetFailed(f"PutEvents refused {answer['FailedEntryCount']} of {len(chunk)}")
            self.events_put += len(chunk)
