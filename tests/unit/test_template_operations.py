"""template.yaml's operational defaults: capacity, encryption, logging, metrics, the dashboard,
memory, and a first deploy in a fresh account (the frontend optional).

Read from the template itself with the local stack's CloudFormation reader, for each value
of the parameters that change what is created.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cloudqueue.handlers import metric_names
from cloudqueue_local.template import Resolver, load_template, read_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
TEMPLATE = read_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]

# The account's HTTP API quota per region (requests/s), and the requests a job takes at least:
# its submit and one read of its result.
ACCOUNT_HTTP_API_RPS = 10_000
REQUESTS_PER_JOB = 2


def resolver(**parameters: str) -> Resolver:
    """The template's resolver for a stack deployed with ``parameters`` (else the defaults)."""
    values = {
        name: str(parameters.get(name, declaration.get("Default", "")))
        for name, declaration in PARAMETERS.items()
    }
    return Resolver(TEMPLATE, values, "us-east-1", "123456789012", "cloudqueue")


# --- capacity ---------------------------------------------------------------------------------


def test_the_stage_throttle_lets_1000_jobs_a_second_through_by_default() -> None:
    # Given the HTTP API stage's default route settings, resolved with the defaults
    (stage,) = [each for each in RESOURCES.values() if each["Type"] == "AWS::ApiGatewayV2::Stage"]
    settings = resolver().resolve(stage["Properties"]["DefaultRouteSettings"])
    rate, burst = int(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])

    # Then at 2 requests a job the steady rate admits 1,000 jobs/s or more, a burst admits twice
    # the rate, and both stay well under the account's own quota
    assert rate / REQUESTS_PER_JOB >= 1_000
    assert burst >= 2 * rate
    assert rate <= ACCOUNT_HTTP_API_RPS / 2
    assert burst <= ACCOUNT_HTTP_API_RPS


# --- the table's key -----------------------------------------------------------------------

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def table_encryption(**parameters: str) -> dict[str, Any]:
    encryption: dict[str, Any] = resolver(**parameters).resolve(
        RESOURCES["JobsTable"]["Properties"]["SSESpecification"]
    )
    return encryption


def test_the_table_is_encrypted_with_the_aws_owned_key_by_default() -> None:
    # SSEEnabled false is DynamoDB's AWS owned key (no KMS charge); true without a key id would be
    # the AWS managed key, billed per request.
    assert table_encryption() == {"SSEEnabled": False}


def test_a_key_arn_encrypts_the_table_with_that_customer_managed_key() -> None:
    assert table_encryption(TableKmsKeyArn=KEY_ARN) == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KEY_ARN,
    }


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("", True), (KEY_ARN, True), ("alias/my-key", False), ("1234abcd-12ab-34cd-56ef-1234567890ab", False)],
)
def test_the_key_parameter_takes_a_key_arn_or_nothing(value: str, accepted: bool) -> None:
    pattern = PARAMETERS["TableKmsKeyArn"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted


# --- a first deploy in a fresh account: the frontend is optional ----------------------------

FRONTEND = {"FrontendBucket", "FrontendBucketPolicy", "FrontendOriginAccessControl", "FrontendDistribution"}
FRONTEND_OUTPUTS = {"FrontendBucketName", "FrontendUrl", "FrontendDistributionId"}


def created(**parameters: str) -> set[str]:
    """The logical ids of the resources a stack with ``parameters`` creates (their Condition holds)."""
    return set(load_template(TEMPLATE_PATH, parameters).resource_types)


def shown_outputs(**parameters: str) -> set[str]:
    """The outputs CloudFormation shows for such a stack (their Condition holds)."""
    check = resolver(**parameters)
    outputs: dict[str, Any] = TEMPLATE["Outputs"]
    return {
        name
        for name, output in outputs.items()
        if "Condition" not in output or check.condition(output["Condition"])
    }


@pytest.mark.parametrize("deploy", ["true", "false"])
def test_the_frontend_and_its_outputs_exist_only_when_asked_for(deploy: str) -> None:
    wanted = deploy == "true"

    resources, outputs = created(DeployFrontend=deploy), shown_outputs(DeployFrontend=deploy)

    assert (resources >= FRONTEND) is wanted
    assert not (FRONTEND & resources) or wanted
    assert (outputs >= FRONTEND_OUTPUTS) is wanted
    assert not (FRONTEND_OUTPUTS & outputs) or wanted
    # The API, the workflow and the table are there either way.
    assert {"ApiFunction", "JobStateMachine", "JobPipe", "JobsTable", "HttpApi"} <= resources
    assert {"ApiUrl", "StateMachineArn", "JobsTableName"} <= outputs


def test_the_frontend_is_deployed_by_default() -> None:
    assert PARAMETERS["DeployFrontend"]["Default"] == "true"
    assert created() >= FRONTEND


def test_without_the_frontend_nothing_created_refers_to_a_frontend_resource() -> None:
    # Given a stack without the frontend, what it creates and shows
    resources = created(DeployFrontend="false")
    outputs: dict[str, Any] = TEMPLATE["Outputs"]
    kept = [RESOURCES[name] for name in resources] + [
        outputs[name] for name in shown_outputs(DeployFrontend="false")
    ]

    # Then none of it names a frontend resource (CloudFormation would refuse the template)
    text = json.dumps(kept)
    assert [name for name in FRONTEND if name in text] == []


@pytest.mark.parametrize("deploy", ["true", "false"])
def test_the_local_stack_reads_the_frontends_condition_as_cloudformation_does(deploy: str) -> None:
    template = load_template(TEMPLATE_PATH, {"DeployFrontend": deploy})

    assert ("FrontendBucketName" in template.outputs) is (deploy == "true")
    assert ("FrontendBucket" in template.resource_types) is (deploy == "true")


# --- the operations dashboard ------------------------------------------------------------------


def dashboard_metrics(body: str) -> list[tuple[str, str, str, str, str]]:
    """(widget title, namespace, metric, dimension value, stat) of every line of a dashboard."""
    lines = []
    for widget in json.loads(body)["widgets"]:
        properties = widget["properties"]
        for metric in properties["metrics"]:
            namespace, name, _, value, options = metric
            stat = options.get("stat", properties.get("stat", ""))
            lines.append((properties["title"], namespace, name, value, stat))
    return lines


def test_the_dashboard_shows_what_an_operator_watches_on_the_stacks_own_resources() -> None:
    # Given the dashboard's body, resolved for a stack named "cloudqueue"
    body = resolver().resolve(RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"])
    lines = {(namespace, name, value, stat) for _, namespace, name, value, stat in dashboard_metrics(body)}
    queue = "cloudqueue-JobQueue"  # the local resolver's physical names: <stack>-<logical id>
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:cloudqueue-JobStateMachine"

    # Then it has the job queue's depth and oldest message, the executions started, failed and
    # throttled, the job outcomes, the dead-letter and poison depths, and each step's p50 and p99
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum"),
        ("AWS/States", "ExecutionsStarted", machine, "Sum"),
        ("AWS/States", "ExecutionsFailed", machine, "Sum"),
        ("AWS/States", "ExecutionThrottled", machine, "Sum"),
        ("AWS/Lambda", "Invocations", "cloudqueue-FinalizeFunction", "Sum"),
        ("CloudQueue", "JobsFailed", "cloudqueue-finalize", "Sum"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "cloudqueue-DeadLetterQueue", "Maximum"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "cloudqueue-PoisonMessageQueue", "Maximum"),
    } <= lines
    for step in ("Claim", "Process", "Finalize"):
        for stat in ("p50", "p99"):
            assert ("AWS/Lambda", "Duration", f"cloudqueue-{step}Function", stat) in lines


def test_the_dashboards_custom_metrics_are_ones_the_handlers_emit() -> None:
    body = resolver().resolve(RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"])
    custom = {
        name for _, namespace, name, _, _ in dashboard_metrics(body) if namespace == metric_names.NAMESPACE
    }

    assert custom
    assert custom <= metric_names.ALL
    assert not custom & metric_names.PER_JOB


def test_the_stack_outputs_the_dashboards_url() -> None:
    url = resolver().resolve(TEMPLATE["Outputs"]["DashboardUrl"]["Value"])
    assert url.endswith("#dashboards/dashboard/cloudqueue-OperationsDashboard")
    assert "region=us-east-1" in url
