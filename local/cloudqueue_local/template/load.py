"""Load ``template.yaml`` the way CloudFormation and SAM would, for the local stack.

Parameters (with local overrides), SAM ``Globals``, ``Conditions`` and the intrinsic functions
the template uses are resolved to local physical names, so that one template describes both
the deployed stack and the local one. Anything the template declares that the local stack
cannot emulate is an error, not a silent difference.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cloudqueue_local.template.cfn_yaml import read_template
from cloudqueue_local.template.intrinsics import Resolver, resolve_parameters
from cloudqueue_local.template.resources import READERS, Reading, read_events
from cloudqueue_local.template.specs import LocalTemplate, TemplateError
from cloudqueue_local.template.timing import check_timing

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
    # A developer's callbacks: http://127.0.0.1 (the rest of the SSRF list stays refused).
    "CallbackAllowLoopback": "true",
}


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
    parameters = resolve_parameters(document, overrides or {})
    resolver = Resolver(document, parameters, region, account, stack_name)
    template = LocalTemplate(path=path, parameters=parameters)
    reading = Reading(
        template=template,
        resolver=resolver,
        root=base_dir or path.parent,
        function_globals=(document.get("Globals") or {}).get("Function") or {},
    )
    for logical_id, resource in document["Resources"].items():
        reader = READERS.get(resource["Type"])
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        template.resource_types[logical_id] = resource["Type"]
        if reader is not None:
            reader(reading, logical_id, resource.get("Properties") or {})
    for logical_id, spec in template.functions.items():
        read_events(template, logical_id, spec)
    for name, output in (document.get("Outputs") or {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue  # as CloudFormation: an output of a resource not created is not shown
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
    template = load_template(path, LOCAL_PARAMETER_OVERRIDES | (parameter_overrides or {}))
    check_timing(template)
    return with_environment(template, LOCAL_ENVIRONMENT_OVERRIDES)
