"""How the CLI's API client proves who it is, one ``httpx.Auth`` per ``AuthMode``, from the
Python client (``cloudqueue_client.auth``):

- jwt: ``BearerToken`` sends ``Authorization: Bearer <token>`` (``--token``, ``CLOUDQUEUE_TOKEN``);
- iam: ``SigV4`` signs each request for ``execute-api`` with botocore's signer and the usual
  AWS credential chain (environment, profile, SSO, instance role...);
- none: no auth at all.
"""

from __future__ import annotations

import httpx

from cloudqueue_client import MissingCredentials
from cloudqueue_client.auth import BearerToken, SigV4, region_of


class AuthError(Exception):
    """Said to the user in one line: the client has nothing to sign or authenticate with."""


def api_auth(url: str, *, token: str | None = None, sigv4: bool = False) -> httpx.Auth | None:
    """The auth the client uses against ``url``: a bearer token, SigV4, or none."""
    if token and sigv4:
        raise AuthError("use a token (jwt) or SigV4 (iam), not both")
    try:
        if token:
            return BearerToken(token)
        if sigv4:
            return SigV4.from_environment(url)
    except (ValueError, MissingCredentials) as error:
        raise AuthError(str(error)) from None
    return None


__all__ = ["AuthError", "BearerToken", "SigV4", "api_auth", "region_of"]
