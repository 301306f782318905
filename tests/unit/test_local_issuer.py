"""The local OIDC issuer: discovery and keys, the authorization code flow with PKCE as the page
uses it, the dev token endpoint, and its key kept across a restart."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from cloudqueue_local.emulator.oidc import KEY_FILE, LOCAL_CLIENT_ID, LocalIssuer

REDIRECT = "http://127.0.0.1:3000/"


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer("127.0.0.1", 0)
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def http(issuer: LocalIssuer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=issuer.url, timeout=10) as client:
        yield client


def verify(issuer: LocalIssuer, token: str) -> dict[str, object]:
    jwks = httpx.get(f"{issuer.url}/.well-known/jwks.json").json()
    (key,) = jwks["keys"]
    public = jwt.PyJWK(key).key
    return dict(
        jwt.decode(token, public, algorithms=["RS256"], issuer=issuer.url, options={"verify_aud": False})
    )


def test_discovery_names_the_endpoints_and_the_keys_verify_its_tokens(
    issuer: LocalIssuer, http: httpx.Client
) -> None:
    discovery = http.get("/.well-known/openid-configuration")
    assert discovery.status_code == 200
    assert discovery.headers["access-control-allow-origin"] == "*"  # the page reads it cross-origin
    document = discovery.json()
    assert document["issuer"] == issuer.url
    assert document["authorization_endpoint"] == f"{issuer.url}/authorize"
    assert document["token_endpoint"] == f"{issuer.url}/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    keys = http.get(document["jwks_uri"]).json()["keys"]
    assert [(key["kty"], key["alg"], key["kid"]) for key in keys] == [("RSA", "RS256", issuer.key.kid)]
    assert "d" not in keys[0]  # the public half only
    assert verify(issuer, issuer.mint("alice"))["sub"] == "alice"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in(http: httpx.Client, challenge: str, sub: str = "alice", scopes: list[str] | None = None) -> str:
    flow = {
        "client_id": LOCAL_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    form = http.get("/authorize", params=flow | {"response_type": "code", "scope": "cloudqueue/jobs.read"})
    assert form.status_code == 200
    assert 'name="sub"' in form.text and "cloudqueue/jobs.read" in form.text
    answer = http.post(
        "/authorize",
        data=flow | {"sub": sub, "scope": scopes if scopes is not None else ["cloudqueue/jobs.read"]},
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def exchange(http: httpx.Client, code: str, verifier: str) -> httpx.Response:
    return http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": LOCAL_CLIENT_ID,
            "code_verifier": verifier,
        },
    )


def test_the_code_flow_with_pkce_gives_a_token_for_the_name_and_scopes_signed_in(
    issuer: LocalIssuer, http: httpx.Client
) -> None:
    verifier, challenge = pkce()
    code = sign_in(http, challenge, "carol", ["cloudqueue/jobs.read", "cloudqueue/jobs.write"])

    answer = exchange(http, code, verifier)

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    claims = verify(issuer, body["access_token"])
    assert (claims["sub"], claims["client_id"], claims["scope"]) == (
        "carol",
        LOCAL_CLIENT_ID,
        "cloudqueue/jobs.read cloudqueue/jobs.write",
    )
    # And a code serves once
    assert exchange(http, code, verifier).json() == {"error": "invalid_grant"}


def test_a_wrong_verifier_gets_no_token_and_spends_the_code(http: httpx.Client) -> None:
    verifier, challenge = pkce()
    code = sign_in(http, challenge)
    assert exchange(http, code, verifier + "x").status_code == 400
    assert exchange(http, code, verifier).status_code == 400


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "someone-else"},
        {"redirect_uri": "https://evil.example/"},
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
    ],
)
def test_an_authorization_request_that_breaks_the_rules_is_400(
    http: httpx.Client, change: dict[str, str]
) -> None:
    flow = {
        "response_type": "code",
        "client_id": LOCAL_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    assert http.get("/authorize", params=flow | change).status_code == 400
    assert http.post("/authorize", data=flow | change | {"sub": "alice"}).status_code == 400


def test_a_name_that_cannot_be_a_subject_is_400(http: httpx.Client) -> None:
    flow = {
        "client_id": LOCAL_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    assert http.post("/authorize", data=flow | {"sub": "<script>"}).status_code == 400
    assert http.post("/authorize", data=flow | {"sub": ""}).status_code == 400


def test_the_dev_token_endpoint_signs_what_it_is_asked(issuer: LocalIssuer, http: httpx.Client) -> None:
    asked = {"sub": "dave", "scopes": ["cloudqueue/admin"], "ttl": 60, "audience": "a", "issuer": "https://i"}
    token = http.post("/dev/token", json=asked).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["scope"], claims["aud"], claims["iss"]) == (
        "dave",
        "cloudqueue/admin",
        "a",
        "https://i",
    )
    assert claims["exp"] - claims["iat"] == 60
    assert http.post("/dev/token", json={"sub": "dave", "ttl": 0}).status_code == 400
    assert http.post("/dev/token", json={"scopes": []}).status_code == 400
    assert http.post("/dev/token", content=b"not json").status_code == 400


def test_the_key_persists_in_its_file_across_a_restart(tmp_path: Path) -> None:
    # Given an issuer that made its key in a directory, and a token it signed
    first = LocalIssuer("127.0.0.1", 0, key_file=tmp_path / KEY_FILE)
    token = first.mint("alice")
    first.stop()
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0  # the owner's only

    # When another issuer starts on the same directory
    second = LocalIssuer("127.0.0.1", 0, key_file=tmp_path / KEY_FILE)
    second.start()
    try:
        # Then it has the same key, and the first one's token verifies with its keys
        assert second.key.kid == first.key.kid
        jwks = httpx.get(f"{second.url}/.well-known/jwks.json").json()
        public = jwt.PyJWK(jwks["keys"][0]).key
        assert (
            jwt.decode(token, public, algorithms=["RS256"], options={"verify_aud": False})["sub"] == "alice"
        )
    finally:
        second.stop()
    # And without a directory each issuer has a key of its own
    assert LocalIssuer("127.0.0.1", 0).key.kid != LocalIssuer("127.0.0.1", 0).key.kid
