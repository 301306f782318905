"""Create in moto what ``template.yaml`` declares, with the template's own settings."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any, cast

import boto3

from cloudqueue_local.template import LocalTemplate

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_stepfunctions.literals import StateMachineTypeType

_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)


def _placeholder_zip() -> bytes:
    # moto stores a function's code; the local runtime runs the handler from this checkout.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "CloudQueue's local stack runs this function in-process.\n")
    return buffer.getvalue()


def provision_secrets(template: LocalTemplate, values: dict[str, str], *, region: str) -> None:
    """Make each secret with its value (``values`` by logical id: kept in the state dir)."""
    client = boto3.client("secretsmanager", region_name=region)
    for secret in template.secrets.values():
        client.create_secret(Name=secret.name, SecretString=values[secret.logical_id])


def provision(template: LocalTemplate, *, region: str) -> dict[str, Any]:
    """Create every supported resource; returns what was made, by kind and logical id."""
    made: dict[str, Any] = {
        "tables": {},
        "queues": {},
        "logGroups": {},
        "stateMachines": {},
        "functions": {},
        "dashboards": {},
    }
    dynamodb = boto3.client("dynamodb", region_name=region)
    for spec in template.tables.values():
        properties = spec.properties
        table: dict[str, Any] = {key: properties[key] for key in _TABLE_KEYS if key in properties}
        stream = properties.get("StreamSpecification")
        if stream:
            # CloudFormation's StreamSpecification is the view type alone; the API's also says enabled.
            table["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        dynamodb.create_table(TableName=spec.name, **table)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=spec.name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        made["tables"][spec.logical_id] = spec.name

    sqs = boto3.client("sqs", region_name=region)
    # Dead-letter queues first: a redrive policy names an existing queue.
    ordered = sorted(template.queues.values(), key=lambda queue: queue.dead_letter_arn is not None)
    for queue in ordered:
        attributes: dict[QueueAttributeNameType, str] = {
            "VisibilityTimeout": str(queue.visibility_timeout),
            "MessageRetentionPeriod": str(queue.retention_seconds),
        }
        if queue.dead_letter_arn:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": queue.dead_letter_arn, "maxReceiveCount": queue.max_receive_count}
            )
        made["queues"][queue.logical_id] = sqs.create_queue(QueueName=queue.name, Attributes=attributes)[
            "QueueUrl"
        ]

    logs = boto3.client("logs", region_name=region)
    for group in template.log_groups.values():
        logs.create_log_group(logGroupName=group.name)
        if group.retention_days is not None:
            logs.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
        made["logGroups"][group.logical_id] = group.name

    scheduler = boto3.client("scheduler", region_name=region)
    made["scheduleGroups"] = {}
    for logical_id, name in template.schedule_groups.items():
        scheduler.create_schedule_group(Name=name)
        made["scheduleGroups"][logical_id] = name

    iam = boto3.client("iam", region_name=region)
    role_arn = iam.create_role(
        RoleName="cloudqueue-local-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]

    lambda_client = boto3.client("lambda", region_name=region)
    code = _placeholder_zip()
    for function in template.functions.values():
        lambda_client.create_function(
            FunctionName=function.name,
            Runtime="python3.12",
            Role=role_arn,
            Handler=function.handler,
            Code={"ZipFile": code},
            Timeout=function.timeout,
            MemorySize=function.memory,
            Environment={"Variables": function.environment},
        )
        made["functions"][function.logical_id] = function.name

    sfn = boto3.client("stepfunctions", region_name=region)
    for machine in template.state_machines.values():
        logging: dict[str, Any] = {
            "level": machine.log_level,
            "includeExecutionData": machine.include_execution_data,
        }
        if machine.log_group_arn:
            logging["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": machine.log_group_arn}}]
        sfn.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=role_arn,
            type=cast("StateMachineTypeType", machine.type),
            loggingConfiguration=logging,  # type: ignore[arg-type]
            tracingConfiguration={"enabled": False},
        )
        made["stateMachines"][machine.logical_id] = machine.arn

    cloudwatch = boto3.client("cloudwatch", region_name=region)
    for dashboard in template.dashboards.values():
        cloudwatch.put_dashboard(DashboardName=dashboard.name, DashboardBody=dashboard.body)
        made["dashboards"][dashboard.logical_id] = dashboard.name

    _provision_buses(template, region=region)
    return made


def _provision_buses(template: LocalTemplate, *, region: str) -> None:
    """A Pipe's bus other than the default one is the user's on AWS (EventBusName); made here."""
    events = boto3.client("events", region_name=region)
    for pipe in template.stream_pipes.values():
        if pipe.targets_bus and pipe.bus_name != "default":
            events.create_event_bus(Name=pipe.bus_name)
