"""One reader per resource kind the local stack builds (SAM functions and their events,
DynamoDB tables, SQS queues, log groups, SAM state machines, the HTTP API: SAM's or API
Gateway's own Api and Routes with their integration and JWT authorizer, CloudFront's response
headers policy for the page, EventBridge Pipes, CloudWatch dashboards), each adding its spec
to the ``LocalTemplate`` being read."""

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
    JwtAuthorizerSpec,
    LocalTemplate,
    LoggingSpec,
    LogGroupSpec,
    PipeSpec,
    QueueSpec,
    QueueTriggerSpec,
    RouteSpec,
    ScheduleSpec,
    SecretSpec,
    StateMachineSpec,
    StreamPipeSpec,
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
    unresolved = _merge(reading.function_globals, properties)
    _check_layers(reading, logical_id, unresolved.get("Layers") or [])
    merged = reading.resolver.resolve(unresolved)
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


def _check_layers(reading: Reading, logical_id: str, layers: list[Any]) -> None:
    """Refuse a layer the local stack cannot provide: any but a LayerVersion of the template.

    The template's layer holds the functions' third-party libraries, built for Lambda from the
    same requirements as the project's venv, from which the local environments import them (after
    the function's code, as Lambda puts /opt/python after /var/task). A layer from elsewhere (an
    ARN) has no local copy: refused here rather than missing at the first import."""
    resources = reading.resolver.resources
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) and len(layer) == 1 else None
        if name not in resources or resources[name]["Type"] != "AWS::Serverless::LayerVersion":
            raise TemplateError(
                f"{logical_id}: the local stack provides the template's own layers only "
                f"(from the project's venv), not {layer!r}"
            )


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


def _read_schedule_group(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    reading.template.schedule_groups[logical_id] = reading.resolver.physical(logical_id)["Ref"]


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


_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def _logical_id(reading: Reading, kinds: tuple[str, ...], attribute: str, value: Any) -> str:
    """The resource of one of ``kinds`` whose ``attribute`` (Ref, Arn...) is ``value``."""
    for logical_id, resource in reading.resolver.resources.items():
        if resource["Type"] in kinds and reading.resolver.physical(logical_id).get(attribute) == value:
            return logical_id
    raise TemplateError(f"no {' or '.join(kinds)} with {attribute} {value!r}")


def _route_function(reading: Reading, route: str, target: str) -> str:
    """The function behind a route's ``integrations/<id>`` target (a Lambda proxy, format 2.0)."""
    if not target.startswith("integrations/"):
        raise TemplateError(f"{route}: the local stack routes to integrations only, not {target!r}")
    integration_id = _logical_id(
        reading, ("AWS::ApiGatewayV2::Integration",), "Ref", target.removeprefix("integrations/")
    )
    integration = reading.resolver.resolve(reading.resolver.resources[integration_id]["Properties"])
    kind = (integration.get("IntegrationType"), str(integration.get("PayloadFormatVersion")))
    if kind != ("AWS_PROXY", "2.0"):
        raise TemplateError(f"{integration_id}: the local stack has Lambda proxies (format 2.0) only")
    return _logical_id(reading, _FUNCTION_TYPES, "Arn", integration["IntegrationUri"])


def _jwt_authorizer(reading: Reading, route: str, authorizer_ref: Any) -> JwtAuthorizerSpec:
    if authorizer_ref is None:
        raise TemplateError(f"{route}: AuthorizationType JWT without an AuthorizerId")
    logical_id = _logical_id(reading, ("AWS::ApiGatewayV2::Authorizer",), "Ref", authorizer_ref)
    properties = reading.resolver.resolve(reading.resolver.resources[logical_id]["Properties"])
    configuration = properties.get("JwtConfiguration") or {}
    if properties.get("AuthorizerType") != "JWT":
        raise TemplateError(f"{logical_id}: the local stack has JWT authorizers only")
    sources = properties.get("IdentitySource") or ["$request.header.Authorization"]
    return JwtAuthorizerSpec(
        issuer=str(configuration.get("Issuer") or ""),
        audiences=tuple(str(audience) for audience in configuration.get("Audience") or []),
        identity_source=str(sources[0]),
    )


def _read_http_route(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    """An ``AWS::ApiGatewayV2::Route``: its key, function and authorization, conditions evaluated."""
    resolved = reading.resolver.resolve(properties)
    method, _, path = str(resolved["RouteKey"]).partition(" ")
    if not path:
        raise TemplateError(f"{logical_id}: the local stack has no {resolved['RouteKey']!r} route")
    authorization = str(resolved.get("AuthorizationType") or "NONE")
    if authorization not in ("NONE", "JWT", "AWS_IAM"):
        raise TemplateError(f"{logical_id}: the local stack has no {authorization} authorization")
    reading.template.routes.append(
        RouteSpec(
            method=method.upper(),
            path=path,
            function=_route_function(reading, logical_id, str(resolved.get("Target") or "")),
            authorization=authorization,
            scopes=tuple(str(scope) for scope in resolved.get("AuthorizationScopes") or []),
            jwt=(
                _jwt_authorizer(reading, logical_id, resolved.get("AuthorizerId"))
                if authorization == "JWT"
                else None
            ),
        )
    )


def _hsts(setting: dict[str, Any]) -> str:
    value = f"max-age={int(setting['AccessControlMaxAgeSec'])}"
    value += "; includeSubDomains" if setting.get("IncludeSubdomains") else ""
    return value + ("; preload" if setting.get("Preload") else "")


def _read_response_headers_policy(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    """CloudFront's response headers policy, as the headers it adds to the page's files."""
    if reading.template.page_headers:
        raise TemplateError(f"{logical_id}: the local stack serves the page with one headers policy")
    config = properties.get("ResponseHeadersPolicyConfig") or {}
    security = reading.resolver.resolve(config.get("SecurityHeadersConfig") or {})
    headers: dict[str, str] = {}
    if "ContentSecurityPolicy" in security:
        headers["Content-Security-Policy"] = " ".join(
            str(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]).split()
        )
    if "StrictTransportSecurity" in security:
        headers["Strict-Transport-Security"] = _hsts(security["StrictTransportSecurity"])
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if "FrameOptions" in security:
        headers["X-Frame-Options"] = str(security["FrameOptions"]["FrameOption"])
    if "ReferrerPolicy" in security:
        headers["Referrer-Policy"] = str(security["ReferrerPolicy"]["ReferrerPolicy"])
    custom = reading.resolver.resolve(config.get("CustomHeadersConfig") or {})
    for item in custom.get("Items") or []:
        headers[str(item["Header"])] = str(item["Value"])
    reading.template.page_headers = headers


def _read_pipe(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    resolved = reading.resolver.resolve(properties)
    if "DynamoDBStreamParameters" in (resolved.get("SourceParameters") or {}):
        _read_stream_pipe(reading, logical_id, resolved)
        return
    source = (resolved.get("SourceParameters") or {}).get("SqsQueueParameters") or {}
    target = (resolved.get("TargetParameters") or {}).get("StepFunctionStateMachineParameters") or {}
    reading.template.pipes[logical_id] = PipeSpec(
        logical_id=logical_id,
        source_arn=resolved["Source"],
        target_arn=resolved["Target"],
        batch_size=int(source.get("BatchSize", 10)),
        invocation_type=target.get("InvocationType", "FIRE_AND_FORGET"),
    )


def _read_stream_pipe(reading: Reading, logical_id: str, resolved: dict[str, Any]) -> None:
    """A Pipe whose source is a DynamoDB stream; its target must be an event bus."""
    parameters = resolved["SourceParameters"]
    stream = parameters["DynamoDBStreamParameters"]
    bus = (resolved.get("TargetParameters") or {}).get("EventBridgeEventBusParameters") or {}
    target = str(resolved["Target"])
    if ":event-bus/" not in target and ":sqs:" not in target:
        raise TemplateError(
            f"{logical_id}: the local stack runs a stream's Pipe to an event bus or a queue only"
        )
    filters = ((parameters.get("FilterCriteria") or {}).get("Filters")) or []
    reading.template.stream_pipes[logical_id] = StreamPipeSpec(
        logical_id=logical_id,
        source_arn=str(resolved["Source"]),
        target_arn=str(resolved["Target"]),
        batch_size=int(stream.get("BatchSize", 100)),
        starting_position=str(stream.get("StartingPosition", "LATEST")),
        filters=tuple(str(item["Pattern"]) for item in filters),
        enrichment=resolved.get("Enrichment"),
        source=str(bus.get("Source", "")),
        detail_type=str(bus.get("DetailType", "")),
    )


def _read_secret(reading: Reading, logical_id: str, properties: dict[str, Any]) -> None:
    resolved = reading.resolver.resolve(properties)
    generate = resolved.get("GenerateSecretString") or {}
    reading.template.secrets[logical_id] = SecretSpec(
        logical_id=logical_id,
        name=reading.resolver.physical(logical_id)["Ref"],
        length=int(generate.get("PasswordLength", 32)),
        exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
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
    "AWS::Scheduler::ScheduleGroup": _read_schedule_group,
    "AWS::Serverless::StateMachine": _read_state_machine,
    "AWS::Serverless::HttpApi": _read_http_api,
    "AWS::ApiGatewayV2::Api": _read_http_api,
    "AWS::ApiGatewayV2::Route": _read_http_route,
    "AWS::CloudFront::ResponseHeadersPolicy": _read_response_headers_policy,
    "AWS::Pipes::Pipe": _read_pipe,
    "AWS::SecretsManager::Secret": _read_secret,
    "AWS::CloudWatch::Dashboard": _read_dashboard,
}


def read_events(template: LocalTemplate, logical_id: str, spec: FunctionSpec) -> None:
    """A function's SAM events: HTTP routes, SQS triggers and schedules."""
    for event_name, event in spec.events.items():
        properties = event.get("Properties") or {}
        if event["Type"] == "HttpApi":
            if properties.get("Auth"):  # SAM cannot switch it with a condition; see template.yaml
                raise TemplateError(f"{logical_id}.{event_name}: the local stack reads no Auth on SAM events")
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
