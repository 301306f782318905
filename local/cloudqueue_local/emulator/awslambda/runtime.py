"""The template's Lambda functions, run as Lambda runs them.

Each function (``function.LocalFunction``) has a pool of execution environments
(``environment.ExecutionEnvironment``: one process each, AWS's runtime interface client
inside, a Runtime API of its own). ``LambdaRuntime`` finds a function by name or ARN,
invokes it with the stack's injected faults, and tells its observers.

Without Docker, moto answers Lambda ``Invoke`` with a canned payload; the stack routes it
here instead (``patches/moto_lambda.py``), and the state machine's tasks come straight here
(``patches/moto_stepfunctions.py``).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.function import LocalFunction
from cloudqueue_local.emulator.awslambda.invocation import FunctionNotFound, Invocation, ServiceFault
from cloudqueue_local.emulator.faults import Chaos
from cloudqueue_local.template import LocalTemplate

logger = logging.getLogger("cloudqueue.local")

# Environments per function when the template reserves no concurrency for it. Lambda would
# start more, on more machines; on a laptop a herd of cold starts only slows every request.
DEFAULT_ENVIRONMENTS = 4


class LambdaRuntime:
    """The template's functions, invocable by name or ARN, each in its own environments."""

    def __init__(
        self,
        template: LocalTemplate,
        settings: RuntimeSettings,
        *,
        environments_per_function: int = DEFAULT_ENVIRONMENTS,
        chaos: Chaos | None = None,
    ) -> None:
        self.template = template
        self.settings = settings
        self.chaos = chaos
        self.functions = {
            logical_id: LocalFunction(
                spec,
                settings,
                environments_per_function if spec.reserved_concurrency is None else spec.reserved_concurrency,
            )
            for logical_id, spec in template.functions.items()
        }
        # Fault injection for tests and demos: logical id → a callable run before the handler.
        self.faults: dict[str, Callable[[Any], None]] = {}
        # Called after every invocation that reached a function, in the invoking thread:
        # (logical id, payload, invocation). The dev console's job events read them.
        self.observers: list[Callable[[str, bytes, Invocation], None]] = []

    def use_endpoint(self, endpoint_url: str | None) -> None:
        """Where the environments started from now on send their AWS calls."""
        self.settings = replace(self.settings, endpoint_url=endpoint_url)
        for function in self.functions.values():
            function.settings = self.settings

    def function(self, name_or_arn: str) -> LocalFunction:
        """The function named ``name_or_arn`` (its name, logical id or ARN); FunctionNotFound if none."""
        spec = self.template.function_by_arn_or_name(name_or_arn)
        if spec is None:
            raise FunctionNotFound(name_or_arn)
        return self.functions[spec.logical_id]

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        """Run the function on ``event``; a handler past its timeout fails as on AWS."""
        return self._invoke(self.function(name_or_arn), json.dumps(event).encode())

    def invoke_bytes(self, name_or_arn: str, body: bytes | str | None) -> Invocation:
        """Run the function on a JSON payload, as the Invoke API takes it."""
        function = self.function(name_or_arn)
        payload = body.encode() if isinstance(body, str) else (body or b"{}")
        try:
            json.loads(payload)
        except ValueError:
            raise ServiceFault(
                "InvalidRequestContentException", 400, "Could not parse request body into json"
            ) from None
        return self._invoke(function, payload)

    def _invoke(self, function: LocalFunction, payload: bytes) -> Invocation:
        chaos = self.chaos.lambda_fault() if self.chaos is not None else None
        logical_id = function.spec.logical_id
        invocation = function.run(payload, str(uuid.uuid4()), fault=self.faults.get(logical_id), chaos=chaos)
        for observer in self.observers:
            try:
                observer(logical_id, payload, invocation)
            except Exception:  # an observer's bug must not fail the invocation
                logger.exception("%s: an invocation observer failed", logical_id)
        return invocation

    def prewarm(self, logical_ids: Iterable[str] | None = None) -> None:
        """One warm environment per function (or per one of ``logical_ids``), started one after
        the other in the background: like provisioned concurrency of one, so that a first job
        does not pay three cold starts in a row (on a busy laptop, longer than a short local lease)."""
        functions = [self.functions[name] for name in logical_ids or self.functions]

        def warm() -> None:
            for function in functions:
                try:
                    function.prewarm()
                except Exception:
                    logger.exception("%s: could not start an environment ahead", function.spec.logical_id)

        threading.Thread(target=warm, name="lambda-prewarm", daemon=True).start()

    def close(self) -> None:
        """Stop every environment (an invocation in flight ends with ``Runtime.ExitError``)."""
        for function in self.functions.values():
            function.close()
