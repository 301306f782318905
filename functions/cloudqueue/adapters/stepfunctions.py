"""The job workflow's definition and logging level, read from Step Functions (for drawing it,
and for knowing whether a job's history is recorded)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudqueue.adapters import aws_client
from cloudqueue.ports import WorkflowDescription

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsWorkflow:
    """``cloudqueue.ports.Workflow`` on one state machine."""

    def __init__(self, state_machine_arn: str, *, client: SFNClient | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client: SFNClient = client or aws_client("stepfunctions")

    def describe(self) -> WorkflowDescription:
        described = self.client.describe_state_machine(stateMachineArn=self.state_machine_arn)
        definition: dict[str, Any] = json.loads(described["definition"])
        # A state machine created without logging has no loggingConfiguration: nothing is kept.
        level = (described.get("loggingConfiguration") or {}).get("level") or "OFF"
        return WorkflowDescription(definition=definition, history_level=level)
