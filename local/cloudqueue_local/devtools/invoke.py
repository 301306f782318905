"""``cloudqueue invoke``: one function of template.yaml run here, like ``sam local invoke``
without Docker: an execution environment of its own on the local Lambda runtime, its AWS calls
to the local stack's endpoint, or to AWS with a deployed function's configuration."""

from __future__ import annotations

import logging
import sys
from typing import Any

import boto3

from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.invocation import Invocation
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.project import project_root
from cloudqueue_local.template import FunctionSpec, load_local_template

# What AWS answers for a function configured without them.
_DEFAULT_TIMEOUT = 3
_DEFAULT_MEMORY = 128


class InvokeError(Exception):
    """The function cannot be run: said to the user in one line."""


def deployed_function(logical_id: str, stack_name: str) -> FunctionSpec:
    """The function ``logical_id`` as deployed in ``stack_name``: its name, handler and
    variables, from CloudFormation and Lambda with your credentials; its code from this checkout."""
    physical = boto3.client("cloudformation").describe_stack_resource(
        StackName=stack_name, LogicalResourceId=logical_id
    )["StackResourceDetail"]["PhysicalResourceId"]
    config = boto3.client("lambda").get_function_configuration(FunctionName=physical)
    return FunctionSpec(
        logical_id=logical_id,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config["Handler"],
        environment=(config.get("Environment") or {}).get("Variables", {}),
        timeout=int(config.get("Timeout", _DEFAULT_TIMEOUT)),
        memory=int(config.get("MemorySize", _DEFAULT_MEMORY)),
        code_uri="functions/",
        events={},
    )


def invoke_locally(
    logical_id: str, event: Any, *, endpoint_url: str | None, stack_name: str | None = None
) -> Invocation:
    """Run a function once in an execution environment of its own and return its answer.

    Its AWS calls go to ``endpoint_url``; with None, to AWS itself, with the configuration of
    the function deployed in ``stack_name`` and your credentials. As ``sam local invoke`` does,
    the function's logs go to stderr, so that its answer alone can go to stdout.
    """
    template = load_local_template(project_root() / "template.yaml")
    if logical_id not in template.functions:
        known = ", ".join(sorted(template.functions))
        raise InvokeError(f"no function {logical_id!r} in template.yaml; functions: {known}")
    if endpoint_url is None and stack_name is not None:
        template.functions[logical_id] = deployed_function(logical_id, stack_name)
    runtime = LambdaRuntime(template, RuntimeSettings(root=project_root(), endpoint_url=endpoint_url))
    logs = logging.getLogger("cloudqueue.local.functions")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logs.addHandler(handler)
    logs.setLevel(logging.INFO)
    logs.propagate = False
    try:
        return runtime.invoke(logical_id, event)
    finally:
        runtime.close()
        logs.removeHandler(handler)
