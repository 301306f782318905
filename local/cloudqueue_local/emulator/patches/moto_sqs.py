"""moto's SQS, made to cost the same per message whatever the backlog.

As moto ships it, a queue of N messages costs O(N) on every call, several times over:
``Queue.messages`` builds the list of every visible message on each receive (and each
wake-up of a long poll), ``Queue.attributes`` counts visible, in-flight and delayed
messages on every send and for every message received (the retention check asks for one
attribute through it), and ``delete_message`` scans the queue twice and rebuilds it.
Draining a backlog of N messages was therefore O(N²).

The changes keep moto's behaviour and its data, and change only what is computed:
``messages`` is a lazy view (iterated only as far as needed), the counts are computed only
when someone asks for the queue's attributes, the retention check reads the one attribute
it needs, and a delete scans once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from cloudqueue_local.emulator.patches.seams import Patcher, original

_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)
_full_attributes = threading.local()


class VisibleMessages:
    """What ``Queue.messages`` returned as a list, evaluated lazily."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Any]:
        for message in self._queue._messages:
            if message.visible and not message.delayed:
                yield message

    def __bool__(self) -> bool:
        return any(True for _ in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class SqsSpeedups:
    """Installs the changes above into moto's SQS; ``uninstall`` puts moto's own back."""

    def __init__(self) -> None:
        self._patcher = Patcher()

    def install(self) -> None:
        """Replace the O(N) parts of moto's SQS (registry: ``sqs.*``)."""
        from moto.core.utils import camelcase_to_underscores
        from moto.sqs.models import Queue

        original_attributes = original("sqs.queue.attributes").fget
        original_get_queue_attributes = original("sqs.backend.get_queue_attributes")

        def attributes(queue: Any) -> dict[str, Any]:
            if getattr(_full_attributes, "on", False):
                return original_attributes(queue)  # type: ignore[no-any-return]
            # moto's Queue.attributes, less the three counts only GetQueueAttributes reports.
            result: dict[str, Any] = {
                name: getattr(queue, camelcase_to_underscores(name))
                for name in Queue.BASE_ATTRIBUTES
                if name not in _COUNTS
            }
            if queue.fifo_queue:
                result |= {
                    name: getattr(queue, camelcase_to_underscores(name)) for name in Queue.FIFO_ATTRIBUTES
                }
            if queue.kms_master_key_id:
                result |= {
                    name: getattr(queue, camelcase_to_underscores(name)) for name in Queue.KMS_ATTRIBUTES
                }
            if queue.policy:
                result["Policy"] = queue.policy
            if queue.redrive_policy:
                result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
            return {
                key: str(value).lower() if isinstance(value, bool) else value for key, value in result.items()
            }

        def get_queue_attributes(backend: Any, queue_name: str, attribute_names: list[str]) -> Any:
            _full_attributes.on = True
            try:
                return original_get_queue_attributes(backend, queue_name, attribute_names)
            finally:
                _full_attributes.on = False

        def is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
            from moto.core.utils import unix_time

            retention = int(backend.get_queue(queue_name).message_retention_period)
            return bool(retention + message.sent_timestamp / 1000 > unix_time())

        def delete_message(queue: Any, receipt_handle: str) -> None:
            from moto.sqs.exceptions import ReceiptHandleIsInvalid

            if receipt_handle in queue.deleted_messages:
                return  # already deleted: as moto, no error
            messages = queue._messages
            for index, message in enumerate(messages):
                if message.had_receipt_handle(receipt_handle):
                    queue.pending_messages.discard(message)
                    queue.deleted_messages.update(message.all_receipt_handles)
                    # A new list, not an in-place removal: a receive iterating the old one is unaffected.
                    queue._messages = messages[:index] + messages[index + 1 :]
                    return
            raise ReceiptHandleIsInvalid()

        patch = self._patcher.replace
        patch("sqs.queue.messages", property(VisibleMessages))
        patch("sqs.queue.attributes", property(attributes))
        patch("sqs.queue.delete_message", delete_message)
        patch("sqs.backend.get_queue_attributes", get_queue_attributes)
        patch("sqs.backend.retention", is_message_valid_based_on_retention_period)

    def uninstall(self) -> None:
        """Put back moto's own SQS."""
        self._patcher.revert()


__all__ = ["SqsSpeedups", "VisibleMessages"]
