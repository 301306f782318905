"""Loading: a validated snapshot put back into moto's backends, just provisioned and unused.

A message that was in flight at the snapshot stays invisible until the end of the visibility
timeout it was received with, as on SQS, then comes back (its execution did not survive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cloudqueue_local.devtools.state.snapshot import Snapshot, decode_bytes


@dataclass(frozen=True)
class Loaded:
    """What ``restore`` put back, for the console."""

    jobs: int  # items with a status (not tombstones, idempotency records or the sweeper's cursor)
    messages: int
    saved_at: datetime


def console_line(directory: Path, loaded: Loaded | None) -> str:
    """``cloudqueue dev``'s line about its state directory."""
    if loaded is None:
        return f"state: {directory} is new"
    when = loaded.saved_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"state: loaded {loaded.jobs} jobs, {loaded.messages} queued messages from {directory} "
        f"(snapshot of {when})"
    )


def _millis_to_datetime(millis: float) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC).replace(tzinfo=None)  # moto keeps naive UTC


def restore_snapshot(snapshot: Snapshot, account: str, region: str) -> Loaded:
    """Put ``snapshot``'s items, messages and log events into moto's backends."""
    from moto.core.utils import unix_time_millis
    from moto.dynamodb.models import dynamodb_backends
    from moto.logs.models import LogEvent, logs_backends
    from moto.sqs.models import Message, sqs_backends

    dynamodb = dynamodb_backends[account][region]
    jobs = 0
    for table_name, items in snapshot.tables.items():
        for item in items:
            dynamodb.put_item(table_name, item)
            jobs += "status" in item

    sqs = sqs_backends[account][region]
    now = unix_time_millis()
    messages = 0
    for queue_name, saved_messages in snapshot.queues.items():
        queue = sqs.get_queue(queue_name)
        for saved in saved_messages:
            message = Message(saved.id, saved.body, decode_bytes(saved.systemAttributes))
            message.message_attributes = decode_bytes(saved.messageAttributes)
            message.sender_id = saved.senderId
            message.sent_timestamp = saved.sentTimestamp  # type: ignore[assignment]
            message.approximate_receive_count = saved.receiveCount
            message.approximate_first_receive_timestamp = saved.firstReceiveTimestamp
            message.visible_at = saved.visibleAt
            message.delayed_until = saved.delayedUntil
            message.deduplication_id = saved.deduplicationId
            message.group_id = saved.groupId
            message.sequence_number = saved.sequenceNumber
            queue.add_message(message)
            if message.visible_at > now:  # in flight: invisible until its visibility timeout ends
                queue.pending_messages.add(message)
            messages += 1

    logs = logs_backends[account][region]
    for group_name, saved_group in snapshot.logGroups.items():
        group = logs.groups.get(group_name) or logs.create_log_group(group_name, {})
        group.creation_time = _millis_to_datetime(saved_group.creationTime)
        group.retention_in_days = saved_group.retentionInDays
        for stream_name, saved_stream in saved_group.streams.items():
            if stream_name not in group.streams:
                group.create_log_stream(stream_name)
            stream = group.streams[stream_name]
            stream.creation_time = _millis_to_datetime(saved_stream.creationTime)
            events = [
                LogEvent(ingestion, {"timestamp": timestamp, "message": text})
                for timestamp, ingestion, text in saved_stream.events
            ]
            stream.events[:0] = events
            stream.stored_bytes += sum(len(event.message) for event in events)
            if events and stream.last_ingestion_time is None:
                stream.last_ingestion_time = _millis_to_datetime(
                    max(event.ingestion_time for event in events)
                )
    return Loaded(jobs=jobs, messages=messages, saved_at=datetime.fromtimestamp(snapshot.savedAt, UTC))
