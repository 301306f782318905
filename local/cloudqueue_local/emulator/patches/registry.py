"""Every internal of a third-party library that the local stack replaces, overrides or calls.

One entry per target, as data: where it is (module, owning class, attribute), what it is
(``kind``), what the patch was written for (its parameter names, and for the targets whose
logic a patch copies, a fingerprint of their source), how the stack uses it, and why.
The patches take their targets from here (``seams.Patcher``), so that the list cannot drift
from the code, and ``tests/local/test_moto_seams.py`` checks every entry against the
installed libraries, so that an upgrade that moves or re-signs one fails loudly, by name.

The libraries are pinned in ``pyproject.toml`` (moto, and the jsonpath-ng and ANTLR runtime
that moto's interpreter runs on and whose results the stack caches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What the target is in its owner's ``__dict__`` (a module-level function is a "function").
Kind = Literal["function", "method", "property", "staticmethod", "classmethod", "class", "value"]

# How the stack uses it: sets it (``replaces``: a new implementation; ``wraps``: the original
# runs inside), defines it in a subclass (``overrides``), or only uses it (``calls``).
Use = Literal["replaces", "wraps", "overrides", "calls"]

PATCHABLE: frozenset[Use] = frozenset({"replaces", "wraps"})


@dataclass(frozen=True)
class Seam:
    """One target in a library's internals."""

    name: str  # how the stack's code asks for it
    module: str
    owner: str | None  # the class's qualified name in ``module``; None: the module itself
    attribute: str
    kind: Kind
    use: Use
    why: str
    parameters: tuple[str, ...] | None = None  # the callable's parameter names, in order
    # The first 12 hex digits of the SHA-256 of the target's source, where a patch copies
    # its logic: any change to that logic upstream must be read again before upgrading.
    fingerprint: str | None = None

    @property
    def address(self) -> str:
        """``module:Owner.attribute``, as a reader would look it up."""
        owner = f"{self.owner}." if self.owner else ""
        return f"{self.module}:{owner}{self.attribute}"


_LAMBDA = "moto.awslambda_simple.models"
_WORKER = "moto.stepfunctions.parser.backend.execution_worker"
_LAMBDA_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_SFN_LOGS = "moto.stepfunctions.parser.asl.eval.event.logging"
_SQS = "moto.sqs.models"
_DYNAMODB = "moto.dynamodb.models"
_SERVER = "moto.moto_server.werkzeug_app"
_DYNAMODB_WRITE_PARAMETERS = {
    "put_item": (
        "self", "table_name", "item_attrs", "expected", "condition_expression",
        "expression_attribute_names", "expression_attribute_values", "overwrite",
        "return_values_on_condition_check_failure",
    ),
    "update_item": (
        "self", "table_name", "key", "update_expression", "expression_attribute_names",
        "expression_attribute_values", "attribute_updates", "expected", "condition_expression",
        "return_values_on_condition_check_failure",
    ),
    "delete_item": (
        "self", "table_name", "key", "expression_attribute_names", "expression_attribute_values",
        "condition_expression", "return_values_on_condition_check_failure",
    ),
    "transact_write_items": ("self", "transact_items"),
    "batch_write_item": ("self",),
}  # fmt: skip

_ENTRIES = [
    # --- Lambda (moto_lambda.py) -----------------------------------------------------------
    Seam("lambda.invoke", _LAMBDA, "LambdaSimpleBackend", "invoke", "method", "replaces",
         "Without Docker moto answers Invoke with a canned payload; the local runtime runs the function.",
         ("self", "function_name", "qualifier", "body", "headers", "response_headers")),
    # --- Step Functions: moto's ASL interpreter (moto_stepfunctions.py) ----------------------
    Seam("sfn.json_path.parse", "moto.stepfunctions.parser.asl.utils.json_path", None, "parse",
         "function", "replaces",
         "jsonpath-ng's parse, cached: pure, and its JSONPath objects keep no state between finds.",
         ("path", "debug")),
    Seam("sfn.asl_parser.parse", "moto.stepfunctions.parser.asl.parse.asl_parser",
         "AmazonStateLanguageParser", "parse", "staticmethod", "calls",
         "The ANTLR parse of a definition, cached per definition: the program keeps no execution state.",
         ("definition",)),
    Seam("sfn.worker.entrypoint", _WORKER, "ExecutionWorker", "_get_evaluation_entrypoint", "method",
         "replaces", "Returns the cached parse instead of parsing the definition on every execution.",
         ("self",)),
    Seam("sfn.worker.start", _WORKER, "ExecutionWorker", "start", "method", "wraps",
         "StartSyncExecution: inside run_sync the execution runs in the calling thread.", ("self",)),
    Seam("sfn.worker.execution_logic", _WORKER, "ExecutionWorker", "_execution_logic", "method", "calls",
         "What a worker's thread runs; a synchronous start runs it in the caller's thread.", ("self",)),
    Seam("sfn.execution.start_worker", "moto.stepfunctions.parser.backend.execution", "Execution",
         "_get_start_execution_worker", "method", "wraps",
         "Gives the execution the logging session that moto defines but never creates.", ("self",)),
    Seam("sfn.lambda.client", _LAMBDA_TASK, None, "boto_client_for", "function", "wraps",
         "One boto3 client per region and service instead of one per task.",
         ("region", "service", "state_credentials")),
    Seam("sfn.lambda.invoke", _LAMBDA_TASK, None, "_invoke_lambda_function", "function", "replaces",
         "Lambda tasks call the local runtime directly; the replacement answers in this function's shape.",
         ("parameters", "region", "state_credentials"), "0ebcddb746e4"),
    Seam("sfn.lambda.from_payload", _LAMBDA_TASK, None, "_from_payload", "function", "calls",
         "Parses a function's answer as the interpreter does, so that direct calls answer the same.",
         ("payload_streaming_body",)),
    Seam("sfn.logs.publish", _SFN_LOGS, "CloudWatchLoggingSession", "publish_history_log", "method",
         "overrides", "moto's wants a datetime where the interpreter hands it a string: history is lost.",
         ("self", "history_log"), "bea9765fbff2"),
    Seam("sfn.logs.session", _SFN_LOGS, "CloudWatchLoggingSession", "__init__", "method", "calls",
         "The override's base: built per execution with its log group's configuration.",
         ("self", "execution_arn", "configuration")),
    Seam("sfn.logs.configuration", _SFN_LOGS, "CloudWatchLoggingConfiguration",
         "from_logging_configuration", "staticmethod", "calls",
         "Reads the state machine's LoggingConfiguration, as moto would if it logged.",
         ("state_machine_arn", "logging_configuration")),
    # --- SQS (moto_sqs.py, direct_sqs.py) ---------------------------------------------------
    Seam("sqs.queue.messages", _SQS, "Queue", "messages", "property", "replaces",
         "A lazy view of the visible messages instead of a new list per receive (O(N) per call).",
         ("self",), "03a531dbcbcf"),
    Seam("sqs.queue.attributes", _SQS, "Queue", "attributes", "property", "replaces",
         "moto's attributes less the three counts, which cost O(N) on every send and receive.",
         ("self",), "40cb990b1216"),
    Seam("sqs.queue.delete_message", _SQS, "Queue", "delete_message", "method", "replaces",
         "One scan of the queue instead of two and a rebuild.", ("self", "receipt_handle"), "fa6fd5b9bd2c"),
    Seam("sqs.queue.base_attributes", _SQS, "Queue", "BASE_ATTRIBUTES", "value", "calls",
         "The attribute names the copy of Queue.attributes reports."),
    Seam("sqs.queue.fifo_attributes", _SQS, "Queue", "FIFO_ATTRIBUTES", "value", "calls",
         "The attribute names the copy of Queue.attributes reports for a FIFO queue."),
    Seam("sqs.queue.kms_attributes", _SQS, "Queue", "KMS_ATTRIBUTES", "value", "calls",
         "The attribute names the copy of Queue.attributes reports for an encrypted queue."),
    Seam("sqs.queue.add_message", _SQS, "Queue", "add_message", "method", "calls",
         "The state dir puts messages back with their receive counts (SQS has no API for it); "
         "it notifies the queue's _messages_lock, on which the pollers wait (sqs_arrivals.py).",
         ("self", "message"), "f27c9231c1f2"),
    Seam("sqs.queue.init", _SQS, "Queue", "__init__", "method", "calls",
         "Creates the queue's _messages_lock (a Condition), on which the pollers wait for a send "
         "(sqs_arrivals.py).", ("self", "name", "region", "account_id", "kwargs"), "0a4781ed5a21"),
    Seam("sqs.queue.pending_messages", _SQS, "Queue", "pending_messages", "property", "calls",
         "The in-flight messages a delete forgets and the state dir restores.", ("self",)),
    Seam("sqs.backend.get_queue_attributes", _SQS, "SQSBackend", "get_queue_attributes", "method",
         "wraps", "GetQueueAttributes alone computes the counts, with moto's own Queue.attributes.",
         ("self", "queue_name", "attribute_names")),
    Seam("sqs.backend.retention", _SQS, "SQSBackend", "is_message_valid_based_on_retention_period",
         "method", "replaces", "Reads the one attribute it needs instead of all (with their counts).",
         ("self", "queue_name", "message"), "cca23b94a5f3"),
    Seam("sqs.backend.get_queue", _SQS, "SQSBackend", "get_queue", "method", "calls",
         "The pollers' direct receive reads the queue's visibility timeout.", ("self", "queue_name")),
    Seam("sqs.backend.receive_message", _SQS, "SQSBackend", "receive_message", "method", "calls",
         "The pollers receive without botocore and moto's HTTP layer.",
         ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout",
          "message_attribute_names")),
    Seam("sqs.backend.delete_message_batch", _SQS, "SQSBackend", "delete_message_batch", "method",
         "calls", "The pollers delete without botocore and moto's HTTP layer.",
         ("self", "queue_name", "receipts")),
    Seam("sqs.backend.change_visibility_batch", _SQS, "SQSBackend", "change_message_visibility_batch",
         "method", "calls", "The Pipe hands a failed execution's message back without botocore.",
         ("self", "queue_name", "entries")),
    Seam("sqs.response.receive", "moto.sqs.responses", "SQSResponse", "receive_message", "method",
         "calls", "The pollers' direct receive answers in the shape this builds, attributes and all.",
         ("self",), "0027050ecd12"),
    Seam("sqs.backends", _SQS, None, "sqs_backends", "value", "calls",
         "The process-wide SQS backends the pollers and the state dir read."),
    # --- moto's core and DynamoDB (moto_core.py, moto_dynamodb.py) --------------------------
    Seam("core.method_names", "moto.core.responses", None, "method_names_from_class", "function",
         "wraps", "Listed with inspect.getmembers on every request; it depends only on the class.",
         ("clazz",)),
    Seam("dynamodb.update_expression", "moto.dynamodb.parsing.expressions", "UpdateExpressionParser",
         "make", "classmethod", "wraps",
         "Each UpdateExpression is parsed twice per UpdateItem; moto only reads the tree or copies it.",
         ("cls", "expression_str")),
    *(
        Seam(f"dynamodb.backend.{name}", _DYNAMODB, "DynamoDBBackend", name, "method", "wraps",
             "DynamoDB writes whole; moto's transactions copy the table while other threads write.",
             parameters)
        for name, parameters in _DYNAMODB_WRITE_PARAMETERS.items()
        if name != "transact_write_items"
    ),
    Seam("dynamodb.backend.transact_write_items", _DYNAMODB, "DynamoDBBackend", "transact_write_items",
         "method", "replaces",
         "Rolled back item by item (moto_transactions.py): moto's backup copies the whole table and "
         "puts the copy in its place, which the stream's readers never see again.",
         _DYNAMODB_WRITE_PARAMETERS["transact_write_items"], "81db2cb7d94e"),
    Seam("dynamodb.handler.call_action", "moto.dynamodb.responses", "DynamoHandler", "call_action",
         "method", "wraps", "A request reads whole: moto renders an item after the backend returns it.",
         ("self",)),
    Seam("dynamodb.table.all_items", "moto.dynamodb.models.table", "Table", "all_items", "method",
         "calls", "The state dir's snapshot of the table.", ("self",)),
    # --- moto's server (endpoint.py) ---------------------------------------------------------
    Seam("server.create_backend_app", _SERVER, None, "create_backend_app", "function", "calls",
         "The AWS endpoint builds moto's WSGI application as moto_server does.", ("service",)),
    Seam("server.dispatcher", _SERVER, None, "DomainDispatcherApplication", "class", "calls",
         "The AWS endpoint's WSGI application, as moto_server builds it."),
    Seam("server.request_handler", _SERVER, None, "MotoRequestHandler", "class", "calls",
         "Subclassed by the AWS endpoint for keep-alive and a quiet access log."),
]  # fmt: skip

# Every entry by name. Asking for a name that is not here is a KeyError: a patch cannot
# reach a target that the seam test does not check.
SEAMS: dict[str, Seam] = {seam.name: seam for seam in _ENTRIES}

# The DynamoDB backend's methods that change items (moto_dynamodb.py wraps each under one lock).
DYNAMODB_WRITES = tuple(f"dynamodb.backend.{name}" for name in _DYNAMODB_WRITE_PARAMETERS)

__all__ = ["DYNAMODB_WRITES", "PATCHABLE", "SEAMS", "Kind", "Seam", "Use"]
