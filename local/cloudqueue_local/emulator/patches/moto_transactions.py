"""moto's ``TransactWriteItems``, rolled back item by item instead of table by table.

moto backs a transaction up by deep-copying every table it touches, and on a cancel puts
the copies in the tables' places. That is wrong for the local stack in two ways:

- **The stream goes deaf.** The copy is a new ``Table`` with a new ``StreamShard``. A reader
  of the old shard (the events and webhook Pipes, ``stream_pipe.py``) never sees another
  record once one transaction is cancelled, and a cancelled claim (every slot of a
  concurrency key held) is routine. DynamoDB's stream is the table's, whatever happened to
  a transaction; so is this one.
- **It costs the table.** Each transaction copies every item, so a keyed claim or a
  batch's transactions slow down as the table grows.

This copy of moto's logic (``registry``: its fingerprint) does the same checks and writes
in the same order, but first keeps a copy of each item it will touch and the length of its
table's stream. A cancel puts those items back and cuts the stream records the cancelled
writes made: the table object, its shard, and every other item are left as they were. As
in DynamoDB, a cancelled transaction writes nothing and streams nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


class _ConditionFailed(ConditionalCheckFailed):
    """An operation's condition failed; ``old`` is the item, if it asked for it (ALL_OLD)."""

    def __init__(self, old: dict[str, Any] | None) -> None:
        super().__init__(item=old)
        self.old = old


@dataclass
class _Journal:
    """The items a transaction is about to write, as they were, and its tables' stream lengths."""

    before: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    stream_lengths: dict[str, tuple[Table, int]] = field(default_factory=dict)

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        if table.name not in self.stream_lengths:
            shard = table.stream_shard
            self.stream_lengths[table.name] = (table, len(shard.items) if shard is not None else 0)
        self.before.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))

    def roll_back(self) -> None:
        """Each remembered item as it was (or gone, if it was not there); no stream records."""
        for table, hash_key, range_key, item in reversed(self.before):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item  # type: ignore[assignment]
            elif item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        for table, length in self.stream_lengths.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items``, with ``_Journal`` as its backup."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    journal = _Journal()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for entry in transact_items:
        if len(entry) > 1:
            journal.roll_back()
            raise TransactWriteSingleOpException
        try:
            _write(backend, *next(iter(entry.items())), targets, journal)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            journal.roll_back()
            raise
        except ConditionalCheckFailed as failed:
            old = failed.old if isinstance(failed, _ConditionFailed) else None
            errors.append(("ConditionalCheckFailed", str(failed.message), old))  # type: ignore[arg-type]
        except Exception as error:
            errors.append((type(error).__name__, str(error), None))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        journal.roll_back()
        raise TransactionCanceledException(errors)


def _write(
    backend: DynamoDBBackend,
    op_type: str,
    op: dict[str, Any],
    targets: set[tuple[str, str]],
    journal: _Journal,
) -> None:
    """One operation of a transaction: its checks, then its write, remembered in ``journal``."""
    if op_type not in _OPERATIONS:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    condition_expression = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    table = backend.get_table(table_name)
    key = _key_of(table, op["Item"]) if op_type == "Put" else op["Key"]
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)

    current = backend.get_item(table_name, key)
    if condition_expression is not None:
        condition = get_filter_expression(condition_expression, names, values)
        if not condition.expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            raise _ConditionFailed(old)

    conditions: dict[str, Any] = {
        "condition_expression": condition_expression,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type != "ConditionCheck":
        journal.remember(table, *backend.get_keys_value(table, key))
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **conditions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **conditions)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **conditions)


def _key_of(table: Table, attributes: dict[str, Any]) -> dict[str, Any]:
    """A Put's item's key attributes."""
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


__all__ = ["transact_write_items"]
