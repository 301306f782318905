"""The API's authorization in template.yaml (issue 18's contract), read as the local stack reads
it: per AuthMode, each route's authorization type, authorizer and scopes, after the conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudqueue_local.template import JwtAuthorizerSpec, LocalTemplate, RouteSpec, load_template

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
