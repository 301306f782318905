"""What the local stack builds from the template: one frozen spec per resource it emulates,
gathered in a ``LocalTemplate``, and the error for what it cannot emulate."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TemplateError(ValueError):
    """The template asks for something the local stack cannot provide."""


@dataclass(frozen=True)
class LoggingSpec:
    """A function's LoggingConfig (Lambda's advanced logging controls), with Lambda's defaults."""

    log_format: str = "Text"  # Text or JSON
    system_log_level: str = "INFO"  # DEBUG, INFO or WARN: the platform's lines (JSON format only)
    application_log_level: str | None = None  # JSON format only; None: Lambda's default, INFO


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
    logging: LoggingSpec = LoggingSpec()


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
class DashboardSpec:
    logical_id: str
    name: str
    body: str  # the DashboardBody, its names resolved to the local stack's


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
class StreamPipeSpec:
    """A Pipe from a DynamoDB stream, through an optional enrichment, to an event bus."""

    logical_id: str
    source_arn: str  # the table's stream (locally: the table's ARN + /stream/local)
    target_arn: str  # an event bus (arn:aws:events:...:event-bus/<name>) or an SQS queue's ARN
    batch_size: int
    starting_position: str
    filters: tuple[str, ...]  # FilterCriteria patterns; a record passes when one matches
    enrichment: str | None  # the enrichment function's ARN
    source: str  # EventBridgeEventBusParameters.Source
    detail_type: str  # EventBridgeEventBusParameters.DetailType

    @property
    def table_name(self) -> str:
        """The table whose stream this is (arn:...:table/<name>/stream/<label>)."""
        return self.source_arn.split(":table/", 1)[1].split("/", 1)[0]

    @property
    def targets_bus(self) -> bool:
        return ":event-bus/" in self.target_arn

    @property
    def bus_name(self) -> str:
        return self.target_arn.rsplit("event-bus/", 1)[1] if self.targets_bus else ""


@dataclass(frozen=True)
class SecretSpec:
    """A Secrets Manager secret the template makes with a generated string."""

    logical_id: str
    name: str
    length: int
    exclude_punctuation: bool


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    """An HTTP API JWT authorizer: whose tokens (``iss``), for whom (``aud`` or ``client_id``)."""

    issuer: str
    audiences: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    function: str  # logical id
    authorization: str = "NONE"  # the route's AuthorizationType: NONE, JWT or AWS_IAM
    scopes: tuple[str, ...] = ()  # AuthorizationScopes (JWT): the token needs one of them
    jwt: JwtAuthorizerSpec | None = None  # the route's authorizer when authorization is JWT

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
    stream_pipes: dict[str, StreamPipeSpec] = field(default_factory=dict)
    secrets: dict[str, SecretSpec] = field(default_factory=dict)
    dashboards: dict[str, DashboardSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    queue_triggers: list[QueueTriggerSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    # EventBridge Scheduler schedule groups, logical id -> name (delayed jobs' schedules live there).
    schedule_groups: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    cors: dict[str, Any] = field(default_factory=dict)
    # The page's response headers (CloudFront's ResponseHeadersPolicy), name -> value.
    page_headers: dict[str, str] = field(default_factory=dict)
    # Every resource the stack creates (its Condition holds), logical id -> Type, including
    # those the local stack does not build (alarms, the page's bucket and distribution).
    resource_types: dict[str, str] = field(default_factory=dict)

    def function_by_arn_or_name(self, name: str) -> FunctionSpec | None:
        """The function a name, an ARN (qualified or not) or a logical id refers to."""
        for spec in self.functions.values():
            if name in (spec.name, spec.arn, spec.logical_id) or name.startswith(spec.arn + ":"):
                return spec
        return None

    def queue_by_arn(self, arn: str) -> QueueSpec:
        """The queue with ``arn``; TemplateError when the template makes none."""
        for spec in self.queues.values():
            if spec.arn == arn:
                return spec
        raise TemplateError(f"no queue with ARN {arn}")
