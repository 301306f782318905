"""One reader per resource kind the local stack builds (SAM functions and their events,
DynamoDB tables, SQS queues, log groups, SAM state machines, the SAM HTTP API, EventBridge
Pipes, CloudWatch dashboards), each adding its spec to the ``LocalTemplate`` being read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudqueue_local.template.intrinsics import Resolver
from cloudqueue_local.template.specs import (
    DashboardSpec,
    FunctionSpec,
    LocalTemplate,
    LoggingSpec,
    LogGroupSpec,
    PipeSpec,
    QueueSpec,
    QueueTriggerSpec,
    RouteSpec,
    ScheduleSpec,
    StateMachineSpec,
    TableSpec,
    TemplateError,
)


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
class Reading:
    """What the per-resource readers share while reading one template."""

    template: LocalTemplate
    resolver: Resolver
    root: Path
    function_globals: dict[str, Any]


def _read_function(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
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
        logging=_logging(merged.get("LoggingConfig") or {}),
    )


def _logging(config: dict[str, Any]) -> LoggingSpec:
    log_format = str(config.get("LogFormat", "Text"))
    if log_format not in ("Text", "JSON"):
        raise TemplateError(f"LoggingConfig.LogFormat {log_format!r} is neither Text nor JSON")
    system = str(config.get("SystemLogLevel", "INFO"))
    if system not in ("DEBUG", "INFO", "WARN"):
        raise TemplateError(f"LoggingConfig.SystemLogLevel {system!r} is not DEBUG, INFO or WARN")
    application = config.get("ApplicationLogLevel")
    return LoggingSpec(log_format, system, None if application is None else str(application))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _read_table(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    name = reading.resolver.physical(logical_id)["Ref"]
    reading.template.tables[logical_id] = TableSpec(logical_id, name, reading.resolver.resolve(properties))


def _read_queue(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
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


def _read_log_group(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    physical = reading.resolver.physical(logical_id)
    retention = reading.resolver.resolve(properties).get("RetentionInDays")
    reading.template.log_groups[logical_id] = LogGroupSpec(
        logical_id, physical["Ref"], physical["Arn"], _optional_int(retention)
    )


def _read_state_machine(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
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


def _read_http_api(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    reading.template.cors = reading.resolver.resolve(properties.get("CorsConfiguration") or {})


def _read_pipe(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
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


def _read_dashboard(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    resolved = reading.resolver.resolve(properties)
    name = resolved.get("DashboardName") or reading.resolver.physical(logical_id)["Ref"]
    reading.template.dashboards[logical_id] = DashboardSpec(logical_id, name, resolved["DashboardBody"])


# Resource types the local stack builds; others (IAM roles, S3, CloudFront, alarms) have no
# local behaviour and are left out.
READERS: dict[str, Callable[[Reading, str, dict[str, Any]], None]] = {
    "AWS::Serverless::Function": _read_function,
    "AWS::DynamoDB::Table": _read_table,
    "AWS::SQS::Queue": _read_queue,
    "AWS::Logs::LogGroup": _read_log_group,
    "AWS::Serverless::StateMachine": _read_state_machine,
    "AWS::Serverless::HttpApi": _read_http_api,
    "AWS::Pipes::Pipe": _read_pipe,
    "AWS::CloudWatch::Dashboard": _read_dashboard,
}


def read_events(template: LocalTemplate, logical_id: str, spec: FunctionSpec) -> None:
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
