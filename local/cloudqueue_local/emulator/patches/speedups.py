"""moto (5.2.5) without two pieces of repeated work on every call of the functions.

- ``BaseResponse.call_action`` lists the methods of the response class with
  ``inspect.getmembers`` on every request to find the action: the list depends only on
  the class, so it is computed once per class.
- DynamoDB parses the same ``UpdateExpression`` twice per ``UpdateItem`` (in the response
  and in the backend), and the claim and finalize writes use a handful of expressions: the
  parsed tree is kept per expression. moto only reads it (``find_clauses``) or validates a
  deep copy of it (``Validator.__init__``), so sharing it is safe.

Measured while draining a backlog: about 5 % of the stack process's CPU per job.

And one fidelity fix: DynamoDB runs a transaction in isolation from other writes, but
moto's ``transact_write_items`` deep-copies the table for its rollback while the server's
other threads write to it ("dictionary changed size during iteration", a 500 for the
caller). The writes of the DynamoDB backend are therefore serialized by one lock; they
held the GIL throughout anyway. Reads take it too, for the whole request: moto turns an item
into its answer after the backend has returned it, while another thread's update may be
changing that same item (the same error, seen on a ``GetItem`` racing a claim). DynamoDB
never returns half of a write, so each request reads or writes whole, as there.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from cloudqueue_local.emulator.patches.sqs import SqsSpeedups


class MotoSpeedups(SqsSpeedups):
    """Installed and removed as ``SqsSpeedups`` (whose patching it shares).

    ``dynamodb_lock`` is held by every DynamoDB write and ``dynamodb_writes`` counts them:
    a state snapshot (devtools.state) reads the table under the lock, and skips when nothing was written.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dynamodb_lock = threading.RLock()
        self.dynamodb_writes = 0

    def install(self) -> None:
        from moto.core import responses
        from moto.dynamodb.parsing.expressions import UpdateExpressionParser

        self._replace(
            responses,
            "method_names_from_class",
            functools.cache(responses.__dict__["method_names_from_class"]),
        )
        parse = functools.lru_cache(maxsize=256)(UpdateExpressionParser.make)
        self._replace(UpdateExpressionParser, "make", staticmethod(parse))
        self._serialize_dynamodb_writes()

    def _serialize_dynamodb_writes(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        lock = self.dynamodb_lock

        def serialized(method: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(method)
            def write(*args: Any, **kwargs: Any) -> Any:
                with lock:
                    self.dynamodb_writes += 1
                    return method(*args, **kwargs)

            return write

        for name in DYNAMODB_WRITES:
            self._replace(DynamoDBBackend, name, serialized(DynamoDBBackend.__dict__[name]))

        from moto.dynamodb.responses import DynamoHandler

        call_action = DynamoHandler.__dict__["call_action"]

        @functools.wraps(call_action)
        def whole_request(handler: Any) -> Any:
            with lock:
                return call_action(handler)

        self._replace(DynamoHandler, "call_action", whole_request)


# The DynamoDB backend's methods that change items (tests/local/test_moto_seams.py checks them).
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
