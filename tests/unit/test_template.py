"""template.yaml and statemachine/jobs.asl.json: lint, least privilege, wiring, timing, sample events.

Everything here is read from the files themselves (with the local stack's CloudFormation
reader), so that a change to the template, the workflow or the handlers that breaks one of
these promises fails here, before a deploy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    SqsModel,
)
from cfnlint.api import lint_file
from pydantic import TypeAdapter, ValidationError

from cloudqueue import errors
from cloudqueue.api_models import SubmitJobRequest
from cloudqueue.handlers.api import app as api_resolver
from cloudqueue.handlers.events import job_state_changes
from cloudqueue.handlers.process import handler as process_handler
from cloudqueue.handlers.webhook import delivery_of
from cloudqueue.jobs import JOB_ID_PATTERN
from cloudqueue.jobtypes import JOB_TYPES, demo
from cloudqueue.models import ClaimRequest, ClaimResponse, FinalizeRequest
from cloudqueue.processing import ProcessRequest
from cloudqueue.workflow import parse_job_message
from cloudqueue_local.template import LOCAL_PARAMETER_OVERRIDES, Resolver, load_template, read_template
from cloudqueue_local.template.timing import (
    TimingError,
    check_timing,
    retrier_backoff,
    timing_summary,
    worst_path,
)
from tests.conftest import TEST_PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
TEMPLATE = read_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(name for name, resource in RESOURCES.items() if resource["Type"].endswith("::Function"))
STATE_MACHINE = RESOURCES["JobStateMachine"]
DEFINITION_PATH = ROOT / STATE_MACHINE["Properties"]["DefinitionUri"]

# IAM resources as the template writes them (see ``resource_label``).
TABLE = "!GetAtt JobsTable.Arn"
INDEX = "!Sub ${JobsTable.Arn}/index/Listing"
PENDING_INDEX = "!Sub ${JobsTable.Arn}/index/PendingSends"
QUEUE = "!GetAtt JobQueue.Arn"
POISON_QUEUE = "!GetAtt PoisonMessageQueue.Arn"
DEAD_LETTER_QUEUE = "!GetAtt DeadLetterQueue.Arn"
LOG_GROUP = "!GetAtt ExecutionLogGroup.Arn"
WORKFLOW = "!Ref JobStateMachine"
STREAM = "!GetAtt JobsTable.StreamArn"
EVENTS_FUNCTION = "!GetAtt EventsFunction.Arn"
WEBHOOK_QUEUE = "!GetAtt WebhookQueue.Arn"
WEBHOOK_DLQ = "!GetAtt WebhookDeadLetterQueue.Arn"
WEBHOOK_SECRET = "!Ref WebhookSecret"
EVENT_BUS = "!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
SCHEDULES = (
    "!Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${JobScheduleGroup}/*"
)
SCHEDULER_ROLE = "!GetAtt SchedulerRole.Arn"
SCHEDULED_FUNCTION = "!GetAtt ScheduledSubmitFunction.Arn"

# What each function's code calls in AWS, and nothing more.
LEAST_PRIVILEGE: dict[str, set[tuple[str, str]]] = {
    "ApiFunction": {
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:GetItem", TABLE),
        ("dynamodb:BatchGetItem", TABLE),  # a listing's jobs (the index holds keys only)
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:Query", INDEX),
        ("sqs:SendMessage", QUEUE),
        ("logs:FilterLogEvents", LOG_GROUP),
        ("states:DescribeStateMachine", WORKFLOW),
        ("scheduler:CreateSchedule", SCHEDULES),  # a delayed job past SQS's 15 min; a recurring one
        ("scheduler:DeleteSchedule", SCHEDULES),  # a delayed job's cancel; a recurring one's delete
        ("scheduler:GetSchedule", SCHEDULES),
        ("scheduler:UpdateSchedule", SCHEDULES),  # pause, resume
        ("scheduler:ListSchedules", "*"),  # IAM has no resource for it
        ("iam:PassRole", SCHEDULER_ROLE),  # the role schedules call their target with
    },
    "ScheduledSubmitFunction": {
        ("dynamodb:PutItem", TABLE),  # the job and its firing's idempotency record
        ("dynamodb:GetItem", TABLE),  # a firing delivered again finds its job
        ("sqs:SendMessage", QUEUE),
    },
    "ClaimFunction": {
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:PutItem", TABLE),  # tombstones
        ("dynamodb:GetItem", TABLE),  # a concurrency slot item
        ("sqs:SendMessage", POISON_QUEUE),  # keep a message that names no job, at once
        ("sqs:SendMessage", QUEUE),  # an early delayed job's message, a job waiting for a slot
    },
    "ProcessFunction": {
        ("dynamodb:GetItem", TABLE),  # the cancel mark (JobContext.cancelled)
        ("dynamodb:UpdateItem", TABLE),  # progress, fenced by the lease token
    },
    "FinalizeFunction": {("dynamodb:UpdateItem", TABLE)},
    "DeadLetterFunction": {
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:GetItem", TABLE),
        ("sqs:SendMessage", QUEUE),  # redrive
        ("sqs:SendMessage", POISON_QUEUE),  # keep a message that names no job
    },
    "EventsFunction": set(),
    "WebhookFunction": {
        ("dynamodb:GetItem", TABLE),  # the deliveries recorded so far
        ("dynamodb:UpdateItem", TABLE),  # ... and this attempt
        ("sqs:SendMessage", WEBHOOK_QUEUE),  # a retry, delayed
        ("sqs:SendMessage", WEBHOOK_DLQ),  # a delivery given up on
        ("secretsmanager:GetSecretValue", WEBHOOK_SECRET),
    },  # the Pipe reads the stream and puts the events; it only shapes them
    "RequeueFunction": {
        ("dynamodb:Query", PENDING_INDEX),
        ("dynamodb:Query", INDEX),  # the stranded jobs of a day
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:GetItem", TABLE),  # the sweeps' cursors
        ("dynamodb:BatchGetItem", TABLE),  # the stranded sweep reads a day's jobs
        ("dynamodb:PutItem", TABLE),
        ("sqs:SendMessage", QUEUE),
    },
}

# The actions AWS documents for Step Functions logging to CloudWatch Logs; they only work on "*".
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:CreateLogStream",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutLogEvents",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

LAMBDA_SERVICE_ERRORS = frozenset(
    {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    }
)

# The state machine's one managed policy: X-Ray, only when TracingMode is Active.
XRAY_WHEN_TRACING = {"Fn::If": ["TracingActive", "AWSXrayWriteOnlyAccess", {"Ref": "AWS::NoValue"}]}

API_ROUTES = {
    ("POST", "/jobs"),
    ("POST", "/jobs/batch"),
    ("GET", "/jobs"),
    ("GET", "/jobs/{jobId}"),
    ("GET", "/jobs/{jobId}/history"),
    ("DELETE", "/jobs/{jobId}"),
    ("POST", "/jobs/{jobId}/rerun"),
    ("GET", "/admin/jobs"),
    ("GET", "/admin/jobs/{jobId}"),
    ("GET", "/admin/jobs/{jobId}/history"),
    ("DELETE", "/admin/jobs/{jobId}"),
    ("POST", "/admin/jobs/{jobId}/rerun"),
    ("POST", "/schedules"),
    ("GET", "/schedules"),
    ("GET", "/schedules/{name}"),
    ("DELETE", "/schedules/{name}"),
    ("POST", "/schedules/{name}/pause"),
    ("POST", "/schedules/{name}/resume"),
    ("GET", "/job-types"),
    ("GET", "/workflow"),
    ("GET", "/openapi.json"),
}


# --- reading the template's policies -----------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_label(resource: Any) -> str:
    """An IAM Resource as the template writes it: ``!GetAtt JobsTable.Arn``, ``!Ref ...``, ``*``."""
    if isinstance(resource, dict) and len(resource) == 1:
        ((function, argument),) = resource.items()
        if function == "Ref":
            return f"!Ref {argument}"
        if function == "Fn::GetAtt":
            return "!GetAtt " + ".".join(as_list(argument))
        if function == "Fn::Sub" and isinstance(argument, str):
            return f"!Sub {argument}"
    return resource if isinstance(resource, str) else json.dumps(resource)


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = as_list(document["Statement"])
    for statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, statement
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (action, resource) pair the Allow statements give."""
    return {
        (action, resource_label(resource))
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def function_statements(logical_id: str) -> list[dict[str, Any]]:
    """A function's inline policy statements (SAM policy templates and managed policies hide their grants)."""
    policies = as_list(RESOURCES[logical_id]["Properties"].get("Policies", []))
    hidden = [policy for policy in policies if not (isinstance(policy, dict) and "Statement" in policy)]
    assert not hidden, f"{logical_id} has policies whose grants cannot be read here: {hidden}"
    return [statement for policy in policies for statement in statements_of(policy)]


def state_machine_statements() -> list[dict[str, Any]]:
    policies = STATE_MACHINE["Properties"]["Policies"]
    return [statement for policy in policies if "Statement" in policy for statement in statements_of(policy)]


def role_statements(logical_id: str) -> list[dict[str, Any]]:
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    return [statement for policy in policies for statement in statements_of(policy["PolicyDocument"])]


def allow_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Allow statement of every identity and resource policy in the template, with its owner."""
    for logical_id, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function":
            statements = function_statements(logical_id)
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            statements = state_machine_statements()
        elif resource["Type"] == "AWS::IAM::Role":
            statements = role_statements(logical_id)
        elif "PolicyDocument" in (resource.get("Properties") or {}):
            statements = statements_of(resource["Properties"]["PolicyDocument"])
        else:
            continue
        yield from ((logical_id, statement) for statement in statements if statement["Effect"] == "Allow")


def is_log_delivery(owner: str, statement: dict[str, Any]) -> bool:
    return owner == "JobStateMachine" and set(as_list(statement["Action"])) <= LOG_DELIVERY_ACTIONS


def is_schedule_listing(owner: str, statement: dict[str, Any]) -> bool:
    """ListSchedules has no resource type in IAM: "*" is the only way to allow it."""
    return owner == "ApiFunction" and as_list(statement["Action"]) == ["scheduler:ListSchedules"]


def scoped_resources() -> set[str]:
    """What functions and roles may name: table, its indexes, job queue, log group, workflow."""
    indexes = RESOURCES["JobsTable"]["Properties"].get("GlobalSecondaryIndexes", [])
    return {
        TABLE,
        QUEUE,
        POISON_QUEUE,
        DEAD_LETTER_QUEUE,  # Scheduler's dead-letter queue for a delayed job's failed send
        LOG_GROUP,
        WORKFLOW,
        STREAM,
        EVENTS_FUNCTION,
        EVENT_BUS,
        WEBHOOK_QUEUE,
        WEBHOOK_DLQ,
        WEBHOOK_SECRET,
        SCHEDULES,
        SCHEDULER_ROLE,
        SCHEDULED_FUNCTION,
    } | {f"!Sub ${{JobsTable.Arn}}/index/{index['IndexName']}" for index in indexes}


# --- lint and validate -------------------------------------------------------------------


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_the_template() -> None:
    # Given the template  When cfn-lint checks it
    matches = lint_file(TEMPLATE_PATH)

    # Then it reports no error, warning or informational finding at its default level
    assert [str(match) for match in matches] == []


def sam_command() -> str:
    configured = os.environ.get("CLOUDQUEUE_SAM")
    candidate = shutil.which(configured) if configured else None
    default = ROOT / ".venv-sam" / "bin" / "sam"
    if candidate is None and not configured and default.exists():
        candidate = str(default)
    if candidate is None:
        pytest.fail(
            f"AWS SAM CLI not found ({configured or default}): run `make sam-venv` "
            "(or set CLOUDQUEUE_SAM to a sam executable)"
        )
    return candidate


@pytest.mark.slow
def test_sam_validate_with_lint_accepts_the_template() -> None:
    # Given the SAM CLI in its own venv (it pins another boto3 than the project)
    sam = sam_command()

    # When it validates the template with its linter, offline
    finished = subprocess.run(
        [sam, "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE_PATH)],
        cwd=ROOT,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it accepts it
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "is a valid SAM Template" in finished.stdout + finished.stderr


# --- least privilege ---------------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_may_call_exactly_what_its_code_calls(function: str) -> None:
    # Given what the function's code calls in AWS
    assert function in LEAST_PRIVILEGE, f"{function} is new: list what it may call in LEAST_PRIVILEGE"
    expected = LEAST_PRIVILEGE[function]
    properties = RESOURCES[function]["Properties"]

    # When its permissions are read from its Policies (a Role would bypass them)
    assert "Role" not in properties
    granted = grants(function_statements(function))

    # Then they are exactly those calls on exactly those resources
    assert granted == expected
    if not expected:
        assert "Policies" not in properties, f"{function} needs no AWS permissions"


def test_functions_get_no_permissions_from_globals() -> None:
    # Given the template's function defaults  Then they grant nothing every function would share
    function_globals = (TEMPLATE.get("Globals") or {}).get("Function") or {}
    assert {"Policies", "Role"}.isdisjoint(function_globals)


def test_no_policy_allows_a_wildcard_except_step_functions_log_delivery() -> None:
    # Given every Allow statement in the template
    wildcards = []
    for owner, statement in allow_statements():
        actions = as_list(statement["Action"])
        resources = [resource_label(resource) for resource in as_list(statement["Resource"])]
        # When an action is a wildcard, or a resource is everything
        if any("*" in action for action in actions):
            wildcards.append((owner, statement.get("Sid"), actions))
        if "*" in resources and not (
            is_log_delivery(owner, statement) or is_schedule_listing(owner, statement)
        ):
            wildcards.append((owner, statement.get("Sid"), resources))

    # Then it is only the state machine's log delivery and the listing of schedules, which AWS
    # allows on "*" only
    assert wildcards == []


def test_every_function_and_role_names_only_the_stack_resources_it_works_on() -> None:
    # Given the statements of the functions, the state machine and the IAM roles
    allowed = scoped_resources()
    owners = {*FUNCTIONS, "JobStateMachine"} | {
        name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::IAM::Role"
    }

    # When their resources are read (except the log delivery, which is "*" by AWS's design)
    named = {
        (owner, resource_label(resource))
        for owner, statement in allow_statements()
        if owner in owners
        and not (is_log_delivery(owner, statement) or is_schedule_listing(owner, statement))
        for resource in as_list(statement["Resource"])
    }

    # Then each is the table, its index, the job queue, the log group or the state machine
    assert {(owner, label) for owner, label in named if label not in allowed} == set()


def test_the_events_pipe_role_may_only_read_the_stream_shape_and_put_on_the_bus() -> None:
    # Given the events Pipe and its role
    pipe = RESOURCES["EventsPipe"]["Properties"]
    role_id = pipe["RoleArn"]["Fn::GetAtt"][0]

    # When the role's permissions are read
    granted = grants(role_statements(role_id))

    # Then it reads the table's stream, invokes the enrichment and puts on the bus, nothing else
    assert (resource_label(pipe["Source"]), resource_label(pipe["Target"])) == (STREAM, EVENT_BUS)
    assert granted == {
        ("dynamodb:DescribeStream", STREAM),
        ("dynamodb:GetRecords", STREAM),
        ("dynamodb:GetShardIterator", STREAM),
        ("dynamodb:ListStreams", STREAM),
        ("lambda:InvokeFunction", EVENTS_FUNCTION),
        ("events:PutEvents", EVENT_BUS),
    }
    stream = RESOURCES["JobsTable"]["Properties"]["StreamSpecification"]["Fn::If"]
    assert stream[0] == "StreamWanted"
    assert stream[1]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


OPTIONAL = {
    "JobEvents": {"EventsFunction", "EventsPipe", "EventsPipeRole", "EventsFunctionLogs"},
    "Webhooks": {
        "WebhookSecret",
        "WebhookQueue",
        "WebhookDeadLetterQueue",
        "WebhookPipe",
        "WebhookPipeRole",
        "WebhookFunction",
        "WebhookFunctionLogs",
        "WebhookDeadLetterAlarm",
    },
}


def test_the_default_stack_deploys_no_stream_pipe_secret_or_webhook_queue() -> None:
    # Given the template at its defaults (JobEvents and Webhooks off)
    template = load_template(TEMPLATE_PATH)

    # Then the table has no stream, nothing reads one, and no option's resource or output is made
    assert template.tables["JobsTable"].properties.get("StreamSpecification") is None  # AWS::NoValue
    assert template.stream_pipes == {}
    assert template.secrets == {}
    made = set(template.resource_types)
    assert made & (OPTIONAL["JobEvents"] | OPTIONAL["Webhooks"]) == set()
    assert {"WebhookSecretArn", "WebhookDeadLetterQueueUrl"} & set(template.outputs) == set()
    # And the API refuses a callbackUrl, as nothing would deliver it
    assert template.functions["ApiFunction"].environment["WEBHOOKS"] == "off"


@pytest.mark.parametrize(
    ("on", "pipes"),
    [
        ({"JobEvents": "on"}, {"EventsPipe"}),
        ({"Webhooks": "on"}, {"WebhookPipe"}),
        ({"JobEvents": "on", "Webhooks": "on"}, {"EventsPipe", "WebhookPipe"}),
    ],
)
def test_each_option_deploys_its_own_resources_and_the_stream_they_read(
    on: dict[str, str], pipes: set[str]
) -> None:
    # Given the template with one option on, or both
    template = load_template(TEMPLATE_PATH, on)

    # Then the table has its stream, and exactly that option's resources are made
    stream = template.tables["JobsTable"].properties["StreamSpecification"]
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert set(template.stream_pipes) == pipes
    wanted = set().union(*(OPTIONAL[name] for name in on))
    unwanted = set().union(*(OPTIONAL[name] for name in OPTIONAL if name not in on))
    assert wanted <= set(template.resource_types)
    assert unwanted & set(template.resource_types) == set()
    assert template.functions["ApiFunction"].environment["WEBHOOKS"] == on.get("Webhooks", "off")


def test_every_resource_of_an_option_names_its_condition() -> None:
    # Given the template as CloudFormation reads it  Then each option's resources are conditional
    conditions = {name: RESOURCES[name].get("Condition") for names in OPTIONAL.values() for name in names}
    expected = {name: "EventsOn" for name in OPTIONAL["JobEvents"]} | {
        name: "WebhooksOn" for name in OPTIONAL["Webhooks"]
    }
    assert conditions == expected


def test_the_pipe_role_may_only_read_the_job_queue_and_start_the_workflow() -> None:
    # Given the Pipe and its role
    pipe = RESOURCES["JobPipe"]["Properties"]
    role_id = pipe["RoleArn"]["Fn::GetAtt"][0]
    role = RESOURCES[role_id]["Properties"]

    # When the role's permissions are read
    granted = grants(role_statements(role_id))

    # Then it may consume the Pipe's source and start its target synchronously, nothing else
    source, target = resource_label(pipe["Source"]), resource_label(pipe["Target"])
    assert (source, target) == (QUEUE, WORKFLOW)
    assert granted == {
        ("sqs:ReceiveMessage", source),
        ("sqs:DeleteMessage", source),
        ("sqs:GetQueueAttributes", source),
        ("states:StartSyncExecution", target),
    }
    assert "ManagedPolicyArns" not in role
    trusted = {
        principal
        for statement in statements_of(role["AssumeRolePolicyDocument"])
        for principal in as_list(statement["Principal"]["Service"])
    }
    assert trusted == {"pipes.amazonaws.com"}


def test_the_state_machine_may_invoke_only_its_three_task_functions() -> None:
    # Given the state machine's policies
    policies = STATE_MACHINE["Properties"]["Policies"]
    invokable = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in policies
        if "LambdaInvokePolicy" in policy
    }
    others = [
        policy
        for policy in policies
        if not (isinstance(policy, dict) and {"LambdaInvokePolicy", "Statement"} & set(policy))
        and policy != XRAY_WHEN_TRACING
    ]

    # When they are compared with the functions its definition runs
    substituted = {
        value["Fn::GetAtt"][0]
        for value in STATE_MACHINE["Properties"]["DefinitionSubstitutions"].values()
        if "Fn::GetAtt" in value
    }

    # Then it may invoke those three and no other, and holds no other policy template or managed policy
    assert invokable == substituted == {"ClaimFunction", "ProcessFunction", "FinalizeFunction"}
    assert others == []
    assert not any(action.startswith("lambda:") for action, _ in grants(state_machine_statements()))


# --- the state machine's wiring ------------------------------------------------------------


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    """The definition as CloudFormation makes it: its DefinitionSubstitutions filled in."""
    return json.loads(load_template(TEMPLATE_PATH).state_machines["JobStateMachine"].definition)


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor["States"])


def tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in all_states(definition["States"]) if state["Type"] == "Task"}


def retried(state: dict[str, Any]) -> set[str]:
    return {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}


def caught(state: dict[str, Any]) -> dict[str, str]:
    """Error name → the state its Catch goes to (the first catcher that matches wins)."""
    found: dict[str, str] = {}
    for catcher in state.get("Catch", []):
        for error in catcher["ErrorEquals"]:
            found.setdefault(error, catcher["Next"])
    return found


def test_every_placeholder_in_the_definition_has_a_substitution_and_vice_versa() -> None:
    # Given the definition's ${...} placeholders and the template's DefinitionSubstitutions
    placeholders = set(re.findall(r"\$\{(\w+)\}", DEFINITION_PATH.read_text()))
    substitutions = set(STATE_MACHINE["Properties"]["DefinitionSubstitutions"])

    # Then each placeholder is filled, and no substitution is left unused
    assert placeholders == substitutions


def test_each_task_invokes_the_function_of_its_step(definition: dict[str, Any]) -> None:
    # Given the ARN each Task's FunctionName is substituted with
    template = load_template(TEMPLATE_PATH)
    invoked = {
        name: template.function_by_arn_or_name(state["Parameters"]["FunctionName"]).logical_id
        for name, state in tasks(definition).items()
    }

    # Then claim, process and both finalize steps reach their own functions
    assert invoked == {
        "ClaimJob": "ClaimFunction",
        "ProcessJob": "ProcessFunction",
        "RecordSuccess": "FinalizeFunction",
        "RecordFailure": "FinalizeFunction",
    }


def test_every_task_retries_the_lambda_service_errors_in_one_entry(definition: dict[str, Any]) -> None:
    # Given every Task  Then one Retry entry covers the four Lambda service errors
    missing = {
        name: sorted(LAMBDA_SERVICE_ERRORS)
        for name, state in tasks(definition).items()
        if not any(set(retrier["ErrorEquals"]) >= LAMBDA_SERVICE_ERRORS for retrier in state.get("Retry", []))
    }
    assert missing == {}


def test_process_retries_transient_errors_then_fails_the_job_on_the_rest(definition: dict[str, Any]) -> None:
    # Given the ProcessJob task
    process = tasks(definition)["ProcessJob"]

    # Then a transient failure is retried, and what is left after the retries fails the job
    assert "TransientJobError" in retried(process)
    assert caught(process)["States.ALL"] == "RecordFailure"
    assert process["Catch"][-1]["ErrorEquals"] == ["States.ALL"], "States.ALL must be the last catcher"


def test_every_claim_outcome_is_routed_and_poison_ends_the_execution_succeeded(
    definition: dict[str, Any],
) -> None:
    # Given the outcomes the claim answers (ClaimResponse.outcome)
    outcomes = set(ClaimResponse.model_fields["outcome"].annotation.__args__)  # type: ignore[union-attr]
    choice = definition["States"]["IsClaimed"]
    routed = {rule["StringEquals"]: rule["Next"] for rule in choice["Choices"]}

    # Then CLAIMED runs the job, POISON ends in a Succeed state of its own (the claim already
    # kept the message, so succeeding consumes it), and SKIPPED and DEFERRED (the claim sent
    # an early message again) take the default
    assert set(routed) | {"SKIPPED", "DEFERRED"} == outcomes
    assert definition["States"][choice["Default"]]["Type"] == "Succeed"
    assert routed["CLAIMED"] == "ProcessJob"
    assert definition["States"][routed["POISON"]]["Type"] == "Succeed"
    # WAITING too: the claim sent the job a new, delayed message (a concurrency slot is held)
    assert definition["States"][routed["WAITING"]]["Type"] == "Succeed"
    assert definition["States"][choice["Default"]]["Type"] == "Succeed"


def test_the_claim_keeps_poison_in_the_queue_the_dead_letter_function_uses() -> None:
    claim_env = RESOURCES["ClaimFunction"]["Properties"]["Environment"]["Variables"]
    dead_letter_env = RESOURCES["DeadLetterFunction"]["Properties"]["Environment"]["Variables"]

    assert claim_env["POISON_QUEUE_URL"] == {"Ref": "PoisonMessageQueue"}
    assert dead_letter_env["POISON_QUEUE_URL"] == claim_env["POISON_QUEUE_URL"]


def test_the_poison_alarm_watches_the_queue_every_function_that_keeps_poison_sends_to() -> None:
    # Given the queue the functions that keep poison messages send to
    queues = {
        str(RESOURCES[name]["Properties"]["Environment"]["Variables"]["POISON_QUEUE_URL"])
        for name in ("ClaimFunction", "DeadLetterFunction")
    }
    alarm = RESOURCES["PoisonMessageAlarm"]["Properties"]

    # Then the alarm watches that queue's visible messages (a free AWS/SQS metric): it fires
    # whichever function kept one, until an operator has dealt with them all
    assert queues == {str({"Ref": "PoisonMessageQueue"})}
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["PoisonMessageQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], float(alarm["Threshold"])) == ("GreaterThanThreshold", 0.0)


def test_claim_retries_a_job_another_worker_holds(definition: dict[str, Any]) -> None:
    assert "JobLeased" in retried(tasks(definition)["ClaimJob"])


@pytest.mark.parametrize("step", ["RecordSuccess", "RecordFailure"])
def test_finalize_steps_end_quietly_when_the_lease_was_lost(definition: dict[str, Any], step: str) -> None:
    # Given a finalize step  When its function raises LeaseLost
    target = caught(tasks(definition)[step]).get("LeaseLost")

    # Then the execution goes to a Succeed state: the job belongs to another worker now
    assert target is not None
    assert definition["States"][target]["Type"] == "Succeed"


def test_every_catch_keeps_the_job_data_and_writes_the_error_beside_it(definition: dict[str, Any]) -> None:
    overwriting = [
        (name, catcher["ErrorEquals"])
        for name, state in all_states(definition["States"])
        for catcher in state.get("Catch", [])
        if catcher.get("ResultPath", "$") in ("$", None)
    ]
    assert overwriting == []


def test_error_names_the_workflow_matches_are_job_error_classes(definition: dict[str, Any]) -> None:
    # Given the error names in every Retry and Catch that are not Step Functions' or Lambda's own
    # (Runtime.*: the runtime's init errors, for code that cannot start)
    names = {
        error
        for _, state in all_states(definition["States"])
        for handler in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in handler["ErrorEquals"]
        if not error.startswith(("States.", "Lambda.", "Sandbox.", "Runtime."))
    }

    # Then each is the name of an exception class the handlers raise (cloudqueue.errors)
    unknown = {name for name in names if not isinstance(getattr(errors, name, None), type)}
    assert unknown == set()
    assert all(issubclass(getattr(errors, name), errors.JobError) for name in names)
    assert names >= {"TransientJobError", "JobLeased", "LeaseLost", "JobNotYetWritten"}


def test_every_task_invokes_lambda_in_the_stacks_own_partition() -> None:
    # Given the raw definition (before CloudFormation fills it in)
    raw = DEFINITION_PATH.read_text()

    # Then no ARN hard-codes the aws partition: aws-cn and aws-us-gov deploy too
    assert "arn:aws:" not in raw
    assert raw.count("arn:${Partition}:states:::lambda:invoke") == 4
    assert STATE_MACHINE["Properties"]["DefinitionSubstitutions"]["Partition"] == {"Ref": "AWS::Partition"}


def test_the_process_step_retries_its_own_timeout_a_bounded_number_of_times(
    definition: dict[str, Any],
) -> None:
    process = tasks(definition)["ProcessJob"]
    (timeouts,) = [retrier for retrier in process["Retry"] if "Sandbox.Timedout" in retrier["ErrorEquals"]]

    # An injected or passing Lambda timeout does not fail the job at once; a job that always
    # runs past its timeout fails after these retries (RecordFailure, via States.ALL).
    assert 1 <= timeouts["MaxAttempts"] <= 3
    assert caught(process)["States.ALL"] == "RecordFailure"


# --- timing ----------------------------------------------------------------------------------


def test_the_workflow_timeout_comes_from_the_template(definition: dict[str, Any]) -> None:
    assert definition["TimeoutSeconds"] == int(TEMPLATE["Parameters"]["WorkflowTimeoutSeconds"]["Default"])
    assert '"TimeoutSeconds": ${WorkflowTimeoutSeconds}' in DEFINITION_PATH.read_text()


@pytest.mark.parametrize(
    "overrides",
    [{}, LOCAL_PARAMETER_OVERRIDES, LOCAL_PARAMETER_OVERRIDES | TEST_PARAMETERS],
    ids=["defaults", "local", "tests"],
)
def test_every_configuration_keeps_the_timing_order_and_fits_the_worst_case(
    overrides: dict[str, str],
) -> None:
    # Given the template with the deployed, the local or the test stack's parameters
    template = load_template(TEMPLATE_PATH, overrides)
    values = {name: int(template.parameters[name]) for name in TIMING_PARAMETERS}
    figures = timing_summary(template)

    # Then the order holds, and the state machine's worst case fits in its timeout
    check_timing(template)
    assert values["ProcessTimeoutSeconds"] < values["WorkflowTimeoutSeconds"] <= values["LeaseSeconds"]
    assert values["LeaseSeconds"] + figures["receiveToClaimSeconds"] < values["VisibilityTimeoutSeconds"]
    assert figures["worstCaseSeconds"] <= values["WorkflowTimeoutSeconds"] <= 300
    assert template.functions["ProcessFunction"].timeout == values["ProcessTimeoutSeconds"]


TIMING_PARAMETERS = (
    "ProcessTimeoutSeconds",
    "WorkflowTimeoutSeconds",
    "LeaseSeconds",
    "VisibilityTimeoutSeconds",
)


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"LeaseSeconds": "1"}, "WorkflowTimeoutSeconds (300) <= LeaseSeconds (1)"),
        ({"ProcessTimeoutSeconds": "300"}, "ProcessTimeoutSeconds (300) < WorkflowTimeoutSeconds (300)"),
        ({"VisibilityTimeoutSeconds": "300"}, "LeaseSeconds (300) < VisibilityTimeoutSeconds (300)"),
        (
            {"VisibilityTimeoutSeconds": "320"},
            "VisibilityTimeoutSeconds (320) > LeaseSeconds (300) + the worst",
        ),
        ({"ProcessTimeoutSeconds": "60"}, "the state machine's worst case"),
        ({"StepTimeoutSeconds": "30"}, "the state machine's worst case"),
        ({"SubmitGraceSeconds": "5"}, "SubmitGraceSeconds (5) > the API function's timeout"),
        (
            {"QueueRetentionSeconds": "1849"},
            "QueueRetentionSeconds (1849) >= MaxReceiveCount (5) x VisibilityTimeoutSeconds (370)",
        ),
    ],
)
def test_a_parameter_set_that_breaks_the_timing_order_is_refused_naming_the_rule(
    overrides: dict[str, str], rule: str
) -> None:
    with pytest.raises(TimingError, match=re.escape(rule)):
        check_timing(load_template(TEMPLATE_PATH, overrides))


# Short timings: one retry of each kind, 1 s apart, and 1-2 s functions. The claim's waits for a
# job not yet written still span the submit grace, which stays above the API's 10 s timeout.
SHORT_RETRIES = {
    "StepTimeoutSeconds": "1",
    "ProcessTimeoutSeconds": "2",
    "SubmitGraceSeconds": "11",
    **{f"{family}RetryMaxAttempts": "1" for family in ("Lambda", "ProcessTimeout", "Leased", "Transient")},
    **{
        f"{family}RetryMaxDelaySeconds": "1" for family in ("Lambda", "ProcessTimeout", "Leased", "Transient")
    },
    "NotYetWrittenRetryMaxAttempts": "1",
    "NotYetWrittenRetryIntervalSeconds": "11",
    "NotYetWrittenRetryMaxDelaySeconds": "11",
}


def test_short_retries_allow_a_short_lease_and_the_order_still_holds() -> None:
    # Given retry parameters much shorter than the defaults, and a lease as short as they allow
    # (claim 4 x 1 s + 13 s, process 4 x 2 s + 3 s, finalize 2 x 1 s + 1 s)
    overrides = SHORT_RETRIES | {
        "WorkflowTimeoutSeconds": "31",
        "LeaseSeconds": "31",
        "VisibilityTimeoutSeconds": "49",
    }
    template = load_template(TEMPLATE_PATH, overrides)

    # Then the timing check accepts them, on the definition as substituted
    check_timing(template)
    assert timing_summary(template) == {"worstCaseSeconds": 31, "receiveToClaimSeconds": 17}
    retriers = json.loads(template.state_machines["JobStateMachine"].definition)["States"]["ProcessJob"][
        "Retry"
    ]
    assert {retrier["MaxAttempts"] for retrier in retriers} == {1}


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        (
            {"WorkflowTimeoutSeconds": "30", "LeaseSeconds": "30", "VisibilityTimeoutSeconds": "49"},
            "the state machine's worst case (31 s: ClaimJob 4x1s+13s + ProcessJob 4x2s+3s + "
            "RecordSuccess 2x1s+1s) fits in WorkflowTimeoutSeconds (30)",
        ),
        (
            {"WorkflowTimeoutSeconds": "31", "LeaseSeconds": "20", "VisibilityTimeoutSeconds": "49"},
            "WorkflowTimeoutSeconds (31) <= LeaseSeconds (20)",
        ),
        (
            {"WorkflowTimeoutSeconds": "31", "LeaseSeconds": "31", "VisibilityTimeoutSeconds": "48"},
            "VisibilityTimeoutSeconds (48) > LeaseSeconds (31) + the worst time from a receive to the "
            "claim's write (17 s)",
        ),
        (
            {
                "WorkflowTimeoutSeconds": "31",
                "LeaseSeconds": "31",
                "VisibilityTimeoutSeconds": "49",
                "NotYetWrittenRetryIntervalSeconds": "10",
                "NotYetWrittenRetryMaxDelaySeconds": "10",
            },
            "SubmitGraceSeconds (11) <= the claim's unjittered JobNotYetWritten retries (10 s)",
        ),
    ],
    ids=["worst-case-past-the-workflow-timeout", "lease-below-the-workflow", "visibility", "grace"],
)
def test_a_too_short_lease_for_short_retries_is_refused_naming_the_rule(
    overrides: dict[str, str], rule: str
) -> None:
    with pytest.raises(TimingError, match=re.escape(f"timing rule broken: {rule}")):
        check_timing(load_template(TEMPLATE_PATH, SHORT_RETRIES | overrides))


@pytest.mark.parametrize(
    ("parameter", "value", "said"),
    [
        ("TransientRetryMaxAttempts", "-1", "MaxAttempts -1: it must be a whole number of at least 0"),
        ("LeasedRetryBackoffRate", "0.5", "BackoffRate 0.5: it must be a number of at least 1"),
        ("LambdaRetryIntervalSeconds", "1.5", "IntervalSeconds 1.5: it must be a whole number of at least 1"),
    ],
)
def test_a_retry_parameter_step_functions_would_refuse_is_refused_before_the_timing(
    parameter: str, value: str, said: str
) -> None:
    # A negative count would shrink the worst case computed, not the one that runs.
    with pytest.raises(TimingError, match=re.escape(said)):
        check_timing(load_template(TEMPLATE_PATH, {parameter: value}))


def test_the_worst_case_counts_every_attempt_and_the_longest_backoffs() -> None:
    # Given the defaults (claim and finalize 5 s, process 25 s)
    template = load_template(TEMPLATE_PATH)
    definition = json.loads(template.state_machines["JobStateMachine"].definition)

    # Then each Task's budget is (1 + its retries) x its timeout + its capped backoffs
    _, path = worst_path(definition, template)
    budgets = {task.state: (task.attempts, task.timeout, task.backoff) for task in path}
    assert budgets["ClaimJob"] == (9, 5, 3 + 3 + 15)
    assert budgets["ProcessJob"] == (8, 25, 3 + 3 + 7)
    assert set(budgets) & {"RecordSuccess", "RecordFailure"}  # one of the two, not both
    assert (
        retrier_backoff({"IntervalSeconds": 1, "MaxAttempts": 4, "BackoffRate": 2, "MaxDelaySeconds": 8})
        == 15
    )


def test_demo_sleeps_limit_follows_the_process_timeout() -> None:
    sleep = JOB_TYPES["demo.sleep"].payload_model
    try:
        demo.limit_sleep_to(8)
        assert sleep.model_validate({"seconds": 7}).seconds == 7
        assert sleep.model_json_schema()["properties"]["seconds"]["maximum"] == 7
        with pytest.raises(ValidationError, match="at most 7 s"):
            sleep.model_validate({"seconds": 7.5})
    finally:
        demo.limit_sleep_to(int(TEMPLATE["Parameters"]["ProcessTimeoutSeconds"]["Default"]))


# --- the HTTP API ------------------------------------------------------------------------


def route_resources() -> dict[str, dict[str, Any]]:
    kind = "AWS::ApiGatewayV2::Route"
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


def template_routes() -> set[tuple[str, str]]:
    """The template's routes: its AWS::ApiGatewayV2::Route resources' keys."""
    routes = set()
    for resource in route_resources().values():
        method, path = resource["Properties"]["RouteKey"].split(" ", 1)
        routes.add((method, path))
    return routes


def resolver_routes() -> set[tuple[str, str]]:
    """The routes ApiFunction's Powertools resolver registers, in API Gateway's {param} syntax."""
    # Powertools keeps its routes here; if a release moves them, this fails loudly.
    routes = [*api_resolver._static_routes, *api_resolver._dynamic_routes]
    return {(route.method, re.sub(r"<(\w+)>", r"{\1}", route.path)) for route in routes}


def test_the_template_declares_exactly_the_routes_of_the_contract() -> None:
    assert template_routes() == API_ROUTES


def test_the_api_function_serves_exactly_the_routes_the_template_declares() -> None:
    # Given the routes of the template and the routes of the API function
    declared, served = template_routes(), resolver_routes()

    # Then they are the same routes: none unreachable, none answered 404 by the function
    assert served == declared


def test_every_route_belongs_to_the_http_api_and_reaches_the_api_function() -> None:
    routes = route_resources().values()
    assert {resource_label(route["Properties"]["ApiId"]) for route in routes} == {"!Ref HttpApi"}
    assert {json.dumps(route["Properties"]["Target"]) for route in routes} == {
        json.dumps({"Fn::Sub": "integrations/${ApiIntegration}"})
    }
    integration = RESOURCES["ApiIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["ApiFunction", "Arn"]}
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")


# --- sample events ---------------------------------------------------------------------------


def sample_event(function: str) -> dict[str, Any]:
    path = ROOT / "events" / f"{function}.json"
    assert path.exists(), f"{function} has no sample event: add events/{function}.json"
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def check_api_event(event: dict[str, Any]) -> None:
    request = APIGatewayProxyEventV2Model.model_validate(event)
    method, path = request.routeKey.split(" ", 1)
    assert (method, path) in template_routes()
    assert (request.requestContext.http.method, request.rawPath) == (method, path)
    TypeAdapter(SubmitJobRequest).validate_json(request.body or "")


def check_claim_event(event: dict[str, Any]) -> None:
    request = ClaimRequest.model_validate(event)
    assert JOB_ID_PATTERN.match(parse_job_message(request.message.body).job_id)


def check_process_event(event: dict[str, Any]) -> None:
    request = ProcessRequest.model_validate(event)
    JOB_TYPES[request.type].payload_model.model_validate(request.payload)


def check_finalize_event(event: dict[str, Any]) -> None:
    request = FinalizeRequest.model_validate(event)
    assert (request.result is not None) == (request.outcome == "SUCCEEDED")


def check_dead_letter_event(event: dict[str, Any]) -> None:
    batch = SqsModel.model_validate(event)
    assert batch.Records
    for record in batch.Records:
        assert JOB_ID_PATTERN.match(parse_job_message(record.body).job_id)


def check_requeue_event(event: dict[str, Any]) -> None:
    scheduled = EventBridgeModel.model_validate(event)
    assert (scheduled.source, scheduled.detail_type) == ("aws.events", "Scheduled Event")


def check_events_event(event: Any) -> None:
    # A batch of stream records in; one Job State Change detail for the status it changed.
    (detail,) = job_state_changes(event)
    assert (detail["previousStatus"], detail["status"]) == ("IN_PROGRESS", "SUCCEEDED")


def check_webhook_event(event: dict[str, Any]) -> None:
    # An SQS message whose body is the stream record WebhookPipe passed: a job that just ended.
    delivery = delivery_of(event["Records"][0]["body"])
    assert delivery is not None
    assert (delivery.attempt, delivery.callback_url) == (1, "https://hooks.example.com/cloudqueue")


def check_scheduled_event(event: dict[str, Any]) -> None:
    from cloudqueue.api_models import validate_job

    assert {"schedule", "owner", "job", "scheduledTime"} <= set(event)
    validate_job(event["job"])


EVENT_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "ApiFunction": check_api_event,
    "ClaimFunction": check_claim_event,
    "ProcessFunction": check_process_event,
    "FinalizeFunction": check_finalize_event,
    "DeadLetterFunction": check_dead_letter_event,
    "RequeueFunction": check_requeue_event,
    "EventsFunction": check_events_event,
    "WebhookFunction": check_webhook_event,
    "ScheduledSubmitFunction": check_scheduled_event,
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_a_sample_event_its_handler_accepts(function: str) -> None:
    # Given the function's sample event (for `sam local invoke <LogicalId> -e events/<LogicalId>.json`)
    event = sample_event(function)

    # When it is validated against the models its handler parses it with
    assert function in EVENT_CHECKS, f"{function} is new: say how its sample event is checked in EVENT_CHECKS"

    # Then it passes (a failing model raises)
    EVENT_CHECKS[function](event)


@dataclass
class FakeLambdaContext:
    function_name: str = "ProcessFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ProcessFunction"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def test_the_sample_events_follow_one_job_through_the_workflow() -> None:
    # Given the sample events of the API, the workflow and the dead-letter handler
    submitted = json.loads(sample_event("ApiFunction")["body"])
    claimed = json.loads(sample_event("ClaimFunction")["message"]["body"])["jobId"]
    processing = sample_event("ProcessFunction")
    finalizing = sample_event("FinalizeFunction")
    dead_lettered = json.loads(sample_event("DeadLetterFunction")["Records"][0]["body"])["jobId"]

    # When the process step runs on its sample event
    result = process_handler(processing, FakeLambdaContext())

    # Then all of them are about the submitted job, and RecordSuccess records what ProcessJob returns
    assert claimed == processing["jobId"] == finalizing["jobId"] == dead_lettered
    assert (processing["type"], processing["payload"]) == (submitted["type"], submitted["payload"])
    assert finalizing["result"] == result


# --- deploys anywhere, again and again -------------------------------------------------------

# Where each resource type takes an explicit name, and the longest name its service accepts.
NAME_LIMITS: dict[str, tuple[tuple[str, ...], int]] = {
    "AWS::SQS::Queue": (("QueueName",), 80),
    "AWS::DynamoDB::Table": (("TableName",), 255),
    "AWS::Serverless::StateMachine": (("Name",), 80),
    "AWS::Pipes::Pipe": (("Name",), 64),
    "AWS::CloudFront::OriginAccessControl": (("OriginAccessControlConfig", "Name"), 64),
    "AWS::Logs::LogGroup": (("LogGroupName",), 512),
    "AWS::Serverless::Function": (("FunctionName",), 64),
    "AWS::Serverless::LayerVersion": (("LayerName",), 140),
    "AWS::IAM::Role": (("RoleName",), 64),
    "AWS::S3::Bucket": (("BucketName",), 63),
    "AWS::CloudWatch::Alarm": (("AlarmName",), 255),
    "AWS::Budgets::Budget": (("Budget", "BudgetName"), 100),
    "AWS::ApiGatewayV2::Api": (("Name",), 128),
    "AWS::ApiGatewayV2::Authorizer": (("Name",), 128),
    "AWS::Cognito::UserPoolClient": (("ClientName",), 128),
    "AWS::Cognito::UserPoolResourceServer": (("Name",), 256),
}
# Top-level properties ending in "Name" that name something else than the resource itself
# (a Lambda permission's FunctionName is its function's).
NOT_A_NAME = {"MetricName", "StageName", "FunctionName"}
LONGEST_STACK_NAME = "s" * 128  # CloudFormation's limit


def explicit_name(resource: dict[str, Any]) -> Any:
    path, _ = NAME_LIMITS.get(resource["Type"], ((), 0))
    value: Any = resource.get("Properties") or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if path else None


def resolver_for_stack(stack_name: str, **parameters: str) -> Resolver:
    values = {
        name: str(parameters.get(name, declaration.get("Default", "")))
        for name, declaration in TEMPLATE["Parameters"].items()
    }
    resolver = Resolver(TEMPLATE, values, "us-east-1", "123456789012", stack_name)
    resolver.pseudo["AWS::StackId"] = (
        f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/"
        "51af3dc0-da77-11e4-872e-1234567db123"
    )
    return resolver


def test_every_property_that_names_a_resource_has_a_known_length_limit() -> None:
    # Given each resource's top-level properties that end in "Name"
    unknown = {
        (logical_id, key)
        for logical_id, resource in RESOURCES.items()
        for key in resource.get("Properties") or {}
        if key.endswith("Name") and key not in NOT_A_NAME
        if key not in NAME_LIMITS.get(resource["Type"], ((), 0))[0]
    }
    # Then the test below knows the limit of each
    assert unknown == set()


@pytest.mark.parametrize(
    "logical_id", sorted(name for name, resource in RESOURCES.items() if explicit_name(resource))
)
def test_each_explicit_name_fits_its_service_for_the_longest_stack_name(logical_id: str) -> None:
    # Given a stack with the longest name CloudFormation accepts
    resolver = resolver_for_stack(LONGEST_STACK_NAME)
    resource = RESOURCES[logical_id]

    # When the resource's explicit name is resolved
    name = str(resolver.resolve(explicit_name(resource)))

    # Then its service accepts it
    assert len(name) <= NAME_LIMITS[resource["Type"]][1], name


def test_a_kept_resource_takes_no_fixed_name_so_the_stack_can_be_created_again() -> None:
    # Given the resources a stack delete keeps
    kept = {
        name
        for name, resource in RESOURCES.items()
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
    }

    # Then the table (the jobs) and the frontend bucket (it cannot be deleted while it holds files) are
    # kept, also on a replacement, but not when the stack's first create rolls back (they hold
    # nothing then), and none of them has a name a second create would collide with
    assert kept == {"JobsTable", "FrontendBucket"}
    assert {RESOURCES[name]["DeletionPolicy"] for name in kept} == {"RetainExceptOnCreate"}
    assert {RESOURCES[name].get("UpdateReplacePolicy") for name in kept} == {"Retain"}
    assert {name: explicit_name(RESOURCES[name]) for name in kept} == dict.fromkeys(kept)


def test_no_arn_in_the_template_hard_codes_the_aws_partition() -> None:
    # Given the template's text  Then every ARN takes its partition from AWS::Partition (aws-cn, aws-us-gov)
    assert re.findall(r"arn:aws[\w-]*:", TEMPLATE_PATH.read_text()) == []


# --- the budget ------------------------------------------------------------------------------


def budgets() -> dict[str, dict[str, Any]]:
    return {
        name: resource for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Budgets::Budget"
    }


@pytest.mark.parametrize(("email", "created"), [("", False), ("ops@example.com", True)])
def test_the_budget_is_created_only_when_an_email_is_given(email: str, created: bool) -> None:
    # Given the template's budget and its condition
    ((_, budget),) = budgets().items()

    # When the condition is evaluated with and without an e-mail address
    resolver = resolver_for_stack("cloudqueue", BudgetEmail=email)

    # Then the budget exists only with one
    assert resolver.condition(budget["Condition"]) is created


@pytest.mark.parametrize(("email", "accepted"), [("", True), ("ops@example.com", True), ("ops", False)])
def test_the_budget_email_parameter_takes_an_address_or_nothing(email: str, accepted: bool) -> None:
    pattern = TEMPLATE["Parameters"]["BudgetEmail"]["AllowedPattern"]
    assert (re.fullmatch(pattern, email) is not None) is accepted


def test_the_budget_mails_at_80_percent_of_actual_and_100_percent_of_forecast_spend() -> None:
    # Given the budget, resolved for a stack given an e-mail address and an amount
    ((_, budget),) = budgets().items()
    properties = resolver_for_stack(
        "cloudqueue", BudgetEmail="ops@example.com", BudgetMonthlyUsd="25"
    ).resolve(budget["Properties"])

    # Then it is a monthly cost budget of that amount that mails that address at both thresholds
    assert properties["Budget"]["BudgetType"] == "COST"
    assert properties["Budget"]["TimeUnit"] == "MONTHLY"
    assert properties["Budget"]["BudgetLimit"] == {"Amount": "25", "Unit": "USD"}
    notifications = {
        (
            entry["Notification"]["NotificationType"],
            entry["Notification"]["ComparisonOperator"],
            float(entry["Notification"]["Threshold"]),
            entry["Notification"].get("ThresholdType"),
        ): entry["Subscribers"]
        for entry in properties["NotificationsWithSubscribers"]
    }
    subscribers = [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]
    assert notifications == {
        ("ACTUAL", "GREATER_THAN", 80.0, "PERCENTAGE"): subscribers,
        ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE"): subscribers,
    }


def test_the_scheduler_role_sends_only_job_messages_and_invokes_only_the_scheduled_submit() -> None:
    # Given the role Scheduler assumes for the one-time and the recurring schedules
    allowed = {
        (action, resource_label(resource))
        for owner, statement in allow_statements()
        if owner == "SchedulerRole"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }

    # Then it sends to the job queue, and to its dead-letter queue (where a delayed job's send
    # that failed for a day goes), and invokes the scheduled-submit function: nothing else
    assert allowed == {
        ("sqs:SendMessage", QUEUE),
        ("sqs:SendMessage", DEAD_LETTER_QUEUE),
        ("lambda:InvokeFunction", SCHEDULED_FUNCTION),
    }
