"""The local OpenID Connect issuer (``AuthMode=jwt``): what Cognito provides when deployed.

The rooms: ``keys`` (the RS256 signing key, persisted with ``--state-dir``) and ``issuer``
(discovery, JWKS, the authorization code flow with PKCE, the token endpoints)."""

from __future__ import annotations

from cloudqueue_local.emulator.oidc.issuer import DEFAULT_SCOPES, LOCAL_CLIENT_ID, SCOPES, LocalIssuer
from cloudqueue_local.emulator.oidc.keys import KEY_FILE, SigningKey

__all__ = ["DEFAULT_SCOPES", "KEY_FILE", "LOCAL_CLIENT_ID", "SCOPES", "LocalIssuer", "SigningKey"]
