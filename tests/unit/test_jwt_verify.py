"""The local JWT authorizer decides as API Gateway's does: every 401 case of issue 18, the 403
for a missing scope, and what a valid token passes to the function. The keys come from a local
issuer on a free loopback port, through its discovery document, as on AWS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from cloudqueue_local.emulator.jwt_authorizer import JwtAuthorizer, bearer_token, token_scopes
from cloudqueue_local.emulator.oidc import LOCAL_CLIENT_ID, LocalIssuer, SigningKey
from cloudqueue_local.template import JwtAuthorizerSpec

READ = ("cloudqueue/jobs.read",)


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer("127.0.0.1", 0)
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def authorizer(issuer: LocalIssuer) -> JwtAuthorizer:
    return JwtAuthorizer(JwtAuthorizerSpec(issuer.url, (LOCAL_CLIENT_ID,)))


def claims(issuer: LocalIssuer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": issuer.url,
        "sub": "alice",
        "client_id": LOCAL_CLIENT_ID,
        "scope": "cloudqueue/jobs.read cloudqueue/jobs.write",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    """A token assembled by hand (PyJWT refuses to make the forged ones)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64(signature)}"


def status(authorizer: JwtAuthorizer, token: str | None, scopes: tuple[str, ...] = READ) -> int:
    header = None if token is None else f"Bearer {token}"
    return authorizer.authorize(header, scopes).status


# --- 401: the token is not one API Gateway accepts ------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "Bearer a.b.c"])
def test_a_missing_or_malformed_token_is_401(authorizer: JwtAuthorizer, header: str | None) -> None:
    decision = authorizer.authorize(header, READ)
    assert (decision.status, decision.message, decision.context) == (401, "Unauthorized", None)


def test_alg_none_is_401(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    token = hand_made({"alg": "none", "typ": "JWT", "kid": issuer.key.kid}, claims(issuer))
    assert status(authorizer, token) == 401


def test_hs256_signed_with_the_issuers_public_key_is_401(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    # Given a token whose HMAC key is the issuer's public key (PEM and JWK), which anyone has
    for secret in (issuer.key.public_pem(), json.dumps(issuer.key.public_jwk).encode()):
        token = hand_made(
            {"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid},
            claims(issuer),
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        # Then it is refused
        assert status(authorizer, token) == 401


def test_a_token_signed_by_another_key_is_401_even_naming_the_issuers_kid(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    other = SigningKey.generate()
    claiming_the_issuers_kid = jwt.encode(
        claims(issuer), other.private_key, algorithm="RS256", headers={"kid": issuer.key.kid}
    )
    assert status(authorizer, claiming_the_issuers_kid) == 401
    assert status(authorizer, other.sign(claims(issuer))) == 401  # a kid the issuer does not publish


def test_rs256_without_a_kid_is_401(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    assert status(authorizer, jwt.encode(claims(issuer), issuer.key.private_key, algorithm="RS256")) == 401


@pytest.mark.parametrize(
    "offsets",
    [
        {"exp": -1},  # expired a second ago: no leeway
        {"exp": None},  # no expiry at all
        {"nbf": 60},  # not valid yet
        {"iat": 60},  # issued in the future
    ],
    ids=["expired", "no-exp", "not-yet-valid", "issued-in-the-future"],
)
def test_a_token_outside_its_validity_is_401(
    issuer: LocalIssuer, authorizer: JwtAuthorizer, offsets: dict[str, int | None]
) -> None:
    # Times from now (seconds), taken when the test runs
    now = int(time.time())
    changes = {claim: None if offset is None else now + offset for claim, offset in offsets.items()}
    assert status(authorizer, issuer.key.sign(claims(issuer, **changes))) == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://another.example"},
        {"iss": None},
        {"aud": "another-client"},
        {"aud": ["another-client"], "client_id": LOCAL_CLIENT_ID},  # aud decides when both are there
        {"client_id": "another-client"},
        {"client_id": None},  # neither aud nor client_id
    ],
    ids=["wrong-iss", "no-iss", "wrong-aud", "wrong-aud-right-client-id", "wrong-client-id", "no-audience"],
)
def test_the_wrong_issuer_or_audience_is_401(
    issuer: LocalIssuer, authorizer: JwtAuthorizer, changes: dict[str, Any]
) -> None:
    assert status(authorizer, issuer.key.sign(claims(issuer, **changes))) == 401


# --- 403: a valid token without the route's scope ------------------------------------------------


def test_a_valid_token_without_the_routes_scope_is_403(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    token = issuer.key.sign(claims(issuer, scope="cloudqueue/jobs.read"))
    decision = authorizer.authorize(f"Bearer {token}", ("cloudqueue/admin",))
    assert (decision.status, decision.message) == (403, "Forbidden")
    assert status(authorizer, issuer.key.sign(claims(issuer, scope=None))) == 403


# --- 200: what the function receives ----------------------------------------------------------


def test_a_valid_token_passes_its_claims_as_strings_and_its_scopes(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    body = claims(issuer, aud=["x", LOCAL_CLIENT_ID], client_id=None)
    decision = authorizer.authorize(f"Bearer {issuer.key.sign(body)}", READ)

    assert decision.status == 200
    assert decision.context is not None
    passed = decision.context["jwt"]
    assert passed["scopes"] == ["cloudqueue/jobs.read", "cloudqueue/jobs.write"]
    assert passed["claims"]["sub"] == "alice"
    assert passed["claims"]["exp"] == str(body["exp"])
    assert passed["claims"]["aud"] == f"[x {LOCAL_CLIENT_ID}]"


def test_a_token_without_bearer_and_scp_scopes_are_accepted(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    token = issuer.key.sign(claims(issuer, scope=None, scp=["cloudqueue/jobs.read"]))
    decision = authorizer.authorize(token, READ)
    assert decision.status == 200
    assert decision.context is not None
    assert decision.context["jwt"]["scopes"] == ["cloudqueue/jobs.read"]


def test_a_route_without_scopes_takes_any_valid_token(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    assert status(authorizer, issuer.mint("bob", []), ()) == 200


def test_the_issuers_own_tokens_verify(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    assert status(authorizer, issuer.mint("alice", READ)) == 200
    assert status(authorizer, issuer.mint("alice", READ, audience=LOCAL_CLIENT_ID)) == 200
    assert status(authorizer, issuer.mint("alice", READ, audience="another")) == 401
    assert status(authorizer, issuer.mint("alice", READ, issuer="https://elsewhere.example")) == 401


def test_an_unreachable_issuer_refuses_every_token(issuer: LocalIssuer) -> None:
    unreachable = JwtAuthorizer(JwtAuthorizerSpec("http://127.0.0.1:9", (LOCAL_CLIENT_ID,)))
    assert status(unreachable, issuer.mint("alice", READ)) == 401


def test_bearer_and_scopes_parsing() -> None:
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("abc") == "abc"
    assert bearer_token("Bearer   ") is None
    assert token_scopes({"scope": "a b"}) == ["a", "b"]
    assert token_scopes({"scp": "a b"}) == ["a", "b"]
    assert token_scopes({}) == []
