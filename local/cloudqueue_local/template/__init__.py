"""Reading ``template.yaml`` for the local stack, as CloudFormation and SAM would.

The rooms: ``cfn_yaml`` (the YAML with CloudFormation's short-form tags), ``specs`` (what the
local stack builds), ``intrinsics`` (parameters, conditions, Ref/GetAtt/Sub...),
``resources`` (one reader per resource kind), ``timing`` (the timing order, checked) and
``load`` (the template as the local stack runs it). The names other rooms use are here.
"""

from __future__ import annotations

from cloudqueue_local.template.cfn_yaml import read_template
from cloudqueue_local.template.intrinsics import Resolver
from cloudqueue_local.template.load import (
    ACCOUNT_ID,
    LOCAL_PARAMETER_OVERRIDES,
    REGION,
    STACK_NAME,
    load_local_template,
    load_template,
    with_environment,
)
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

__all__ = [
    "ACCOUNT_ID",
    "LOCAL_PARAMETER_OVERRIDES",
    "REGION",
    "STACK_NAME",
    "DashboardSpec",
    "FunctionSpec",
    "JwtAuthorizerSpec",
    "LocalTemplate",
    "LogGroupSpec",
    "LoggingSpec",
    "PipeSpec",
    "QueueSpec",
    "QueueTriggerSpec",
    "Resolver",
    "RouteSpec",
    "ScheduleSpec",
    "SecretSpec",
    "StateMachineSpec",
    "StreamPipeSpec",
    "TableSpec",
    "TemplateError",
    "load_local_template",
    "load_template",
    "read_template",
    "with_environment",
]
