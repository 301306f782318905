"""The jobs table's items: index names, reserved keys, and the codec between Python values and
DynamoDB attribute values. Every role of the store (``table.py`` and its mixins) writes through
these.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cloudqueue.models import Job

LIST_INDEX = "Listing"
PENDING_INDEX = "PendingSends"
IDEMPOTENCY_PREFIX = "idem#"
SWEEP_CURSOR_KEY = "sweep#pending"
STRANDED_CURSOR_KEY = "sweeper#stranded"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values (floats travel as Decimal)."""
    plain = json.loads(json.dumps(values), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in plain.items() if value is not None}


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(inner) for key, inner in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(inner) for inner in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → Python values (whole Decimals as int, others as float)."""
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in item.items()}


def expression_values(**values: Any) -> dict[str, Any]:
    """``ExpressionAttributeValues``: each keyword, prefixed with a colon, is a placeholder."""
    return to_item({f":{name}": value for name, value in values.items()})


def condition_failed(error: ClientError) -> bool:
    """True when ``error`` is a conditional write refused by its condition."""
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def job_from(item: dict[str, Any] | None) -> Job | None:
    """The job an item holds; None for no item, or one that is not a job (a tombstone)."""
    if not item or "status" not in item:
        return None
    return Job.model_validate(from_item(item))
