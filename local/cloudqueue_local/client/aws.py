"""Where the CLI's direct AWS calls go: the local stack's AWS endpoint, or a deployed stack's
resources found through CloudFormation with your credentials; and the dead-letter redrive.

Nothing here runs a function: that is ``devtools.invoke``, so that a command which only talks
to a stack never loads the local Lambda runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cloudqueue.callbacks import whsec_form
from cloudqueue_local.client import hints
from cloudqueue_local.project import project_root
from cloudqueue_local.template import REGION, LocalTemplate, load_local_template

DEFAULT_AWS_URL = "http://127.0.0.1:4566"
# The template's options, all on: the names of every resource a local stack may have (a stack
# started without --webhooks has no webhook queue; the commands that read one say so).
EVERY_OPTION = {"JobEvents": "on", "Webhooks": "on"}
_LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}


class AccessError(Exception):
    """Said to the user in one line; ``code`` is the exit status (2: nothing to reach)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def local_template(every_option: bool = False) -> LocalTemplate:
    """The checkout's template.yaml, as the local stack reads it (``every_option``: with the
    template's options on, for the local names of their resources too)."""
    return load_local_template(project_root() / "template.yaml", EVERY_OPTION if every_option else None)


@dataclass
class Target:
    """Where the CLI's AWS calls go, and the stack's resources there."""

    endpoint_url: str | None
    job_queue_url: str
    dead_letter_queue_url: str
    state_machine_arn: str
    webhook_secret_id: str = ""
    webhook_dead_letter_queue_url: str = ""

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` there (local credentials for the local endpoint)."""
        if self.endpoint_url is None:
            return boto3.client(service)  # type: ignore[call-overload]
        return boto3.client(service, endpoint_url=self.endpoint_url, **_LOCAL_CREDENTIALS)  # type: ignore[call-overload]


def target(aws_url: str | None, stack_name: str | None) -> Target:
    """``aws_url``'s endpoint (default: the local stack's), or with ``stack_name`` alone the
    deployed stack's resources, from its CloudFormation outputs."""
    if stack_name is not None and aws_url is None:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        return Target(
            None,
            outputs["JobQueueUrl"],
            outputs["DeadLetterQueueUrl"],
            outputs["StateMachineArn"],
            outputs.get("WebhookSecretArn", ""),
            outputs.get("WebhookDeadLetterQueueUrl", ""),
        )
    template = local_template(every_option=True)
    return Target(
        endpoint_url=aws_url or DEFAULT_AWS_URL,
        job_queue_url=template.queues["JobQueue"].url,
        dead_letter_queue_url=template.queues["DeadLetterQueue"].url,
        state_machine_arn=template.state_machines["JobStateMachine"].arn,
        webhook_secret_id=template.secrets["WebhookSecret"].name,
        webhook_dead_letter_queue_url=template.queues["WebhookDeadLetterQueue"].url,
    )


NO_WEBHOOKS = (
    "this stack has no webhook secret: its webhooks are off (deploy with the template parameter "
    "Webhooks=on; locally: cloudqueue dev --webhooks)"
)


def webhook_secret(where: Target) -> str:
    """The stack's webhook signing secret, as receivers take it: ``whsec_...``."""
    if not where.webhook_secret_id:
        raise AccessError(NO_WEBHOOKS)
    try:
        value = where.client("secretsmanager").get_secret_value(SecretId=where.webhook_secret_id)[
            "SecretString"
        ]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        raise AccessError(NO_WEBHOOKS) from None
    return whsec_form(str(value))


def redrive_dead_letters(where: Target) -> int:
    """Move every dead-lettered message back to the job queue."""
    sqs = where.client("sqs")
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=where.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(QueueUrl=where.job_queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=where.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def function_endpoint(aws_url: str | None, stack_name: str | None) -> str | None:
    """The AWS endpoint a function run here calls: None with ``stack_name`` alone (AWS itself),
    else ``aws_url`` or the local stack's, which must be listening (an :class:`AccessError`,
    exit status 2, says how to start it)."""
    if stack_name is not None and aws_url is None:
        return None
    endpoint = aws_url or DEFAULT_AWS_URL
    if not hints.is_listening(endpoint):
        raise AccessError(hints.unreachable("the AWS endpoint", endpoint), 2)
    return endpoint
