"""Who a request acts as: the caller read from API Gateway's payload-2.0 event in each AuthMode."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from cloudqueue.callers import ANONYMOUS, Caller
from cloudqueue.handlers.callers import NoOwner, caller_of, is_admin_route
from tests.fakes import http_event

ALICE_ARN = "arn:aws:iam::123456789012:user/alice"


def event(route_key: str = "GET /jobs", authorizer: dict[str, Any] | None = None) -> APIGatewayProxyEventV2:
    raw = http_event("GET", "/jobs")
    raw["routeKey"] = raw["requestContext"]["routeKey"] = route_key
    if authorizer is not None:
        raw["requestContext"]["authorizer"] = authorizer
    return APIGatewayProxyEventV2(raw)


def jwt(claims: dict[str, str], scopes: list[str] | None = None) -> dict[str, Any]:
    return {"jwt": {"claims": claims, "scopes": scopes}}


def iam(user_arn: str | None) -> dict[str, Any]:
    return {
        "iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AIDAEXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user_arn,
            "userId": "AIDAEXAMPLE",
        }
    }


def test_without_an_authorizer_every_caller_is_anonymous():
    assert caller_of(event()) == Caller(owner=ANONYMOUS, admin=False)


def test_a_jwt_caller_is_its_subject():
    claims = {"sub": "alice", "iss": "https://issuer", "scope": "cloudqueue/jobs.read"}
    assert caller_of(event(authorizer=jwt(claims, ["cloudqueue/jobs.read"]))) == Caller(owner="alice")


def test_an_iam_caller_is_its_user_arn():
    assert caller_of(event(authorizer=iam(ALICE_ARN))) == Caller(owner=ALICE_ARN)


@pytest.mark.parametrize(
    "authorizer",
    [jwt({"iss": "https://issuer"}), jwt({"sub": ""}), iam(None), iam(""), {"lambda": {"user": "x"}}],
    ids=["jwt-without-sub", "jwt-empty-sub", "iam-without-arn", "iam-empty-arn", "unknown-authorizer"],
)
def test_an_authorizer_that_names_nobody_is_refused_not_made_anonymous(authorizer):
    with pytest.raises(NoOwner) as refused:
        caller_of(event(authorizer=authorizer))
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("route_key", "admin"),
    [
        ("GET /admin/jobs", True),
        ("GET /admin/jobs/{jobId}", True),
        ("POST /admin/jobs/{jobId}/rerun", True),
        ("GET /jobs", False),
        ("GET /jobs/{jobId}", False),
        ("$default", False),  # a catch-all route matched no admin route: no admin
        ("GET /administrators", False),
        ("GET /jobs/admin/x", False),
    ],
)
def test_admin_comes_from_the_route_the_gateway_matched(route_key, admin):
    assert is_admin_route(route_key) is admin
    assert caller_of(event(route_key, jwt({"sub": "root"}))).admin is admin


def test_the_path_the_client_sent_does_not_make_an_admin():
    raw = http_event("GET", "/admin/jobs")
    raw["routeKey"] = raw["requestContext"]["routeKey"] = "GET /jobs/{jobId}"
    assert caller_of(APIGatewayProxyEventV2(raw)).admin is False
