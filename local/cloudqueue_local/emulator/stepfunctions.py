"""moto's ASL interpreter (LocalStack's), adjusted to behave like Step Functions Express here.

What this module changes, each at one named seam in moto 5.2.5:

- **Execution history goes to CloudWatch Logs**, as AWS does for Express workflows with
  logging on: one JSON record per history event in the state machine's log group.
  moto has the logging session but never creates one, and its publisher expects an
  ``event_timestamp`` datetime where the interpreter hands it a string.
- **Synchronous executions** (what ``StartSyncExecution`` does and the Pipe relies on): moto
  has none over its API, so ``run_sync`` evaluates the execution in the calling thread.
- **Speed**: every execution used to re-parse the definition with ANTLR, every JSONPath
  (``$.claim.jobId``) was re-parsed with a freshly built parser on each evaluation, and every
  Lambda task built a new boto3 client and went through botocore and moto's Lambda API.
  Parsed definitions and paths are cached (neither keeps per-execution state: the
  interpreter keeps that in its ``Environment``), and Lambda tasks call the ``LambdaRuntime``
  directly, with the same payloads, function errors and service errors as through moto.
- **Memory**: Express executions are not kept by AWS; moto keeps all of them and scans the
  list on each start, so finished ones past ``keep_executions`` are dropped.
- **A quiet console**: the interpreter logs each failure of a state at ERROR with the state's
  whole parse tree, thousands of characters a line. The Pipe says in one line how each
  execution ended, and the execution history has the error, so while installed the
  interpreter's logger lets only CRITICAL through.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime

_sync = threading.local()
INTERPRETER_LOG = logging.getLogger("moto.stepfunctions.parser")


@contextmanager
def synchronous() -> Iterator[None]:
    """Executions started in this block run to their end in this thread."""
    _sync.active = True
    try:
        yield
    finally:
        _sync.active = False


def _epoch_millis(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class _Patch:
    def __init__(self, owner: Any, name: str, replacement: Any) -> None:
        self.owner, self.name, self.replacement = owner, name, replacement
        self.original = owner.__dict__[name]

    def apply(self) -> None:
        setattr(self.owner, self.name, self.replacement)

    def revert(self) -> None:
        setattr(self.owner, self.name, self.original)


class LocalStepFunctions:
    """Installs the changes above into moto, and runs executions the way a Pipe does."""

    def __init__(self, *, account: str, region: str, keep_executions: int = 2000) -> None:
        self.account = account
        self.region = region
        self.keep_executions = keep_executions
        self._patches: list[_Patch] = []
        self._prune_lock = threading.Lock()
        self._interpreter_log_level = logging.NOTSET

    # --- installing -----------------------------------------------------------------------

    def install(self, runtime: LambdaRuntime | None = None) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
        from moto.stepfunctions.parser.asl.eval.event.logging import (
            CloudWatchLoggingConfiguration,
            CloudWatchLoggingSession,
        )
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.utils import json_path
        from moto.stepfunctions.parser.backend.execution import Execution
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        class LogsSession(CloudWatchLoggingSession):  # type: ignore[misc]
            """Publishes each history event as AWS does: ``{id, type, details, ...}`` as JSON."""

            def publish_history_log(self, history_log: dict[str, Any]) -> None:
                from moto.logs.exceptions import ResourceAlreadyExistsException, ResourceNotFoundException
                from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

                millis = _epoch_millis(history_log["event_timestamp"])
                record = dict(history_log) | {"event_timestamp": str(millis)}
                events = [{"timestamp": millis, "message": to_json_str(record)}]
                group, stream = self.configuration.log_group_name, self.configuration.log_stream_name
                try:
                    self._logs_client.put_log_events(group, stream, events)
                except ResourceNotFoundException:
                    with suppress(ResourceAlreadyExistsException):
                        self._logs_client.create_log_stream(group, stream)
                    self._logs_client.put_log_events(group, stream, events)

        parse = functools.lru_cache(maxsize=32)(AmazonStateLanguageParser.parse)

        def cached_entrypoint(worker: Any) -> Any:
            return parse(worker._evaluation_details.state_machine_details.definition)[0]

        original_start = ExecutionWorker.__dict__["start"]

        def start(worker: Any) -> None:
            if getattr(_sync, "active", False):
                worker._execution_logic()
            else:
                original_start(worker)

        original_make_worker = Execution.__dict__["_get_start_execution_worker"]

        def make_worker(execution: Any) -> Any:
            config = getattr(execution.state_machine, "loggingConfiguration", None) or {}
            logs_config = CloudWatchLoggingConfiguration.from_logging_configuration(
                state_machine_arn=execution.state_machine.arn, logging_configuration=config
            )
            if logs_config is not None:
                execution._cloud_watch_logging_session = LogsSession(
                    execution_arn=execution.exec_arn, configuration=logs_config
                )
            return original_make_worker(execution)

        boto_client_for = lambda_eval_utils.__dict__["boto_client_for"]
        cached_client = functools.lru_cache(maxsize=16)(
            lambda region, service: boto_client_for(region=region, service=service)
        )

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            return cached_client(region, service)

        parse_path = functools.lru_cache(maxsize=1024)(json_path.__dict__["parse"])

        self._patches = [
            _Patch(json_path, "parse", parse_path),
            _Patch(ExecutionWorker, "_get_evaluation_entrypoint", cached_entrypoint),
            _Patch(ExecutionWorker, "start", start),
            _Patch(Execution, "_get_start_execution_worker", make_worker),
            _Patch(lambda_eval_utils, "boto_client_for", client_for),
        ]
        if runtime is not None:
            self._patches.append(
                _Patch(
                    lambda_eval_utils, "_invoke_lambda_function", _direct_invoke(runtime, lambda_eval_utils)
                )
            )
        for patch in self._patches:
            patch.apply()
        self._interpreter_log_level = INTERPRETER_LOG.level
        INTERPRETER_LOG.setLevel(logging.CRITICAL)

    def uninstall(self) -> None:
        for patch in reversed(self._patches):
            patch.revert()
        self._patches = []
        INTERPRETER_LOG.setLevel(self._interpreter_log_level)

    # --- running --------------------------------------------------------------------------

    def backend(self) -> Any:
        from moto.stepfunctions.responses import get_backend

        return get_backend(self.account, self.region)

    def run_sync(self, state_machine_arn: str, execution_input: str, name: str) -> Any:
        """Start an execution and return it finished (moto's ``Execution``)."""
        with synchronous():
            execution = self.backend().start_execution(
                state_machine_arn, name=name, execution_input=execution_input
            )
        self._prune(state_machine_arn)
        return execution

    def start(self, state_machine_arn: str, execution_input: str, name: str) -> Any:
        """Start an execution in the background, as ``StartExecution`` does."""
        return self.backend().start_execution(state_machine_arn, name=name, execution_input=execution_input)

    def find_execution(self, execution_arn: str) -> Any | None:
        for machine in self.backend().state_machines:
            for execution in machine.executions:
                if execution.execution_arn == execution_arn:
                    return execution
        return None

    def running(self) -> list[Any]:
        return [
            execution
            for machine in self.backend().state_machines
            for execution in machine.executions
            if execution.status == "RUNNING"
        ]

    def _prune(self, state_machine_arn: str) -> None:
        machine = self.backend().describe_state_machine(state_machine_arn)
        executions = machine.executions
        if len(executions) <= self.keep_executions * 1.25:
            return
        with self._prune_lock:
            finished = [execution for execution in executions if execution.status != "RUNNING"]
            drop = {id(execution) for execution in finished[: len(executions) - self.keep_executions]}
            machine.executions[:] = [execution for execution in executions if id(execution) not in drop]


def _direct_invoke(runtime: LambdaRuntime, lambda_eval_utils: Any) -> Any:
    """The interpreter's ``lambda:invoke`` task, answered by the runtime without botocore.

    Same contract as moto's ``_invoke_lambda_function``: the parsed payload, ``FunctionError``
    when the handler raised, and a botocore ``ClientError`` (→ ``Lambda.<Code>``) when the
    Lambda service itself fails. Unknown functions go the long way, to fail as moto does.
    """
    import io
    import uuid

    from botocore.exceptions import ClientError

    from cloudqueue_local.emulator.awslambda.runtime import FunctionNotFound, ServiceFault

    original = lambda_eval_utils.__dict__["_invoke_lambda_function"]

    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        try:
            result = runtime.invoke_bytes(parameters["FunctionName"], parameters.get("Payload"))
        except FunctionNotFound:
            return original(parameters=parameters, region=region, state_credentials=state_credentials)  # type: ignore[no-any-return]
        except ServiceFault as fault:
            raise ClientError(
                {
                    "Error": {"Code": fault.code, "Message": fault.message},
                    "ResponseMetadata": {"HTTPStatusCode": fault.status, "RequestId": str(uuid.uuid4())},
                },
                "Invoke",
            ) from None
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": lambda_eval_utils._from_payload(io.BytesIO(result.payload)),
        }
        if result.function_error:
            response["FunctionError"] = result.function_error
        return response

    return invoke
