"""The local gateway enforces each AuthMode before the function runs, as API Gateway does: the
routes' authorization read from template.yaml, 401/403 with API Gateway's bodies (the function
not invoked), and ``requestContext.authorizer`` passed as AWS passes it. The function is a
recorder here: what reaches it is what the gateway let through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import Client

from cloudqueue_local.emulator.apigateway import HttpGateway
from cloudqueue_local.emulator.awslambda.invocation import Invocation
from cloudqueue_local.emulator.iam_authorizer import LOCAL_USERS
from cloudqueue_local.emulator.oidc import LOCAL_CLIENT_ID, LocalIssuer
from cloudqueue_local.project import PROJECT_ROOT
from cloudqueue_local.template import load_local_template

ORIGIN = "https://page.example"


class RecordingRuntime:
    """Stands in for the Lambda runtime: records each event, answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return Invocation(json.dumps({"statusCode": 200, "body": "{}"}).encode())


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer("127.0.0.1", 0)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def gateway(mode: str, issuer: LocalIssuer) -> tuple[Client, RecordingRuntime]:
    parameters = {"AuthMode": mode, "AllowedOrigin": ORIGIN}
    if mode == "jwt":
        parameters |= {"JwtIssuer": issuer.url, "JwtAudience": LOCAL_CLIENT_ID}
    template = load_local_template(PROJECT_ROOT / "template.yaml", parameters)
    runtime = RecordingRuntime()
    app = HttpGateway(template, runtime, frontend_dir=None, config=dict)  # type: ignore[arg-type]
    return Client(app), runtime


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Origin": ORIGIN}


# --- jwt ---------------------------------------------------------------------------------------


def test_jwt_mode_answers_401_without_a_token_and_never_runs_the_function(issuer: LocalIssuer) -> None:
    client, runtime = gateway("jwt", issuer)
    for method, path in [
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/admin/jobs"),
        ("DELETE", "/jobs/j-1"),
    ]:
        response = client.open(path, method=method, headers={"Origin": ORIGIN})
        assert (response.status_code, response.get_data()) == (401, b'{"message":"Unauthorized"}'), path
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read the refusal
    tampered = issuer.mint("alice")[:-4] + "AAAA"
    assert client.get("/jobs", headers=bearer(tampered)).status_code == 401
    assert runtime.events == []


def test_jwt_mode_answers_403_for_a_valid_token_without_the_routes_scope(issuer: LocalIssuer) -> None:
    client, runtime = gateway("jwt", issuer)
    reader = issuer.mint("alice", ["cloudqueue/jobs.read"])
    writer = issuer.mint("alice", ["cloudqueue/jobs.read", "cloudqueue/jobs.write"])
    forbidden = [
        (reader, "POST", "/jobs"),
        (reader, "DELETE", "/jobs/j-1"),
        (reader, "POST", "/jobs/j-1/rerun"),
        (writer, "GET", "/admin/jobs"),
        (writer, "DELETE", "/admin/jobs/j-1"),
    ]
    for token, method, path in forbidden:
        response = client.open(path, method=method, headers=bearer(token))
        assert (response.status_code, response.get_data()) == (403, b'{"message":"Forbidden"}'), path
    assert runtime.events == []


def test_jwt_mode_passes_the_claims_and_scopes_to_the_function(issuer: LocalIssuer) -> None:
    client, runtime = gateway("jwt", issuer)
    admin = issuer.mint("root", ["cloudqueue/admin"])

    assert client.get("/jobs", headers=bearer(issuer.mint("alice"))).status_code == 200
    assert (
        client.get("/admin/jobs", query_string={"owner": "alice"}, headers=bearer(admin)).status_code == 200
    )

    first, second = (event["requestContext"]["authorizer"]["jwt"] for event in runtime.events)
    assert (first["claims"]["sub"], first["scopes"]) == (
        "alice",
        ["cloudqueue/jobs.read", "cloudqueue/jobs.write"],
    )
    assert (second["claims"]["sub"], second["scopes"]) == ("root", ["cloudqueue/admin"])
    assert runtime.events[1]["routeKey"] == "GET /admin/jobs"


def test_the_public_routes_and_preflights_need_no_token_in_jwt_mode(issuer: LocalIssuer) -> None:
    client, runtime = gateway("jwt", issuer)
    for path in ("/job-types", "/workflow", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    assert all("authorizer" not in event["requestContext"] for event in runtime.events)
    preflight = client.options(
        "/jobs",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].split(",")
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = client.options(
        "/jobs", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers


# --- iam ---------------------------------------------------------------------------------------


def sigv4(
    method: str, path: str, secret: str | None = None, user: int = 0, body: bytes = b""
) -> dict[str, str]:
    chosen = LOCAL_USERS[user]
    request = AWSRequest(method=method, url=f"http://localhost{path}", data=body)
    credentials = Credentials(chosen.access_key_id, secret or chosen.secret_access_key)
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_iam_mode_answers_403_for_a_missing_or_wrong_signature(issuer: LocalIssuer) -> None:
    client, runtime = gateway("iam", issuer)
    unsigned = client.get("/jobs")
    assert (unsigned.status_code, unsigned.get_data()) == (403, b'{"message":"Forbidden"}')
    wrong = client.get("/jobs", headers=sigv4("GET", "/jobs", secret="wrong"))
    assert (wrong.status_code, wrong.get_data()) == (403, b'{"message":"Forbidden"}')
    token = client.get("/jobs", headers=bearer(issuer.mint("alice")))  # a JWT is no signature
    assert token.status_code == 403
    assert runtime.events == []


def test_iam_mode_passes_the_callers_arn_to_the_function(issuer: LocalIssuer) -> None:
    client, runtime = gateway("iam", issuer)
    body = b'{"type":"demo.echo","payload":{}}'
    assert client.get("/jobs?limit=5", headers=sigv4("GET", "/jobs?limit=5")).status_code == 200
    assert (
        client.post("/jobs", data=body, headers=sigv4("POST", "/jobs", user=1, body=body)).status_code == 200
    )
    assert client.get("/job-types").status_code == 200  # public

    arns = [
        event["requestContext"].get("authorizer", {}).get("iam", {}).get("userArn")
        for event in runtime.events
    ]
    assert arns == ["arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob", None]


# --- none --------------------------------------------------------------------------------------


def test_none_mode_lets_everyone_through_with_no_authorizer(issuer: LocalIssuer) -> None:
    client, runtime = gateway("none", issuer)
    assert client.get("/jobs").status_code == 200
    assert client.get("/admin/jobs").status_code == 200
    assert all("authorizer" not in event["requestContext"] for event in runtime.events)


# --- the page's headers ------------------------------------------------------------------------


def test_the_page_files_carry_the_templates_security_headers_and_the_api_answers_do_not() -> None:
    template = load_local_template(PROJECT_ROOT / "template.yaml")
    app = HttpGateway(
        template,
        RecordingRuntime(),  # type: ignore[arg-type]
        frontend_dir=PROJECT_ROOT / "frontend",
        config=lambda: {"apiUrl": "http://127.0.0.1"},
    )
    client = Client(app)
    for path in ("/", "/js/main.js", "/styles.css", "/config.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        sent = {name: response.headers.get(name) for name in template.page_headers}
        assert sent == template.page_headers, path
    assert "Content-Security-Policy" in template.page_headers
    assert "Content-Security-Policy" not in client.get("/job-types").headers


# --- the stack wires its issuer into the template ------------------------------------------------


def test_the_stack_names_its_own_issuer_as_jwt_issuer_and_stands_in_for_the_user_pool() -> None:
    from cloudqueue_local.devtools.stack import LocalStack, StackOptions

    stack = LocalStack(
        StackOptions(port=0, aws_port=0, parameter_overrides={"AuthMode": "jwt", "CreateUserPool": "true"})
    )
    assert stack.issuer is not None
    try:
        (authorizer,) = {route.jwt for route in stack.template.routes if route.jwt is not None}
        assert authorizer.issuer == stack.issuer.url
        assert authorizer.audiences == (LOCAL_CLIENT_ID,)
        assert stack.auth_config()["issuer"] == stack.issuer.url
        assert not [
            kind for kind in stack.template.resource_types.values() if kind.startswith("AWS::Cognito::")
        ]
    finally:
        stack.issuer.stop()


def test_the_stack_makes_no_issuer_when_given_one_or_outside_jwt_mode() -> None:
    from cloudqueue_local.devtools.stack import LocalStack, StackOptions

    given = {"AuthMode": "jwt", "JwtIssuer": "https://issuer.example", "JwtAudience": "client"}
    stack = LocalStack(StackOptions(port=0, aws_port=0, parameter_overrides=given))
    assert stack.issuer is None
    assert {route.jwt.issuer for route in stack.template.routes if route.jwt} == {"https://issuer.example"}
    assert stack.auth_config() == {
        "mode": "jwt",
        "issuer": "https://issuer.example",
        "clientId": "client",
        "scopes": ["cloudqueue/jobs.read", "cloudqueue/jobs.write"],
    }
    iam = LocalStack(StackOptions(port=0, aws_port=0, parameter_overrides={"AuthMode": "iam"}))
    assert (iam.issuer, iam.auth_config()) == (None, {"mode": "iam"})
