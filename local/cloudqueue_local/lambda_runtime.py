"""Run the template's Lambda functions in this process, and make moto's Lambda call them.

Without Docker, moto answers Lambda ``Invoke`` from ``LambdaSimpleBackend.invoke`` with a
canned payload. ``LambdaRuntime.install`` replaces that method so that every Invoke that
reaches moto (from the state machine's tasks, from boto3, from the AWS CLI on the local
endpoint) runs the real handler here, with a Lambda context, the function's environment
and its timeout. ``tests/local/test_moto_seams.py`` fails loudly if moto moves this seam.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cloudqueue_local.template import FunctionSpec, LocalTemplate

Handler = Callable[[dict[str, Any], Any], Any]

# Per-function settings that are read when a handler module is imported.
_IMPORT_TIME_VARIABLES = ("POWERTOOLS_SERVICE_NAME",)


class LambdaContext:
    """What the Lambda runtime hands a handler as ``context``."""

    def __init__(self, spec: FunctionSpec, request_id: str | None = None) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """A finished invocation: its JSON payload and, when the handler failed, the error kind."""

    payload: bytes
    function_error: str | None = None
    duration_ms: float = 0.0

    def json(self) -> Any:
        return json.loads(self.payload)


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The payload Lambda's Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__)[-10:],
    }


def merged_environment(template: LocalTemplate) -> dict[str, str]:
    """One environment for all in-process functions: they share ``os.environ``.

    A variable that two functions set to different values cannot be honoured in one
    process, so it is refused, except the import-time ones applied per function.
    """
    merged: dict[str, str] = {}
    for spec in template.functions.values():
        for key, value in spec.environment.items():
            if key in _IMPORT_TIME_VARIABLES:
                continue
            if key in merged and merged[key] != value:
                raise ValueError(
                    f"{key} differs between functions ({merged[key]!r} vs {value!r} in {spec.logical_id}); "
                    "in-process functions share one environment"
                )
            merged[key] = value
    return merged


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class ExecutionEnvironment:
    """One Lambda execution environment: its own copy of the handler module, one request at a time.

    Lambda never runs two invocations in one environment, and handler modules rely on it
    (Powertools' resolver keeps the current request on a module-level object). So each
    environment loads the handler module afresh; the package modules it imports are shared,
    as the read-only code of a deployment package would be.
    """

    _load_lock = threading.Lock()

    def __init__(self, spec: FunctionSpec) -> None:
        module_name, _, attribute = spec.handler.rpartition(".")
        import_env = {key: spec.environment[key] for key in _IMPORT_TIME_VARIABLES if key in spec.environment}
        with ExecutionEnvironment._load_lock, environment(import_env):
            found = importlib.util.find_spec(module_name)
            if found is None or found.loader is None:
                raise ImportError(f"no module {module_name} for handler {spec.handler}")
            module = importlib.util.module_from_spec(found)
            found.loader.exec_module(module)
        self.module = module
        self.handler: Handler = getattr(module, attribute)


def _keeps_request_in_process_state(module: Any) -> bool:
    """True for handlers built on Powertools' event handler or its Metrics.

    Both keep the invocation in hand in state shared by the whole process: the resolvers put
    the current request on a class (``BaseRouter.current_event``), and every ``Metrics``
    shares one class-level metric set (so that several modules can add to it). Two
    invocations at once in one process would answer each other's requests or flush each
    other's metrics. On Lambda a process runs one invocation at a time, so here such a
    function gets a single execution environment.
    """
    try:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
        from aws_lambda_powertools.metrics import Metrics
    except ImportError:
        return False
    return any(isinstance(value, BaseRouter | Metrics) for value in vars(module).values())


class LocalFunction:
    """One function: a pool of execution environments, created on demand (cold starts).

    At most ``max_environments`` exist at once; past that an invocation waits for one to
    be free. (Lambda would start more, on more machines; this one has a few cores, and a
    herd of simultaneous cold starts only slows every request down.) The first cold start
    runs alone, to learn whether the handler can share the process (see above).
    """

    def __init__(self, spec: FunctionSpec, max_environments: int = 4) -> None:
        self.spec = spec
        self.max_environments = max_environments
        self._idle: list[ExecutionEnvironment] = []
        self._created = 0
        self._probing = False
        self._next_ticket = 0
        self._serving = 0
        self._available = threading.Condition()
        self.invocations = 0
        self.errors = 0

    @property
    def cold_starts(self) -> int:
        return self._created

    def _acquire(self) -> ExecutionEnvironment:
        with self._available:
            # First come, first served: invocations waiting for an environment take tickets.
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving or (
                not self._idle and (self._created >= self.max_environments or self._probing)
            ):
                self._available.wait()
            self._serving += 1
            self._available.notify_all()
            if self._idle:
                return self._idle.pop()
            self._created += 1
            first = self._created == 1
            self._probing = first
        try:
            environment = ExecutionEnvironment(self.spec)
        except BaseException:
            with self._available:
                self._created -= 1
                self._probing = False
                self._available.notify_all()
            raise
        if first:
            with self._available:
                if _keeps_request_in_process_state(environment.module):
                    self.max_environments = 1
                self._probing = False
                self._available.notify_all()
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._available:
            self._idle.append(environment)
            self._available.notify_all()

    def run(
        self,
        event: Any,
        request_id: str,
        fault: Callable[[Any], None] | None = None,
        started: threading.Event | None = None,
    ) -> Invocation:
        """Invoke once. ``started`` is set when the handler begins (after any wait for an environment)."""
        with self._available:
            self.invocations += 1
        environment: ExecutionEnvironment | None = None
        began = time.perf_counter()
        try:
            environment = self._acquire()
            began = time.perf_counter()
            if started is not None:
                started.set()
            if fault is not None:
                fault(event)  # an injected failure, raised as the handler would raise it
            result = environment.handler(event, LambdaContext(self.spec, request_id))
            payload = json.dumps(result).encode()
            error = None
        except ServiceFault:
            raise
        except Exception as failure:
            with self._available:
                self.errors += 1
            payload = json.dumps(error_payload(failure, request_id)).encode()
            error = "Unhandled"
        finally:
            if started is not None:
                started.set()
            if environment is not None:
                self._release(environment)
        return Invocation(payload, error, (time.perf_counter() - began) * 1000)


class FunctionNotFound(LookupError):
    pass


class ServiceFault(Exception):
    """Raised by an injected fault to make the Lambda *service* fail the Invoke call
    (throttling, service errors), as opposed to the function failing."""

    def __init__(
        self, code: str = "TooManyRequestsException", status: int = 429, message: str = "Rate exceeded"
    ):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


class LambdaRuntime:
    """The template's functions, invocable by name or ARN, with their timeouts enforced."""

    def __init__(
        self, template: LocalTemplate, *, max_concurrency: int = 64, environments_per_function: int = 4
    ) -> None:
        self.template = template
        self.functions = {
            logical_id: LocalFunction(spec, environments_per_function)
            for logical_id, spec in template.functions.items()
        }
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="lambda")
        self._original_invoke: Any = None
        # Fault injection for tests and demos: logical id → a callable run before the handler.
        self.faults: dict[str, Callable[[Any], None]] = {}

    def function(self, name_or_arn: str) -> LocalFunction:
        spec = self.template.function_by_arn_or_name(name_or_arn)
        if spec is None:
            raise FunctionNotFound(name_or_arn)
        return self.functions[spec.logical_id]

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        """Run the function on ``event``; a handler past its timeout fails as on AWS."""
        function = self.function(name_or_arn)
        request_id = str(uuid.uuid4())
        fault = self.faults.get(function.spec.logical_id)
        started = threading.Event()
        future = self._pool.submit(function.run, event, request_id, fault, started)
        started.wait()  # the timeout counts from the handler's start, as on Lambda
        try:
            return future.result(timeout=function.spec.timeout)
        except FutureTimeout:
            # The thread cannot be killed; like a frozen sandbox, its result is discarded.
            message = f"Task timed out after {function.spec.timeout:.2f} seconds"
            body = {"errorMessage": message, "errorType": "Sandbox.Timedout", "requestId": request_id}
            return Invocation(json.dumps(body).encode(), "Unhandled")

    def invoke_bytes(self, name_or_arn: str, body: bytes | str | None) -> Invocation:
        raw = body.decode() if isinstance(body, bytes) else (body or "{}")
        try:
            event = json.loads(raw or "{}")
        except ValueError:
            event = raw
        return self.invoke(name_or_arn, event)

    # --- the moto seam ---------------------------------------------------------------------

    def install(self) -> None:
        """Route moto's Lambda Invoke (no-Docker backend) to this runtime."""
        from moto.awslambda.exceptions import UnknownFunctionException
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.core.exceptions import JsonRESTError

        runtime = self
        self._original_invoke = LambdaSimpleBackend.__dict__["invoke"]

        def invoke(  # noqa: PLR0917 - moto's signature
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            try:
                result = runtime.invoke_bytes(function_name, body)
            except FunctionNotFound:
                raise UnknownFunctionException(function_name) from None
            except ServiceFault as fault:
                error = JsonRESTError(fault.code, fault.message)
                error.code = fault.status
                raise error from None
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            return result.payload

        invoke.replaces = self._original_invoke  # type: ignore[attr-defined]
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        if self._original_invoke is not None:
            LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]
            self._original_invoke = None

    def close(self) -> None:
        self.uninstall()
        self._pool.shutdown(wait=False, cancel_futures=True)
