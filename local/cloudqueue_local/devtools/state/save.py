"""Saving: moto's backends read into a snapshot document, and the document written atomically.

The table and the queues are read in one consistent cut, under the lock every DynamoDB write
takes, and the source queues before their dead-letter queues, so that a message moved to a
dead-letter queue during the read is read at least once.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from cloudqueue_local.devtools.state.snapshot import (
    FORMAT,
    VERSION,
    encode_bytes,
    package_version,
    template_hash,
)
from cloudqueue_local.template import LocalTemplate


def source_queues(template: LocalTemplate, account: str, region: str) -> list[Any]:
    """The template's queues in moto, each source before its dead-letter queue."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[account][region]
    ordered = sorted(template.queues.values(), key=lambda queue: queue.dead_letter_arn is None)
    return [backend.get_queue(queue.name) for queue in ordered]


def log_groups(account: str, region: str) -> list[tuple[str, Any]]:
    """Every log group on the local endpoint, by name."""
    from moto.logs.models import logs_backends

    return list(logs_backends[account][region].groups.items())


def fingerprint(template: LocalTemplate, account: str, region: str, dynamodb_writes: int) -> Any:
    """A value that changes when the state does: a DynamoDB write, a message sent, received
    or deleted, a log event."""
    queues = tuple(
        (
            len(messages := list(queue._messages)),
            len(queue.deleted_messages),
            sum(message.approximate_receive_count for message in messages),
        )
        for queue in source_queues(template, account, region)
    )
    groups = tuple(
        (name, sum(len(stream.events) for stream in list(group.streams.values())))
        for name, group in log_groups(account, region)
    )
    return (dynamodb_writes, queues, groups)


def capture(
    template: LocalTemplate,
    resources: dict[str, Any],
    account: str,
    region: str,
    dynamodb_lock: contextlib.AbstractContextManager[Any],
) -> dict[str, Any]:
    """The state file's document for what moto holds now."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.utilities import dynamo_json_dump

    dynamodb = dynamodb_backends[account][region]
    with dynamodb_lock:  # no job changes state while the table and the queues are read
        saved_at = time.time()
        items = {
            spec.name: dynamo_json_dump(
                [item.to_json()["Attributes"] for item in dynamodb.get_table(spec.name).all_items()]
            )
            for spec in template.tables.values()
        }
        queues = {
            queue.name: [_save_message(message) for message in list(queue._messages)]
            for queue in source_queues(template, account, region)
        }
    groups = {name: _save_group(group) for name, group in log_groups(account, region)}
    return {
        "format": FORMAT,
        "version": VERSION,
        "cloudqueue": package_version(),
        "template": template_hash(resources),
        "resources": resources,
        "savedAt": saved_at,
        "tables": {name: json.loads(text) for name, text in items.items()},
        "queues": queues,
        "logGroups": groups,
    }


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` through a temporary file and ``os.replace``: a crash
    leaves the last whole snapshot, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _save_message(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "body": message.body,
        "messageAttributes": encode_bytes(message.message_attributes),
        "systemAttributes": encode_bytes(message.system_attributes),
        "senderId": message.sender_id,
        "sentTimestamp": message.sent_timestamp,
        "receiveCount": message.approximate_receive_count,
        "firstReceiveTimestamp": message.approximate_first_receive_timestamp,
        "visibleAt": message.visible_at,
        "delayedUntil": message.delayed_until,
        "deduplicationId": message.deduplication_id,
        "groupId": message.group_id,
        "sequenceNumber": message.sequence_number,
    }


def _datetime_to_millis(moment: datetime | None) -> int:
    from moto.core.utils import unix_time_millis

    return int(unix_time_millis(moment)) if moment is not None else 0


def _save_group(group: Any) -> dict[str, Any]:
    return {
        "creationTime": _datetime_to_millis(group.creation_time),
        "retentionInDays": group.retention_in_days,
        "streams": {
            name: {
                "creationTime": _datetime_to_millis(stream.creation_time),
                "events": [
                    [event.timestamp, event.ingestion_time, event.message] for event in list(stream.events)
                ],
            }
            for name, stream in list(group.streams.items())
        },
    }
