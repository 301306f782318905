"""The API's authorization in template.yaml (issue 18's contract), read as the local stack reads
it: per AuthMode, each route's authorization type, authorizer and scopes, after the conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudqueue_local.template import (
    JwtAuthorizerSpec,
    LocalTemplate,
    RouteSpec,
    load_template,
    read_template,
)

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.example"
AUDIENCE = "client-1"

WRITE = "cloudqueue/jobs.write"
READ = "cloudqueue/jobs.read"
ADMIN = "cloudqueue/admin"
# The contract's table: route -> the scope it needs in jwt mode (None: public in every mode).
CONTRACT: dict[tuple[str, str], str | None] = {
    ("POST", "/jobs"): WRITE,
    ("DELETE", "/jobs/{jobId}"): WRITE,
    ("POST", "/jobs/{jobId}/rerun"): WRITE,
    ("GET", "/jobs"): READ,
    ("GET", "/jobs/{jobId}"): READ,
    ("GET", "/jobs/{jobId}/history"): READ,
    ("GET", "/admin/jobs"): ADMIN,
    ("GET", "/admin/jobs/{jobId}"): ADMIN,
    ("GET", "/admin/jobs/{jobId}/history"): ADMIN,
    ("DELETE", "/admin/jobs/{jobId}"): ADMIN,
    ("POST", "/admin/jobs/{jobId}/rerun"): ADMIN,
    # The caller's own recurring schedules: changes need write, reads read.
    ("POST", "/schedules"): WRITE,
    ("DELETE", "/schedules/{name}"): WRITE,
    ("POST", "/schedules/{name}/pause"): WRITE,
    ("POST", "/schedules/{name}/resume"): WRITE,
    ("GET", "/schedules"): READ,
    ("GET", "/schedules/{name}"): READ,
    ("GET", "/job-types"): None,
    ("GET", "/workflow"): None,
    ("GET", "/openapi.json"): None,
}


def template(mode: str) -> LocalTemplate:
    return load_template(
        ROOT / "template.yaml", {"AuthMode": mode, "JwtIssuer": ISSUER, "JwtAudience": AUDIENCE}
    )


def routes(mode: str) -> dict[tuple[str, str], RouteSpec]:
    return {(route.method, route.path): route for route in template(mode).routes}


def test_auth_mode_is_none_by_default_and_every_route_is_open() -> None:
    default = load_template(ROOT / "template.yaml")
    assert default.parameters["AuthMode"] == "none"
    authorizations = {(route.authorization, route.scopes, route.jwt) for route in default.routes}
    assert authorizations == {("NONE", (), None)}
    assert "JwtAuthorizer" not in default.resource_types


def test_in_jwt_mode_each_route_needs_its_scope_from_the_configured_issuer() -> None:
    found = routes("jwt")
    assert set(found) == set(CONTRACT)
    for key, scope in CONTRACT.items():
        route = found[key]
        if scope is None:
            assert (route.authorization, route.scopes, route.jwt) == ("NONE", (), None), key
        else:
            assert (route.authorization, route.scopes) == ("JWT", (scope,)), key
            assert route.jwt == JwtAuthorizerSpec(ISSUER, (AUDIENCE,), "$request.header.Authorization")


def test_in_iam_mode_each_private_route_needs_sigv4_and_no_authorizer_exists() -> None:
    found = routes("iam")
    for key, scope in CONTRACT.items():
        expected = "NONE" if scope is None else "AWS_IAM"
        assert (found[key].authorization, found[key].scopes, found[key].jwt) == (expected, (), None), key
    assert "JwtAuthorizer" not in template("iam").resource_types


@pytest.mark.parametrize("mode", ["none", "jwt", "iam"])
def test_cors_allows_the_authorization_header_for_the_allowed_origin_only(mode: str) -> None:
    loaded = load_template(
        ROOT / "template.yaml",
        {
            "AuthMode": mode,
            "JwtIssuer": ISSUER,
            "JwtAudience": AUDIENCE,
            "AllowedOrigin": "https://page.example",
        },
    )
    assert "authorization" in [header.lower() for header in loaded.cors["AllowHeaders"]]
    assert loaded.cors["AllowOrigins"] == ["https://page.example"]


def test_an_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="AuthMode"):
        template("cognito")


# --- part 7: the page's response headers ---------------------------------------------------


def test_the_distribution_serves_the_page_with_the_headers_policy() -> None:
    document = read_template(ROOT / "template.yaml")
    behaviour = document["Resources"]["FrontendDistribution"]["Properties"]["DistributionConfig"]
    assert behaviour["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "PageHeadersPolicy"}


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in csp.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_page_headers_allow_only_the_page_its_api_and_in_jwt_mode_its_issuer() -> None:
    cognito = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    open_page = load_template(ROOT / "template.yaml").page_headers
    signed_in = load_template(
        ROOT / "template.yaml", {"AuthMode": "jwt", "JwtIssuer": cognito, "JwtAudience": AUDIENCE}
    ).page_headers

    policy = directives(open_page["Content-Security-Policy"])
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "https://local.execute-api.us-east-1.amazonaws.com"]
    assert (policy["frame-ancestors"], policy["base-uri"], policy["form-action"]) == (
        ["'none'"],
        ["'none'"],
        ["'self'"],
    )
    assert "unsafe-inline" not in open_page["Content-Security-Policy"]
    assert open_page["X-Content-Type-Options"] == "nosniff"
    assert open_page["X-Frame-Options"] == "DENY"
    assert open_page["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert open_page["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"

    # The issuer's origin (not its path, which a CSP source would match alone) and Cognito's login
    jwt_policy = directives(signed_in["Content-Security-Policy"])
    assert jwt_policy["connect-src"][2:] == [
        "https://cognito-idp.eu-west-1.amazonaws.com",
        "https://*.amazoncognito.com",
    ]
    assert jwt_policy["form-action"][1:] == jwt_policy["connect-src"][2:]


def test_create_user_pool_makes_cognito_sign_in_and_the_api_trusts_it() -> None:
    # Given jwt mode with the template's own user pool (JwtIssuer and JwtAudience left empty)
    made = load_template(ROOT / "template.yaml", {"AuthMode": "jwt", "CreateUserPool": "true"})

    # Then the pool, its scopes, the page's client, the managed login and its style are made
    cognito = {name for name, kind in made.resource_types.items() if kind.startswith("AWS::Cognito::")}
    assert cognito == {"UserPool", "UserPoolScopes", "PageClient", "UserPoolDomain", "PageClientLoginStyle"}
    # And every protected route's authorizer trusts that pool and that client
    (authorizer,) = {route.jwt for route in made.routes if route.jwt is not None}
    assert authorizer.issuer == "https://cognito-idp.us-east-1.amazonaws.com/cloudqueue-local-UserPool"
    assert authorizer.audiences == ("cloudqueue-local-PageClient",)
    assert made.outputs["PageClientId"] == "cloudqueue-local-PageClient"
    csp = directives(made.page_headers["Content-Security-Policy"])
    assert csp["connect-src"][2:] == [
        "https://cognito-idp.us-east-1.amazonaws.com",
        "https://*.amazoncognito.com",
    ]


@pytest.mark.parametrize("mode", ["none", "iam"])
def test_no_user_pool_outside_jwt_mode_even_when_asked(mode: str) -> None:
    made = load_template(ROOT / "template.yaml", {"AuthMode": mode, "CreateUserPool": "true"})
    assert not [kind for kind in made.resource_types.values() if kind.startswith("AWS::Cognito::")]


def test_the_page_client_uses_the_code_flow_without_a_secret_and_the_api_scopes() -> None:
    client = read_template(ROOT / "template.yaml")["Resources"]["PageClient"]["Properties"]
    assert (client["GenerateSecret"], client["AllowedOAuthFlows"]) == (False, ["code"])
    assert {WRITE, READ} <= set(client["AllowedOAuthScopes"])
    assert ADMIN not in client["AllowedOAuthScopes"]  # an admin's client is granted it on purpose


def test_jwt_mode_reads_before_an_issuer_is_given() -> None:
    # cloudqueue dev checks the template before its local issuer exists; AWS's Rules refuse it
    read = load_template(ROOT / "template.yaml", {"AuthMode": "jwt"})
    assert {route.jwt.issuer for route in read.routes if route.jwt} == {""}
    assert directives(read.page_headers["Content-Security-Policy"])["form-action"] == ["'self'"]
    rules = read_template(ROOT / "template.yaml")["Rules"]["JwtNeedsAnIssuerAndAnAudience"]
    assert len(rules["Assertions"]) == 2
