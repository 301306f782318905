"""The local stack is provisioned from template.yaml: what the template says is what runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudqueue_local.emulator.apigateway import HttpGateway
from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.template import LOCAL_PARAMETER_OVERRIDES, Resolver, TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def edited_template(tmp_path: Path, old: str, new: str) -> Path:
    text = TEMPLATE.read_text()
    assert old in text
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "jobs.asl.json").write_text(
        (ROOT / "statemachine" / "jobs.asl.json").read_text()
    )
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_template_is_read_with_its_parameters_and_globals() -> None:
    template = load_template(TEMPLATE)

    queue = template.queues["JobQueue"]
    assert queue.visibility_timeout == 370 and queue.max_receive_count == 5
    assert queue.dead_letter_arn == template.queues["DeadLetterQueue"].arn
    api = template.functions["ApiFunction"]
    assert api.handler == "cloudqueue.handlers.api.handler"
    assert api.environment["TABLE_NAME"] == template.tables["JobsTable"].name  # from Globals
    assert api.environment["QUEUE_URL"] == queue.url
    assert template.functions["ProcessFunction"].timeout == 25
    assert template.functions["ClaimFunction"].timeout == 5
    (pipe,) = template.pipes.values()
    assert (pipe.batch_size, pipe.invocation_type) == (1, "REQUEST_RESPONSE")
    machine = template.state_machines["JobStateMachine"]
    assert machine.type == "EXPRESS" and machine.log_level == "ALL" and machine.include_execution_data
    assert template.functions["ClaimFunction"].arn in machine.definition  # DefinitionSubstitutions
    assert "${" not in machine.definition
    assert '"TimeoutSeconds": 300' in machine.definition
    assert "arn:aws:states:::lambda:invoke" in machine.definition  # AWS::Partition is aws locally


def test_local_overrides_shorten_the_clock() -> None:
    template = load_template(TEMPLATE, LOCAL_PARAMETER_OVERRIDES | {"MaxReceiveCount": "2"})

    assert template.queues["JobQueue"].visibility_timeout == 300
    assert template.queues["JobQueue"].max_receive_count == 2
    assert template.functions["ClaimFunction"].environment["LEASE_SECONDS"] == "240"
    assert template.functions["ProcessFunction"].timeout == 20
    assert '"TimeoutSeconds": 240' in template.state_machines["JobStateMachine"].definition


def test_a_changed_max_receive_count_changes_the_local_queue(tmp_path: Path) -> None:
    path = edited_template(
        tmp_path,
        "    Default: 5\n    MinValue: 1\n    MaxValue: 1000",
        "    Default: 9\n    MinValue: 1\n    MaxValue: 1000",
    )

    assert load_template(path).queues["JobQueue"].max_receive_count == 9


def test_a_new_route_in_the_template_is_served_locally(tmp_path: Path) -> None:
    path = edited_template(tmp_path, '      RouteKey: "GET /job-types"', '      RouteKey: "GET /kinds"')
    template = load_template(path)
    gateway = HttpGateway(
        template, LambdaRuntime(template, RuntimeSettings(root=ROOT)), frontend_dir=None, config=dict
    )

    assert gateway.match("GET", "/kinds") is not None
    assert gateway.match("GET", "/job-types") is None
    route, parameters = gateway.match("GET", "/jobs/abc/history") or (None, None)
    assert route is not None and parameters == {"jobId": "abc"}


def test_unknown_parameters_and_values_are_refused() -> None:
    with pytest.raises(TemplateError, match="NoSuch"):
        load_template(TEMPLATE, {"NoSuch": "1"})
    with pytest.raises(TemplateError, match=re.escape("LogLevel")):
        load_template(TEMPLATE, {"LogLevel": "LOUD"})


def test_a_layer_from_outside_the_template_is_refused(tmp_path: Path) -> None:
    # Given the template, whose functions take their libraries from its own layer, which the
    # local stack provides from the project's venv: it reads
    assert "ProcessFunction" in load_template(TEMPLATE).functions

    # When a function names a layer by ARN, which has no local copy
    public = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:7"
    edited = edited_template(
        tmp_path, "Layers: [!Ref DependenciesLayer]", f"Layers: [!Ref DependenciesLayer, {public}]"
    )

    # Then the local stack refuses it, by name, rather than let its imports fail later
    refused = "Function: the local stack provides the template's own layers only"
    with pytest.raises(TemplateError, match=refused):
        load_template(edited)


SAM_EVENT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: .
      Events:
        Read:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: get, Path: "/things/{id}"AUTH}
"""


def test_routes_declared_as_sam_events_are_read_too_and_their_auth_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SAM_EVENT_TEMPLATE.replace("AUTH", ""))
    (route,) = load_template(path).routes
    assert (route.method, route.path, route.function, route.authorization) == (
        "GET",
        "/things/{id}",
        "Fn",
        "NONE",
    )

    # SAM's Auth cannot follow AuthMode (no Fn::If there): the local stack says so rather than ignore it
    path.write_text(SAM_EVENT_TEMPLATE.replace("AUTH", ", Auth: {Authorizer: AWS_IAM}"))
    with pytest.raises(TemplateError, match="Auth"):
        load_template(path)


def test_a_select_outside_its_list_is_a_template_error() -> None:
    resolver = Resolver({"Resources": {}}, {}, "us-east-1", "123456789012", "s")
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b"]}]}) == "b"
    with pytest.raises(TemplateError, match="outside"):
        resolver.resolve({"Fn::Select": [2, {"Fn::Split": ["/", ""]}]})
