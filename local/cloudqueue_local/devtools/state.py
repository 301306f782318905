"""State that survives a restart: ``cloudqueue dev --state-dir DIR``.

What is kept, in ``DIR/state.json``:

- every item of the template's tables, with all its attributes in DynamoDB's own JSON
  (``{"S": ...}``, ``{"N": "1.50"}``, ``{"B": base64}``, sets, maps, lists): exact types;
- every message of every queue the template makes (job queue, dead-letter queue, poison-message
  queue): id, body, message and system attributes, sender, ``SentTimestamp``,
  ``ApproximateReceiveCount``, ``ApproximateFirstReceiveTimestamp``, and when it becomes
  visible: a message in flight at the snapshot stays invisible until the end of the visibility
  timeout it was received with, as on SQS, then comes back (its execution did not survive);
- every log group on the local endpoint with its streams and events: the state machine's
  execution history (``GET /jobs/{id}/history`` reads it), the functions' ``/aws/lambda/...``
  groups, and any other.

Not kept: executions in flight (their message comes back and the job is claimed again once its
lease has expired, as after a crash on AWS), Step Functions' record of past executions (Express
keeps none on AWS; the history is in the logs), metrics, and the functions' environments.

The file starts with ``{"format": "cloudqueue-state", "version": 1, "cloudqueue": <version>,
"template": <hash>}``. The hash covers what the data depends on: the tables' names and key
schemas and the queues' names. A file of another format version or another template is
refused as a whole, with one message; so is a damaged one: everything is validated before
anything is restored, and a stack that could not restore does not start.

Snapshots are written every ``interval`` seconds when something changed (a DynamoDB write, a
message sent, received or deleted, a log event), atomically (a temporary file, then
``os.replace``), and once more at a clean stop, after the executions in flight have drained.
After ``kill -9`` the state is that of the last snapshot: at most ``interval`` seconds old,
more when a snapshot itself takes long (the next one waits four times as long as the last
took, so that snapshots never take more than a fifth of the stack's time).

A snapshot is one consistent cut of the table and the queues: it reads them while holding the
lock every DynamoDB write takes (``MotoDynamoDb.lock``), so no job changes state
meanwhile, and reads the source queues before their dead-letter queues, so a message moved to
a dead-letter queue during the read is read at least once. Since the API sends a job's
message before it writes the job, every job that is not finished in the snapshot has its
message in it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudqueue_local.template.reader import LocalTemplate

logger = logging.getLogger("cloudqueue.local")

FORMAT = "cloudqueue-state"
VERSION = 1
STATE_FILE = "state.json"
LOCK_FILE = "lock"
SNAPSHOT_INTERVAL_SECONDS = 2.0


class StateError(Exception):
    """A state directory that cannot be used, said in one line. Nothing was loaded."""


# --- the file -------------------------------------------------------------------------------


class _Saved(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SavedMessage(_Saved):
    id: str
    body: str
    messageAttributes: dict[str, Any] = Field(default_factory=dict)
    systemAttributes: dict[str, Any] = Field(default_factory=dict)
    senderId: str
    sentTimestamp: int
    receiveCount: int = Field(ge=0)
    firstReceiveTimestamp: int | None = None
    visibleAt: float = 0.0  # epoch milliseconds, as moto keeps it
    delayedUntil: float = 0.0
    deduplicationId: str | None = None
    groupId: str | None = None
    sequenceNumber: str | None = None


class SavedStream(_Saved):
    creationTime: int  # epoch milliseconds
    events: list[tuple[int, int, str]]  # (timestamp, ingestion time, message)


class SavedLogGroup(_Saved):
    creationTime: int
    retentionInDays: int | None = None
    streams: dict[str, SavedStream]


class Snapshot(_Saved):
    format: Literal["cloudqueue-state"]
    version: Literal[1]
    cloudqueue: str
    template: str
    resources: dict[str, Any]
    savedAt: float  # epoch seconds
    tables: dict[str, list[dict[str, Any]]]
    queues: dict[str, list[SavedMessage]]
    logGroups: dict[str, SavedLogGroup]


def package_version() -> str:
    try:
        return version("cloudqueue")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


def template_resources(template: LocalTemplate) -> dict[str, Any]:
    """What the saved data depends on: each table's key schema, and the queues' names."""
    tables: dict[str, list[list[str]]] = {}
    for spec in template.tables.values():
        types = {
            definition["AttributeName"]: definition["AttributeType"]
            for definition in spec.properties.get("AttributeDefinitions", [])
        }
        tables[spec.name] = [
            [key["AttributeName"], key["KeyType"], types.get(key["AttributeName"], "?")]
            for key in spec.properties.get("KeySchema", [])
        ]
    return {"tables": tables, "queues": sorted(queue.name for queue in template.queues.values())}


def template_hash(resources: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()[:16]


def _differences(saved: Any, current: dict[str, Any]) -> str:
    if not isinstance(saved, dict):
        return "resources not recorded"
    said: list[str] = []
    saved_tables, tables = saved.get("tables") or {}, current["tables"]
    for name in sorted(set(saved_tables) | set(tables)):
        if name not in tables:
            said.append(f"table {name} is not in the template")
        elif name not in saved_tables:
            said.append(f"table {name} is not in the file")
        elif saved_tables[name] != tables[name]:
            said.append(f"table {name} has key schema {saved_tables[name]}, the template {tables[name]}")
    saved_queues, queues = set(saved.get("queues") or []), set(current["queues"])
    if saved_queues - queues:
        said.append(f"queues {', '.join(sorted(saved_queues - queues))} are not in the template")
    if queues - saved_queues:
        said.append(f"queues {', '.join(sorted(queues - saved_queues))} are not in the file")
    return "; ".join(said) or "resources differ"


def read_snapshot(directory: Path, template: LocalTemplate) -> Snapshot | None:
    """The directory's snapshot, validated whole against ``template``; None when there is none yet."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StateError(f"{path} cannot be read: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateError(f"{path} is not a CloudQueue state file")
    if document.get("version") != VERSION:
        raise StateError(
            f"{path} is state format version {document.get('version')} (written by cloudqueue "
            f"{document.get('cloudqueue')}); this cloudqueue ({package_version()}) reads version "
            f"{VERSION}. Nothing was loaded: use another --state-dir, or remove the file to start empty."
        )
    resources = template_resources(template)
    if document.get("template") != template_hash(resources):
        raise StateError(
            f"{path} was saved for other resources than template.yaml's "
            f"({_differences(document.get('resources'), resources)}). Nothing was loaded: use "
            "another --state-dir, or the template and --param values it was saved with."
        )
    try:
        snapshot = Snapshot.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise StateError(f"{path} is damaged at {where}: {first['msg']}. Nothing was loaded.") from None
    _check_contents(snapshot, resources, path)
    return snapshot


def _check_contents(snapshot: Snapshot, resources: dict[str, Any], path: Path) -> None:
    for name, items in snapshot.tables.items():
        keys = resources["tables"].get(name)
        if keys is None:
            raise StateError(f"{path} holds table {name}, which the template does not make")
        for index, item in enumerate(items):
            for attribute, _, kind in keys:
                value = item.get(attribute)
                if not isinstance(value, dict) or list(value) != [kind]:
                    raise StateError(
                        f"{path} is damaged: item {index} of table {name} has no {attribute} of type {kind}"
                    )
    unknown = set(snapshot.queues) - set(resources["queues"])
    if unknown:
        raise StateError(f"{path} holds queue {sorted(unknown)[0]}, which the template does not make")


# --- what was loaded ------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """What ``load`` restored, for the console."""

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


def _datetime_to_millis(moment: datetime | None) -> int:
    from moto.core.utils import unix_time_millis

    return int(unix_time_millis(moment)) if moment is not None else 0


# --- the directory --------------------------------------------------------------------------


class StateDir:
    """A state directory for one running stack: ``check`` before starting, ``restore`` after
    provisioning and before anything polls, ``start`` the snapshots, ``close`` at the stop."""

    def __init__(
        self,
        directory: Path,
        template: LocalTemplate,
        *,
        account: str,
        region: str,
        dynamodb_lock: contextlib.AbstractContextManager[Any],
        dynamodb_writes: Callable[[], int],
        interval: float = SNAPSHOT_INTERVAL_SECONDS,
    ) -> None:
        self.directory = directory
        self.template = template
        self.account = account
        self.region = region
        self.dynamodb_lock = dynamodb_lock
        self.dynamodb_writes = dynamodb_writes
        self.interval = interval
        self.resources = template_resources(template)
        self.loaded: Loaded | None = None
        self.restored = False
        self._snapshot: Snapshot | None = None
        self._lock_file: IO[str] | None = None
        self._last: Any = None
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.directory / STATE_FILE

    def check(self) -> None:
        """Take the directory (one stack at a time) and validate its snapshot. Changes nothing else."""
        if self.directory.exists() and not self.directory.is_dir():
            raise StateError(f"{self.directory} is not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock_file = (self.directory / LOCK_FILE).open("a", encoding="utf-8")
        except OSError as error:
            raise StateError(f"{self.directory} cannot be used: {error.strerror or error}") from None
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            raise StateError(f"{self.directory} is in use by another cloudqueue dev") from None
        self._lock_file = lock_file
        self._snapshot = read_snapshot(self.directory, self.template)

    def restore(self) -> Loaded | None:
        """Put the checked snapshot into moto's backends (just provisioned, still unused)."""
        snapshot = self._snapshot
        if snapshot is not None:
            try:
                self.loaded = _restore(snapshot, self.account, self.region)
            except Exception as error:
                raise StateError(
                    f"{self.path} cannot be restored: {error!r}. The stack did not start."
                ) from None
        self._snapshot = None
        self.restored = True
        self._last = self._fingerprint()
        return self.loaded

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the snapshots; take a last one if the state was restored (call it before moto stops)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.restored:
            self.snapshot(force=True)
            self.restored = False
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    # --- snapshots --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.interval
        while not self._stopping.wait(delay):
            started = time.monotonic()
            try:
                self.snapshot()
            except Exception:
                logger.exception("state: the snapshot to %s failed; the next one will try again", self.path)
            delay = max(self.interval, 4 * (time.monotonic() - started))

    def snapshot(self, *, force: bool = False) -> bool:
        """Write the state if it changed since the last snapshot (or ``force``). True if written."""
        with self._write_lock:
            fingerprint = self._fingerprint()
            if not force and fingerprint == self._last:
                return False
            document = self._capture()
            self._write(document)
            self._last = fingerprint
            return True

    def _queues(self) -> list[Any]:
        """The template's queues, each source before its dead-letter queue."""
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account][self.region]
        ordered = sorted(self.template.queues.values(), key=lambda queue: queue.dead_letter_arn is None)
        return [backend.get_queue(queue.name) for queue in ordered]

    def _log_groups(self) -> list[tuple[str, Any]]:
        from moto.logs.models import logs_backends

        return list(logs_backends[self.account][self.region].groups.items())

    def _fingerprint(self) -> Any:
        queues = tuple(
            (
                len(messages := list(queue._messages)),
                len(queue.deleted_messages),
                sum(message.approximate_receive_count for message in messages),
            )
            for queue in self._queues()
        )
        groups = tuple(
            (name, sum(len(stream.events) for stream in list(group.streams.values())))
            for name, group in self._log_groups()
        )
        return (self.dynamodb_writes(), queues, groups)

    def _capture(self) -> dict[str, Any]:
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.utilities import dynamo_json_dump

        dynamodb = dynamodb_backends[self.account][self.region]
        with self.dynamodb_lock:  # no job changes state while the table and the queues are read
            saved_at = time.time()
            items = {
                spec.name: dynamo_json_dump(
                    [item.to_json()["Attributes"] for item in dynamodb.get_table(spec.name).all_items()]
                )
                for spec in self.template.tables.values()
            }
            queues = {
                queue.name: [_save_message(message) for message in list(queue._messages)]
                for queue in self._queues()
            }
        groups = {name: _save_group(group) for name, group in self._log_groups()}
        return {
            "format": FORMAT,
            "version": VERSION,
            "cloudqueue": package_version(),
            "template": template_hash(self.resources),
            "resources": self.resources,
            "savedAt": saved_at,
            "tables": {name: json.loads(text) for name, text in items.items()},
            "queues": queues,
            "logGroups": groups,
        }

    def _write(self, document: dict[str, Any]) -> None:
        temporary = self.directory / f".{STATE_FILE}.tmp"
        try:
            with temporary.open("w", encoding="utf-8") as file:
                json.dump(document, file, separators=(",", ":"))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)


def _save_message(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "body": message.body,
        "messageAttributes": _encode_bytes(message.message_attributes),
        "systemAttributes": _encode_bytes(message.system_attributes),
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


_BYTES = "$base64"  # a binary message attribute's value (moto keeps bytes), in JSON


def _encode_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: _encode_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode_bytes(item) for item in value]
    return value


def _decode_bytes(value: Any) -> Any:
    if isinstance(value, dict):
        if list(value) == [_BYTES]:
            return base64.b64decode(value[_BYTES])
        return {key: _decode_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_bytes(item) for item in value]
    return value


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


def _restore(snapshot: Snapshot, account: str, region: str) -> Loaded:
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
            message = Message(saved.id, saved.body, _decode_bytes(saved.systemAttributes))
            message.message_attributes = _decode_bytes(saved.messageAttributes)
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
