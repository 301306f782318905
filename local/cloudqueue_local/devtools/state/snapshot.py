"""The state file: its model, validated whole before anything is restored, and what the
saved data depends on (the template's tables and queues), hashed."""

from __future__ import annotations

import base64
import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudqueue_local.template import LocalTemplate

FORMAT = "cloudqueue-state"
VERSION = 1
STATE_FILE = "state.json"


class StateError(Exception):
    """A state directory that cannot be used, said in one line. Nothing was loaded."""


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
    """The installed cloudqueue's version, recorded in every snapshot."""
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
    """The hash a snapshot carries of ``template_resources``: another template's file is refused."""
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


_BYTES = "$base64"  # a binary message attribute's value (moto keeps bytes), in JSON


def encode_bytes(value: Any) -> Any:
    """``value`` with every ``bytes`` in it as ``{"$base64": ...}``, for JSON."""
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: encode_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encode_bytes(item) for item in value]
    return value


def decode_bytes(value: Any) -> Any:
    """``encode_bytes`` undone."""
    if isinstance(value, dict):
        if list(value) == [_BYTES]:
            return base64.b64decode(value[_BYTES])
        return {key: decode_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_bytes(item) for item in value]
    return value
