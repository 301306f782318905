"""How the API client proves who it is, one ``httpx.Auth`` per ``AuthMode``:

- jwt: ``BearerToken`` sends ``Authorization: Bearer <token>`` (``--token``, ``CLOUDQUEUE_TOKEN``);
- iam: ``SigV4`` signs each request for ``execute-api`` with botocore's signer and the usual
  AWS credential chain (environment, profile, SSO, instance role...);
- none: no auth at all.
"""

from __future__ import annotations

import re
from collections.abc import Generator

import boto3
import httpx
from botocore.auth import SigV4Auth as BotocoreSigV4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudqueue_local.template import REGION

# https://{api-id}.execute-api.{region}.amazonaws.com: the region an API's URL names.
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# What is signed: headers no proxy or HTTP library rewrites on the way (not Connection,
# Accept-Encoding or User-Agent), so the gateway sees them as signed.
_SIGNED_HEADERS = ("host", "content-type", "idempotency-key")


class AuthError(Exception):
    """Said to the user in one line: the client has nothing to sign or authenticate with."""


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request (a JWT from the API's issuer)."""

    def __init__(self, token: str) -> None:
        self.token = token.strip()
        if not self.token:
            raise AuthError("the token is empty")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def region_of(url: str, default: str | None = None) -> str:
    """The region to sign for: the one an API URL names (``*.execute-api.<region>.amazonaws.com``),
    else ``default``; the local stack's for a loopback URL (it is always in that region),
    else the AWS configuration's."""
    host = httpx.URL(url).host
    found = _EXECUTE_API_HOST.search(host)
    if found:
        return found.group(1)
    if default:
        return default
    if host in _LOOPBACK:
        return REGION
    return boto3.Session().region_name or REGION


class SigV4(httpx.Auth):
    """Signs each request (AWS Signature Version 4) for the ``execute-api`` service."""

    requires_request_body = True  # the body's hash is part of the signature

    def __init__(self, credentials: Credentials, region: str, service: str = "execute-api") -> None:
        self.signer = BotocoreSigV4(credentials, service, region)

    @classmethod
    def from_environment(cls, url: str, region: str | None = None) -> SigV4:
        """Credentials from the usual AWS chain; the region from the URL or the configuration."""
        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise AuthError(
                "no AWS credentials to sign with: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "(the local stack prints its own) or configure a profile"
            )
        return cls(credentials.get_frozen_credentials(), region_of(url, region))  # type: ignore[arg-type]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = {name: value for name, value in request.headers.items() if name.lower() in _SIGNED_HEADERS}
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        self.signer.add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = str(signed.headers[name])
        yield request


def api_auth(url: str, *, token: str | None = None, sigv4: bool = False) -> httpx.Auth | None:
    """The auth the client uses against ``url``: a bearer token, SigV4, or none."""
    if token and sigv4:
        raise AuthError("use a token (jwt) or SigV4 (iam), not both")
    if token:
        return BearerToken(token)
    if sigv4:
        return SigV4.from_environment(url)
    return None
