"""A local OpenID Connect issuer, standing in for Cognito (or any IdP) when ``AuthMode=jwt``.

On its own loopback port, at ``{issuer}``:

- ``GET /.well-known/openid-configuration`` and ``GET /.well-known/jwks.json``: discovery and
  keys, as API Gateway's JWT authorizer (and the page) read them;
- ``GET /authorize``: the authorization code flow with PKCE (S256 only): a small sign-in form
  (a name, which becomes ``sub``, and the scopes to grant); ``POST /authorize`` redirects to
  ``redirect_uri`` (loopback only) with ``code`` and ``state``;
- ``POST /token``: the code and its PKCE verifier exchanged, once, for an access token;
- ``POST /dev/token``: a token for ``cloudqueue token`` (any ``sub`` and scopes, and a chosen
  ``aud`` or ``iss`` to test rejections). Local only: the API's gateway never routes to it.

Access tokens look like Cognito's: ``iss``, ``sub``, ``client_id`` (no ``aud`` unless asked),
``scope``, ``token_use``, ``iat``, ``nbf``, ``exp``, ``jti``, ``username``; RS256, ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from werkzeug.wrappers import Request, Response

from cloudqueue_local.emulator.apigateway import ServerThread
from cloudqueue_local.emulator.oidc.keys import SigningKey

LOCAL_CLIENT_ID = "cloudqueue-local"
SCOPES = ("cloudqueue/jobs.read", "cloudqueue/jobs.write", "cloudqueue/admin")
DEFAULT_SCOPES = ("cloudqueue/jobs.read", "cloudqueue/jobs.write")
TOKEN_SECONDS = 3600
CODE_SECONDS = 300
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

Subject = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@+-]+$")]


class DevTokenRequest(BaseModel):
    """``POST /dev/token``: what ``cloudqueue token`` asks for."""

    model_config = ConfigDict(extra="forbid")

    sub: Subject
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES), max_length=16)
    ttl: int = Field(default=TOKEN_SECONDS, ge=1, le=86400)
    audience: str | None = Field(default=None, max_length=256)
    issuer: str | None = Field(default=None, max_length=256)


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    sub: str
    scopes: tuple[str, ...]
    expires: float


def _json(status: int, body: Any, *, cors: bool = False) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    if cors:  # the page (another origin) reads discovery, keys and the token endpoint
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(SHA-256(verifier)), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK


class LocalIssuer:
    """The issuer's WSGI app and its server thread (bound on construction, so its URL is known)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        key_file: Path | None = None,
        client_id: str = LOCAL_CLIENT_ID,
    ) -> None:
        self.key = SigningKey.load_or_create(key_file)
        self.client_id = client_id
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server = ServerThread(self, host, port)
        self.url = f"http://{host}:{self._server.port}"
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/.well-known/jwks.json"): lambda _request: _json(200, self.key.jwks(), cors=True),
            ("GET", "/authorize"): self.authorize_form,
            ("POST", "/authorize"): self.authorize,
            ("POST", "/token"): self.token,
            ("POST", "/dev/token"): self.dev_token,
        }

    def start(self) -> None:
        """Serve until :meth:`stop`."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()

    # --- tokens ---------------------------------------------------------------------------

    def mint(
        self,
        sub: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        *,
        ttl: int = TOKEN_SECONDS,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> str:
        """An access token for ``sub`` with ``scopes``, valid ``ttl`` seconds from now."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer or self.url,
            "sub": sub,
            "client_id": self.client_id,
            "username": sub,
            "token_use": "access",
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "auth_time": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if audience is not None:
            claims["aud"] = audience
        return self.key.sign(claims)

    # --- the HTTP side --------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "OPTIONS":
            response = Response(status=204)
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET,POST"
            response.headers["Access-Control-Allow-Headers"] = "content-type"
            return response(environ, start_response)
        handler = self._routes.get((request.method, request.path))
        response = handler(request) if handler else _json(404, {"error": "not_found"})
        return response(environ, start_response)

    def discovery(self, _request: Request) -> Response:
        """The OpenID Provider Metadata."""
        return _json(
            200,
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/.well-known/jwks.json",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": list(SCOPES),
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            cors=True,
        )

    def _flow_error(self, values: dict[str, str]) -> str | None:
        """What is wrong with an authorization request's parameters, if anything."""
        if values.get("client_id") != self.client_id:
            return "unknown client_id"
        if not _loopback(values.get("redirect_uri", "")):
            return "redirect_uri must be an http(s) URL on this machine (127.0.0.1 or localhost)"
        if values.get("response_type", "code") != "code":
            return "response_type must be code"
        if values.get("code_challenge_method") != "S256" or not values.get("code_challenge"):
            return "PKCE is required: code_challenge with code_challenge_method=S256"
        return None

    def authorize_form(self, request: Request) -> Response:
        """The sign-in form: a name (``sub``) and the scopes to grant, read and write ticked."""
        values = {name: request.args.get(name, "") for name in _FLOW_FIELDS}
        values["response_type"] = request.args.get("response_type", "")
        error = self._flow_error(values)
        if error:
            return _text(400, error)
        asked = request.args.get("scope", "").split() or list(DEFAULT_SCOPES)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(values[name])}">'
            for name in _FLOW_FIELDS
        )
        boxes = "".join(
            f'<label><input type="checkbox" name="scope" value="{scope}"'
            f"{' checked' if scope in asked else ''}> {scope}</label><br>"
            for scope in SCOPES
        )
        page = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<title>CloudQueue local sign-in</title></head><body>"
            "<h1>CloudQueue local sign-in</h1>"
            "<p>The local stack's issuer: any name signs in. The name becomes your <code>sub</code>.</p>"
            f'<form method="post" action="{self.url}/authorize">{hidden}'
            '<label>Name <input name="sub" required pattern="[A-Za-z0-9._@+\\-]+" maxlength=128 autofocus>'
            f"</label><fieldset><legend>Scopes</legend>{boxes}</fieldset>"
            '<button type="submit">Sign in</button></form></body></html>'
        )
        return Response(page, status=200, content_type="text/html; charset=utf-8")

    def authorize(self, request: Request) -> Response:
        """The form's answer: a one-time code, sent back to ``redirect_uri`` with ``state``."""
        values = {name: request.form.get(name, "") for name in _FLOW_FIELDS}
        error = self._flow_error(values)
        if error:
            return _text(400, error)
        scopes = tuple(scope for scope in request.form.getlist("scope") if scope in SCOPES)
        try:
            sub = DevTokenRequest(sub=request.form.get("sub", "")).sub
        except ValidationError:
            return _text(400, "the name may hold letters, digits and . _ @ + - (at most 128)")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Grant(
                client_id=values["client_id"],
                redirect_uri=values["redirect_uri"],
                challenge=values["code_challenge"],
                sub=sub,
                scopes=scopes,
                expires=time.monotonic() + CODE_SECONDS,
            )
        query = urlencode({"code": code, "state": values["state"]})
        separator = "&" if "?" in values["redirect_uri"] else "?"
        return Response(status=302, headers={"Location": f"{values['redirect_uri']}{separator}{query}"})

    def token(self, request: Request) -> Response:
        """The token endpoint: ``grant_type=authorization_code`` with the PKCE verifier."""
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"}, cors=True)
        with self._lock:  # a code is used once, even by two requests at the same moment
            grant = self._codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        if (
            grant is None
            or grant.expires < time.monotonic()
            or form.get("client_id") != grant.client_id
            or form.get("redirect_uri") != grant.redirect_uri
            or not hmac.compare_digest(pkce_challenge(verifier), grant.challenge)
        ):
            return _json(400, {"error": "invalid_grant"}, cors=True)
        token = self.mint(grant.sub, grant.scopes)
        return _json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": " ".join(grant.scopes),
            },
            cors=True,
        )

    def dev_token(self, request: Request) -> Response:
        """``cloudqueue token``'s endpoint: any subject, scopes, lifetime, audience or issuer."""
        try:
            asked = DevTokenRequest.model_validate_json(request.get_data() or b"{}")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
                for problem in error.errors(include_url=False)
            )
            return _json(400, {"error": "invalid_request", "error_description": problems})
        token = self.mint(
            asked.sub, asked.scopes, ttl=asked.ttl, audience=asked.audience, issuer=asked.issuer
        )
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": asked.ttl})


_FLOW_FIELDS = ("client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method")
