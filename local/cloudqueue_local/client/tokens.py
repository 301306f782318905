"""Tokens from a running local stack's issuer (``AuthMode=jwt``), for ``cloudqueue token``.

The stack's ``/config.json`` names its issuer (``auth.issuer``); the issuer's local-only
``POST {issuer}/dev/token`` signs a token for any subject and scopes, and, to test how a client
takes a rejection, with another audience (``aud``) or issuer (``iss``).
"""

from __future__ import annotations

from typing import Any

import httpx

from cloudqueue_local.client import hints
from cloudqueue_local.client.api import ApiError

DEFAULT_SCOPES = ("cloudqueue/jobs.read", "cloudqueue/jobs.write")


def stack_issuer(client: httpx.Client, url: str) -> str:
    """The issuer of the local stack at ``url`` (its API and page); an ApiError if it has none."""
    try:
        response = client.get(f"{url.rstrip('/')}/config.json")
    except httpx.TransportError:
        raise ApiError(hints.unreachable("the local stack", url), 2) from None
    auth: Any = response.json().get("auth") if response.status_code == 200 else None
    if not isinstance(auth, dict) or auth.get("mode") != "jwt" or not auth.get("issuer"):
        raise ApiError(f"the stack at {url} does not run with AuthMode=jwt (no issuer in its config.json)", 2)
    return str(auth["issuer"])


def mint_token(
    url: str,
    sub: str,
    scopes: list[str] | None = None,
    *,
    ttl: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """An access token from the issuer of the local stack at ``url``."""
    body: dict[str, Any] = {"sub": sub, "scopes": list(scopes or DEFAULT_SCOPES), "ttl": ttl}
    if audience is not None:
        body["audience"] = audience
    if issuer is not None:
        body["issuer"] = issuer
    with httpx.Client(timeout=10) as client:
        local_issuer = stack_issuer(client, url)
        try:
            response = client.post(f"{local_issuer}/dev/token", json=body)
        except httpx.TransportError:
            raise ApiError(hints.unreachable("the local issuer", local_issuer), 2) from None
    if response.status_code != 200:
        raise ApiError(f"the local issuer refused: {response.text.strip()}", 1)
    return str(response.json()["access_token"])
