"""moto's DynamoDB, with writes isolated as DynamoDB isolates them, and one parse per expression.

- **Isolation**: DynamoDB runs a transaction in isolation from other writes, but moto's
  ``transact_write_items`` deep-copies the table for its rollback while the server's other
  threads write to it ("dictionary changed size during iteration", a 500 for the caller).
  The writes of the DynamoDB backend are therefore serialized by one lock; they held the GIL
  throughout anyway. Reads take it too, for the whole request: moto turns an item into its
  answer after the backend has returned it, while another thread's update may be changing
  that same item (the same error, seen on a ``GetItem`` racing a claim). DynamoDB never
  returns half of a write, so each request reads or writes whole, as there.
- **Speed**: DynamoDB parses the same ``UpdateExpression`` twice per ``UpdateItem`` (in the
  response and in the backend), and the claim and finalize writes use a handful of
  expressions: the parsed tree is kept per expression. moto only reads it
  (``find_clauses``) or validates a deep copy of it (``Validator.__init__``), so sharing it
  is safe.
- **Transactions** roll back item by item (``moto_transactions.py``), so that a cancelled
  one leaves the table, and the stream its readers hold, in place.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from cloudqueue_local.emulator.patches.moto_transactions import transact_write_items
from cloudqueue_local.emulator.patches.registry import DYNAMODB_WRITES, SEAMS
from cloudqueue_local.emulator.patches.seams import Patcher, original, owner_of


class MotoDynamoDb:
    """Installs the changes above into moto's DynamoDB; ``uninstall`` puts moto's own back.

    ``lock`` is held by every DynamoDB request and write, and ``writes`` counts the writes:
    a state snapshot (``devtools/state.py``) reads the table under the lock, and skips when
    nothing was written.
    """

    def __init__(self) -> None:
        self._patcher = Patcher()
        self.lock = threading.RLock()
        self.writes = 0

    def install(self) -> None:
        """Cache parsed update expressions, and serialize the backend's writes and each request."""
        seam = SEAMS["dynamodb.update_expression"]
        make = original(seam.name).__get__(None, owner_of(seam))  # a classmethod, bound as moto calls it
        self._patcher.replace(seam.name, staticmethod(functools.lru_cache(maxsize=256)(make)))
        lock = self.lock

        def serialized(method: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(method)
            def write(*args: Any, **kwargs: Any) -> Any:
                with lock:
                    self.writes += 1
                    return method(*args, **kwargs)

            return write

        for name in DYNAMODB_WRITES:
            own = transact_write_items if name == "dynamodb.backend.transact_write_items" else original(name)
            self._patcher.replace(name, serialized(own))

        call_action = original("dynamodb.handler.call_action")

        @functools.wraps(call_action)
        def whole_request(handler: Any) -> Any:
            with lock:
                return call_action(handler)

        self._patcher.replace("dynamodb.handler.call_action", whole_request)

    def uninstall(self) -> None:
        """Put back moto's own DynamoDB."""
        self._patcher.revert()


__all__ = ["MotoDynamoDb"]
