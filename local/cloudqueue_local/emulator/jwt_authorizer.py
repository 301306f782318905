"""API Gateway HTTP API's JWT authorizer, locally: the checks it makes before the function runs.

As API Gateway does (docs: "Control access to HTTP APIs with JWT authorizers"): the token is
read from the identity source (with or without ``Bearer``); its signature is checked with the
issuer's key named by ``kid``, from the JWKS its discovery document names (cached, as API
Gateway caches it); then ``iss``, ``aud`` (or ``client_id`` when the token has no ``aud``),
``exp``, ``nbf`` and ``iat``, with no leeway; then the route's scopes (``scope`` or ``scp``).
Any failure of the token answers 401 ``{"message":"Unauthorized"}``; a valid token without one
of the route's scopes answers 403 ``{"message":"Forbidden"}``.

Only RS256 is accepted: ``alg: none`` and HS256 (which a naive verifier would check with the
public key as an HMAC secret) are refused before any key is looked at.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import jwt

from cloudqueue_local.emulator.authorization import FORBIDDEN, UNAUTHORIZED, Decision
from cloudqueue_local.template import JwtAuthorizerSpec

ALGORITHMS = ("RS256",)
# How long fetched keys are used before the discovery document and JWKS are read again.
JWKS_CACHE_SECONDS = 7200.0
_FETCH_TIMEOUT_SECONDS = 5.0


def _fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - the issuer's URL
        document: dict[str, Any] = json.load(response)
    return document


def bearer_token(value: str | None) -> str | None:
    """The token in an identity source's value: the value itself, or what follows ``Bearer``."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else value.strip()
    return token or None


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """The token's scopes: ``scope`` (space-separated, OAuth) or ``scp`` (a list or a string)."""
    raw = claims.get("scope", claims.get("scp"))
    if isinstance(raw, str):
        return raw.split()
    if isinstance(raw, list):
        return [str(scope) for scope in raw]
    return []


def _claim_text(value: Any) -> str:
    """A claim as API Gateway passes it to the function: a string; a list as ``[a b]``."""
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class JwtAuthorizer:
    """One JWT authorizer of the template, with its issuer's keys cached."""

    def __init__(self, spec: JwtAuthorizerSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._client: jwt.PyJWKClient | None = None
        self._fetched_at = 0.0

    def _keys(self) -> jwt.PyJWKClient:
        """The JWKS client, from the discovery document (read again after the cache time)."""
        with self._lock:
            if self._client is None or time.monotonic() - self._fetched_at > JWKS_CACHE_SECONDS:
                discovery = _fetch_json(self.spec.issuer.rstrip("/") + "/.well-known/openid-configuration")
                self._client = jwt.PyJWKClient(str(discovery["jwks_uri"]), cache_keys=True)
                self._fetched_at = time.monotonic()
            return self._client

    def authorize(self, identity: str | None, route_scopes: tuple[str, ...]) -> Decision:
        """API Gateway's decision for a request whose identity source holds ``identity``."""
        token = bearer_token(identity)
        claims = self.verified_claims(token) if token is not None else None
        if claims is None:
            return UNAUTHORIZED
        scopes = token_scopes(claims)
        if route_scopes and not set(route_scopes) & set(scopes):
            return FORBIDDEN
        context = {
            "jwt": {
                "claims": {name: _claim_text(value) for name, value in claims.items()},
                "scopes": scopes or None,
            }
        }
        return Decision(200, context)

    def verified_claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims if its signature, issuer, audience and times hold; else None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        # Decided on the header, before any key: alg none and HS256-with-the-public-key never
        # reach a verifier that might accept them.
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            return None
        try:
            key = self._keys().get_signing_key(header["kid"])
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self.spec.issuer,
                leeway=0,
                # exp, nbf and iat are checked when present (no leeway); aud below, as AWS does.
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except (jwt.PyJWTError, OSError, KeyError, ValueError):  # OSError: the issuer unreachable
            return None
        return claims if self._audience_matches(claims) else None

    def _audience_matches(self, claims: dict[str, Any]) -> bool:
        """``aud`` names a configured audience; without ``aud``, ``client_id`` does."""
        if "aud" in claims:
            audience = claims["aud"]
            named = audience if isinstance(audience, list) else [audience]
        elif "client_id" in claims:
            named = [claims["client_id"]]
        else:
            return False
        return bool({str(item) for item in named} & set(self.spec.audiences))
