"""What an invocation answers: its payload, and the shapes of the ways it fails.

A *function* error comes back as a payload with ``FunctionError: Unhandled`` (the handler
raised: ``error_payload``; the platform ended it: ``error_body``). A *service* error
(``ServiceFault``) fails the Invoke call itself, as Lambda's throttling and service errors
do: the gateway, the pollers, moto's Invoke and the state machine's tasks turn it into the
API error (``Lambda.<code>`` in the state machine).
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Invocation:
    """A finished invocation: its JSON payload and, when the function failed, ``Unhandled``."""

    payload: bytes
    function_error: str | None = None
    duration_ms: float = 0.0
    init_duration_ms: float | None = None  # set on an environment's first invocation

    def json(self) -> Any:
        """The payload, parsed."""
        return json.loads(self.payload)


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The payload Lambda's Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__)[-10:],
    }


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    """The payload Lambda returns when the platform, not the handler, ends an invocation."""
    return json.dumps(
        {"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": error_type}
    ).encode()


class FunctionNotFound(LookupError):
    """No function of the template has this name or ARN."""


class ServiceFault(Exception):
    """The Lambda *service* fails the Invoke call (throttling, service errors), as opposed
    to the function failing. Raised by injected faults; moto's seam and the state machine
    turn it into the API error (``Lambda.<code>`` in the state machine)."""

    def __init__(
        self, code: str = "TooManyRequestsException", status: int = 429, message: str = "Rate exceeded"
    ):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


class InjectedTimeout(Exception):
    """Raised by a test's fault: this invocation times out as on Lambda (the handler runs, its
    answer never comes back, ``Sandbox.Timedout`` at the deadline, the environment replaced)."""


class InjectedCrash(Exception):
    """Raised by a test's fault: this invocation's environment is killed (SIGKILL) as its event
    is handed over, as a sandbox dies on Lambda (out of memory, a host failure): the
    invocation answers ``Runtime.ExitError`` at once and the next one gets a fresh environment."""


def exit_error(reason: str, request_id: str) -> bytes:
    """Lambda's payload for an environment that died mid-invocation (``reason``: how it ended)."""
    return error_body(EXIT_ERROR, f"Runtime exited with error: {reason}", request_id)


EXIT_ERROR = "Runtime.ExitError"


def stopped() -> ServiceFault:
    """The service error of an Invoke that reaches a stopped runtime."""
    return ServiceFault("ServiceException", 500, "the local Lambda runtime is stopped")


__all__ = [
    "EXIT_ERROR",
    "FunctionNotFound",
    "InjectedCrash",
    "InjectedTimeout",
    "Invocation",
    "ServiceFault",
    "error_body",
    "error_payload",
    "exit_error",
    "stopped",
]
