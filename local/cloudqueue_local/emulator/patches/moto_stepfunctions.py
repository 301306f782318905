"""moto's ASL interpreter (LocalStack's), adjusted to behave like Step Functions Express here.

What this module changes, each at a seam listed in ``registry`` (``sfn.*``):

- **Execution history goes to CloudWatch Logs**, as AWS does for Express workflows with
  logging on: one JSON record per history event in the state machine's log group.
  moto has the logging session but never creates one, and its publisher expects an
  ``event_timestamp`` datetime where the interpreter hands it a string.
- **Synchronous executions** (what ``StartSyncExecution`` does and the Pipe relies on): moto
  has none over its API, so inside ``stepfunctions.synchronous()`` a worker runs the
  execution in the calling thread.
- **Speed**: every execution used to re-parse the definition with ANTLR, every JSONPath
  (``$.claim.jobId``) was re-parsed with a freshly built jsonpath-ng parser on each
  evaluation, and every Lambda task built a new boto3 client and went through botocore and
  moto's Lambda API. Parsed definitions and paths are cached (neither keeps per-execution
  state: the interpreter keeps that in its ``Environment``), and Lambda tasks call the
  ``LambdaRuntime`` directly, with the same payloads, function errors and service errors
  as through moto.
- **A quiet console**: the interpreter logs each failure of a state at ERROR with the state's
  whole parse tree, thousands of characters a line. The Pipe says in one line how each
  execution ended, and the execution history has the error, so while installed the
  interpreter's logger lets only CRITICAL through.
"""

from __future__ import annotations

import functools
import io
import logging
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from cloudqueue_local.emulator.awslambda.invocation import FunctionNotFound, ServiceFault
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.patches.registry import SEAMS
from cloudqueue_local.emulator.patches.seams import Patcher, original, owner_of
from cloudqueue_local.emulator.stepfunctions import is_synchronous

INTERPRETER_LOG = logging.getLogger("moto.stepfunctions.parser")


def _epoch_millis(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _publish_history_log(session: Any, history_log: dict[str, Any]) -> None:
    """Publishes one history event as AWS does: ``{id, type, details, ...}`` as JSON."""
    from moto.logs.exceptions import ResourceAlreadyExistsException, ResourceNotFoundException
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    millis = _epoch_millis(history_log["event_timestamp"])
    record = dict(history_log) | {"event_timestamp": str(millis)}
    events = [{"timestamp": millis, "message": to_json_str(record)}]
    group, stream = session.configuration.log_group_name, session.configuration.log_stream_name
    try:
        session._logs_client.put_log_events(group, stream, events)
    except ResourceNotFoundException:
        with suppress(ResourceAlreadyExistsException):
            session._logs_client.create_log_stream(group, stream)
        session._logs_client.put_log_events(group, stream, events)


def logs_session_class() -> type:
    """moto's logging session with the publisher above, under the name the registry gives it."""
    seam = SEAMS["sfn.logs.publish"]
    return type("LogsSession", (owner_of(seam),), {seam.attribute: _publish_history_log})


class MotoStepFunctions:
    """Installs the changes above into moto; ``uninstall`` puts moto's own back."""

    def __init__(self, runtime: LambdaRuntime | None = None) -> None:
        self.runtime = runtime
        self._patcher = Patcher()
        self._interpreter_log_level = logging.NOTSET

    def install(self) -> None:
        """Apply every change; Lambda tasks go straight to ``runtime`` when there is one."""
        patch = self._patcher.replace
        patch("sfn.json_path.parse", functools.lru_cache(maxsize=1024)(original("sfn.json_path.parse")))

        parse = functools.lru_cache(maxsize=32)(original("sfn.asl_parser.parse").__func__)

        def cached_entrypoint(worker: Any) -> Any:
            return parse(worker._evaluation_details.state_machine_details.definition)[0]

        patch("sfn.worker.entrypoint", cached_entrypoint)

        original_start = original("sfn.worker.start")

        def start(worker: Any) -> None:
            if is_synchronous():
                worker._execution_logic()
            else:
                original_start(worker)

        patch("sfn.worker.start", start)

        configuration = owner_of(SEAMS["sfn.logs.configuration"])
        session_class = logs_session_class()
        original_make_worker = original("sfn.execution.start_worker")

        def make_worker(execution: Any) -> Any:
            config = getattr(execution.state_machine, "loggingConfiguration", None) or {}
            logs_config = configuration.from_logging_configuration(
                state_machine_arn=execution.state_machine.arn, logging_configuration=config
            )
            if logs_config is not None:
                execution._cloud_watch_logging_session = session_class(
                    execution_arn=execution.exec_arn, configuration=logs_config
                )
            return original_make_worker(execution)

        patch("sfn.execution.start_worker", make_worker)

        boto_client_for = original("sfn.lambda.client")
        cached_client = functools.lru_cache(maxsize=16)(
            lambda region, service: boto_client_for(region=region, service=service)
        )

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            return cached_client(region, service)

        patch("sfn.lambda.client", client_for)
        if self.runtime is not None:
            patch("sfn.lambda.invoke", _direct_invoke(self.runtime))
        self._interpreter_log_level = INTERPRETER_LOG.level
        INTERPRETER_LOG.setLevel(logging.CRITICAL)

    def uninstall(self) -> None:
        """Put back moto's own interpreter and its logger's level."""
        self._patcher.revert()
        INTERPRETER_LOG.setLevel(self._interpreter_log_level)


def _direct_invoke(runtime: LambdaRuntime) -> Any:
    """The interpreter's ``lambda:invoke`` task, answered by the runtime without botocore.

    Same contract as moto's ``_invoke_lambda_function``: the parsed payload, ``FunctionError``
    when the handler raised, and a botocore ``ClientError`` (→ ``Lambda.<Code>``) when the
    Lambda service itself fails. Unknown functions go the long way, to fail as moto does.
    """
    from botocore.exceptions import ClientError

    moto_invoke = original("sfn.lambda.invoke")
    from_payload = original("sfn.lambda.from_payload")

    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        try:
            result = runtime.invoke_bytes(parameters["FunctionName"], parameters.get("Payload"))
        except FunctionNotFound:
            return moto_invoke(parameters=parameters, region=region, state_credentials=state_credentials)  # type: ignore[no-any-return]
        except ServiceFault as fault:
            raise ClientError(
                {
                    "Error": {"Code": fault.code, "Message": fault.message},
                    "ResponseMetadata": {
                        "HTTPStatusCode": fault.status,
                        "RequestId": str(uuid.uuid4()),
                        "HTTPHeaders": {},
                        "HostId": "",
                        "RetryAttempts": 0,
                    },
                },
                "Invoke",
            ) from None
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": from_payload(io.BytesIO(result.payload)),
        }
        if result.function_error:
            response["FunctionError"] = result.function_error
        return response

    return invoke


__all__ = ["INTERPRETER_LOG", "MotoStepFunctions", "logs_session_class"]
