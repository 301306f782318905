"""Read ``template.yaml`` the way CloudFormation and SAM would, for the local stack.

Parameters (with local overrides), SAM ``Globals``, ``Conditions`` and the intrinsic functions
the template uses (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If) are resolved
to local physical names, so that one template describes both the deployed stack and
the local one. Anything the template declares that this reader cannot emulate is an
error, not a silent difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_NAME = "cloudqueue-local"

# Function settings that only make sense on AWS: no AWS console links to local executions.
LOCAL_ENVIRONMENT_OVERRIDES = {"CONSOLE_LINKS": "false"}

# Time-based settings shortened for a laptop, keeping the timing order (cloudqueue_local.template.timing):
# a 20 s job runs once; a dead worker's job is retaken after 4 minutes, not 5.
LOCAL_PARAMETER_OVERRIDES: dict[str, str] = {
    "Stage": "local",
    "StepTimeoutSeconds": "3",
    "ProcessTimeoutSeconds": "20",
    "WorkflowTimeoutSeconds": "240",
    "LeaseSeconds": "240",
    "VisibilityTimeoutSeconds": "300",
    "RequeueSchedule": "rate(10 seconds)",
}


class TemplateError(ValueError):
    """The template asks for something the local stack cannot provide."""


# --- YAML with CloudFormation's short-form tags -------------------------------------------


# libyaml's loader when PyYAML has it: the pure-Python one takes most of a template load.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    pass


def _tag_constructor(tag: str) -> Any:
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in (
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "Cidr",
    "ImportValue",
    "GetAZs",
    "Condition",
):
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def read_template(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        document = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document


# --- what the local stack builds ---------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    code_uri: str
    events: dict[str, dict[str, Any]]
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: its environments at most
    architecture: str = "x86_64"  # the first of Architectures, as Lambda bills it
    tracing: str | None = None  # Tracing: Active or PassThrough; None when the template says nothing


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int
    retention_seconds: int
    dead_letter_arn: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class LogGroupSpec:
    logical_id: str
    name: str
    arn: str
    retention_days: int | None = None  # RetentionInDays; None: kept forever


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    type: str
    definition: str
    log_level: str
    include_execution_data: bool
    log_group_arn: str | None
    tracing_enabled: bool = False  # Tracing.Enabled: X-Ray records each execution


@dataclass(frozen=True)
class PipeSpec:
    logical_id: str
    source_arn: str
    target_arn: str
    batch_size: int
    invocation_type: str


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    function: str  # logical id

    def pattern(self) -> re.Pattern[str]:
        """``/jobs/{jobId}`` → a regex with a named group per path parameter."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class QueueTriggerSpec:
    function: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class ScheduleSpec:
    function: str
    every_seconds: float


@dataclass
class LocalTemplate:
    path: Path
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    log_groups: dict[str, LogGroupSpec] = field(default_factory=dict)
    state_machines: dict[str, StateMachineSpec] = field(default_factory=dict)
    pipes: dict[str, PipeSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    queue_triggers: list[QueueTriggerSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    cors: dict[str, Any] = field(default_factory=dict)
    # Every resource the stack creates (its Condition holds), logical id -> Type, including
    # those the local stack does not build (alarms, the page's bucket and distribution).
    resource_types: dict[str, str] = field(default_factory=dict)

    def function_by_arn_or_name(self, name: str) -> FunctionSpec | None:
        for spec in self.functions.values():
            if name in (spec.name, spec.arn, spec.logical_id) or name.startswith(spec.arn + ":"):
                return spec
        return None

    def queue_by_arn(self, arn: str) -> QueueSpec:
        for spec in self.queues.values():
            if spec.arn == arn:
                return spec
        raise TemplateError(f"no queue with ARN {arn}")


# --- intrinsic functions ------------------------------------------------------------------


class Resolver:
    """Evaluates intrinsic functions against parameters and local physical ids."""

    def __init__(
        self, document: dict[str, Any], parameters: dict[str, str], region: str, account: str, stack_name: str
    ) -> None:
        self.document = document
        self.resources: dict[str, Any] = document["Resources"]
        self.region = region
        self.account = account
        self.stack_name = stack_name
        self.parameters = parameters
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = self._intrinsics.get(key)
            if intrinsic is not None:
                return intrinsic(self, argument)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"the local stack does not evaluate {key}")
        return {key: self.resolve(inner) for key, inner in value.items()}

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return self.get_att(logical_id, attribute)

    def _join(self, argument: Any) -> str:
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(separator)

    def _if(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(condition)) else when_false)

    def condition(self, name: str) -> bool:
        """A named entry of the template's ``Conditions``, evaluated."""
        conditions = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"no condition {name!r}")
        return self._truth(conditions[name])

    def _truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(str(argument))
        if function == "Fn::Equals":
            left, right = (str(self.resolve(side)) for side in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(inner) for inner in argument)
        if function == "Fn::Or":
            return any(self._truth(inner) for inner in argument)
        raise TemplateError(f"the local stack does not evaluate {function} in a condition")

    _intrinsics: ClassVar[dict[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": lambda self, argument: self.ref(str(argument)),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": lambda self, argument: self.sub(argument),
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::If": _if,
    }

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved_vars = {name: self.resolve(inner) for name, inner in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved_vars:
                return str(resolved_vars[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.physical(name)["Ref"]
        raise TemplateError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        attributes = self.physical(logical_id)
        if attribute not in attributes:
            raise TemplateError(f"the local stack has no {logical_id}.{attribute}")
        return attributes[attribute]

    def physical_name(self, logical_id: str, name_property: str | None) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        if name_property and name_property in properties:
            return str(self.resolve(properties[name_property]))
        return f"{self.stack_name}-{logical_id}"

    def physical(self, logical_id: str) -> dict[str, Any]:
        """What Ref and Fn::GetAtt give for a resource, locally."""
        kind = self.resources[logical_id]["Type"]
        describe = _PHYSICAL.get(kind)
        if describe is None:
            return {"Ref": f"{self.stack_name}-{logical_id}"}
        name_property, build = describe
        name = self.physical_name(logical_id, name_property)
        return build(name, self.region, self.account)


def _queue(name: str, region: str, account: str) -> dict[str, Any]:
    url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
    return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": f"arn:aws:sqs:{region}:{account}:{name}"}


def _state_machine(name: str, region: str, account: str) -> dict[str, Any]:
    arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
    return {"Ref": arn, "Arn": arn, "Name": name}


def _function(name: str, region: str, account: str) -> dict[str, Any]:
    return {"Ref": name, "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}


# Resource type → (the property that names it, how Ref and GetAtt read locally).
_PHYSICAL: dict[str, tuple[str | None, Any]] = {
    "AWS::DynamoDB::Table": (
        "TableName",
        lambda name, region, account: {
            "Ref": name,
            "Arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        },
    ),
    "AWS::SQS::Queue": ("QueueName", _queue),
    "AWS::Serverless::Function": ("FunctionName", _function),
    "AWS::Lambda::Function": ("FunctionName", _function),
    "AWS::Serverless::StateMachine": ("Name", _state_machine),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", _state_machine),
    "AWS::Logs::LogGroup": (
        "LogGroupName",
        lambda name, region, account: {
            "Ref": name,
            "Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
        },
    ),
    "AWS::IAM::Role": (
        "RoleName",
        lambda name, region, account: {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"},
    ),
    "AWS::Serverless::HttpApi": (None, lambda name, region, account: {"Ref": "local"}),
}


# --- reading the template -----------------------------------------------------------------


def _parameters(document: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, declaration in (document.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif "Default" in declaration:
            values[name] = str(declaration["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default and no local value")
        allowed = declaration.get("AllowedValues")
        if allowed and values[name] not in [str(option) for option in allowed]:
            raise TemplateError(f"parameter {name}={values[name]!r} is not one of {allowed}")
    unknown = set(overrides) - set(values)
    if unknown:
        raise TemplateError(f"no such template parameters: {', '.join(sorted(unknown))}")
    return values


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _schedule_seconds(expression: str) -> float:
    match = re.fullmatch(
        r"rate\((\d+) (second|seconds|minute|minutes|hour|hours|day|days)\)", expression.strip()
    )
    if not match:
        raise TemplateError(f"the local stack runs rate() schedules only, not {expression!r}")
    unit = match.group(2).rstrip("s")
    return int(match.group(1)) * {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit]


@dataclass
class _Reading:
    """What the per-resource readers share while reading one template."""

    template: LocalTemplate
    resolver: Resolver
    root: Path
    function_globals: dict[str, Any]


def _read_function(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    physical = reading.resolver.physical(logical_id)
    merged = reading.resolver.resolve(_merge(reading.function_globals, properties))
    variables = (merged.get("Environment") or {}).get("Variables") or {}
    reading.template.functions[logical_id] = FunctionSpec(
        logical_id=logical_id,
        name=physical["Ref"],
        arn=physical["Arn"],
        handler=merged["Handler"],
        environment={key: str(value) for key, value in variables.items()},
        timeout=int(merged.get("Timeout", 3)),
        memory=int(merged.get("MemorySize", 128)),
        code_uri=str(merged.get("CodeUri", ".")),
        events=merged.get("Events") or {},
        reserved_concurrency=_optional_int(merged.get("ReservedConcurrentExecutions")),
        architecture=str((merged.get("Architectures") or ["x86_64"])[0]),
        tracing=merged.get("Tracing"),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _read_table(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    name = reading.resolver.physical(logical_id)["Ref"]
    reading.template.tables[logical_id] = TableSpec(logical_id, name, reading.resolver.resolve(properties))


def _read_queue(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    physical = reading.resolver.physical(logical_id)
    resolved = reading.resolver.resolve(properties)
    redrive = resolved.get("RedrivePolicy") or {}
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    reading.template.queues[logical_id] = QueueSpec(
        logical_id=logical_id,
        name=physical["QueueName"],
        url=physical["Ref"],
        arn=physical["Arn"],
        visibility_timeout=int(resolved.get("VisibilityTimeout", 30)),
        retention_seconds=int(resolved.get("MessageRetentionPeriod", 345600)),
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
    )


def _read_log_group(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    physical = reading.resolver.physical(logical_id)
    retention = reading.resolver.resolve(properties).get("RetentionInDays")
    reading.template.log_groups[logical_id] = LogGroupSpec(
        logical_id, physical["Ref"], physical["Arn"], _optional_int(retention)
    )


def _read_state_machine(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    physical = reading.resolver.physical(logical_id)
    resolved = reading.resolver.resolve(properties)
    definition = (reading.root / resolved["DefinitionUri"]).read_text()
    for name, value in (resolved.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + name + "}", str(value))
    leftover = re.findall(r"\$\{(\w+)\}", definition)
    if leftover:
        raise TemplateError(f"{logical_id}: no DefinitionSubstitutions for {sorted(set(leftover))}")
    logging = resolved.get("Logging") or {}
    destinations = logging.get("Destinations") or [{}]
    reading.template.state_machines[logical_id] = StateMachineSpec(
        logical_id=logical_id,
        name=physical["Name"],
        arn=physical["Arn"],
        type=resolved.get("Type", "STANDARD"),
        definition=definition,
        log_level=logging.get("Level", "OFF"),
        include_execution_data=bool(logging.get("IncludeExecutionData", False)),
        log_group_arn=(destinations[0].get("CloudWatchLogsLogGroup") or {}).get("LogGroupArn"),
        tracing_enabled=(resolved.get("Tracing") or {}).get("Enabled") is True,
    )


def _read_http_api(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    reading.template.cors = reading.resolver.resolve(properties.get("CorsConfiguration") or {})


def _read_pipe(reading: _Reading, logical_id: str, properties: dict[str, Any]) -> None:
    resolved = reading.resolver.resolve(properties)
    source = (resolved.get("SourceParameters") or {}).get("SqsQueueParameters") or {}
    target = (resolved.get("TargetParameters") or {}).get("StepFunctionStateMachineParameters") or {}
    reading.template.pipes[logical_id] = PipeSpec(
        logical_id=logical_id,
        source_arn=resolved["Source"],
        target_arn=resolved["Target"],
        batch_size=int(source.get("BatchSize", 10)),
        invocation_type=target.get("InvocationType", "FIRE_AND_FORGET"),
    )


# Resource types the local stack builds; others (IAM roles, S3, CloudFront, alarms) have no
# local behaviour and are left out.
_READERS = {
    "AWS::Serverless::Function": _read_function,
    "AWS::DynamoDB::Table": _read_table,
    "AWS::SQS::Queue": _read_queue,
    "AWS::Logs::LogGroup": _read_log_group,
    "AWS::Serverless::StateMachine": _read_state_machine,
    "AWS::Serverless::HttpApi": _read_http_api,
    "AWS::Pipes::Pipe": _read_pipe,
}


def _read_events(template: LocalTemplate, logical_id: str, spec: FunctionSpec) -> None:
    """A function's SAM events: HTTP routes, SQS triggers and schedules."""
    for event_name, event in spec.events.items():
        properties = event.get("Properties") or {}
        if event["Type"] == "HttpApi":
            template.routes.append(RouteSpec(properties["Method"].upper(), properties["Path"], logical_id))
        elif event["Type"] == "SQS":
            template.queue_triggers.append(
                QueueTriggerSpec(
                    function=logical_id,
                    queue_arn=properties["Queue"],
                    batch_size=int(properties.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                )
            )
        elif event["Type"] == "Schedule":
            template.schedules.append(ScheduleSpec(logical_id, _schedule_seconds(properties["Schedule"])))
        else:
            raise TemplateError(f"{logical_id}.{event_name}: the local stack has no {event['Type']} events")


def load_template(
    path: Path,
    overrides: dict[str, str] | None = None,
    *,
    region: str = REGION,
    account: str = ACCOUNT_ID,
    stack_name: str = STACK_NAME,
    base_dir: Path | None = None,
) -> LocalTemplate:
    """The local view of ``path`` with ``overrides`` applied to its parameters."""
    document = read_template(path)
    parameters = _parameters(document, overrides or {})
    resolver = Resolver(document, parameters, region, account, stack_name)
    template = LocalTemplate(path=path, parameters=parameters)
    reading = _Reading(
        template=template,
        resolver=resolver,
        root=base_dir or path.parent,
        function_globals=(document.get("Globals") or {}).get("Function") or {},
    )
    for logical_id, resource in document["Resources"].items():
        reader = _READERS.get(resource["Type"])
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        template.resource_types[logical_id] = resource["Type"]
        if reader is not None:
            reader(reading, logical_id, resource.get("Properties") or {})
    for logical_id, spec in template.functions.items():
        _read_events(template, logical_id, spec)
    for name, output in (document.get("Outputs") or {}).items():
        try:
            template.outputs[name] = str(resolver.resolve(output["Value"]))
        except TemplateError:
            continue  # an output about a resource the local stack does not build
    return template


def with_environment(template: LocalTemplate, overrides: dict[str, str]) -> LocalTemplate:
    """The template with ``overrides`` applied to every function that sets those variables."""
    for logical_id, spec in template.functions.items():
        changed = {key: value for key, value in overrides.items() if key in spec.environment}
        if changed:
            template.functions[logical_id] = replace(spec, environment=spec.environment | changed)
    return template


def load_local_template(path: Path, parameter_overrides: dict[str, str] | None = None) -> LocalTemplate:
    """The template as the local stack runs it: its clock shortened, AWS-only settings off.

    Raises TemplateError (a ``TimingError``) for overrides that break the timing order.
    """
    from cloudqueue_local.template.timing import check_timing

    template = load_template(path, LOCAL_PARAMETER_OVERRIDES | (parameter_overrides or {}))
    check_timing(template)
    return with_environment(template, LOCAL_ENVIRONMENT_OVERRIDES)
