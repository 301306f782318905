"""The job workflow's definition, read from Step Functions (for drawing it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudqueue.adapters import aws_client

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsWorkflow:
    """``cloudqueue.ports.Workflow`` on one state machine."""

    def __init__(self, state_machine_arn: str, *, client: SFNClient | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client: SFNClient = client or aws_client("stepfunctions")

    def definition(self) -> dict[str, Any]:
        described = self.client.describe_state_machine(stateMachineArn=self.state_machine_arn)
        definition: dict[str, Any] = json.loads(described["definition"])
        return definition
