"""How a client proves who it is, one ``httpx.Auth`` per ``AuthMode`` of the stack:

- jwt: :class:`BearerToken` sends ``Authorization: Bearer <token>``;
- iam: :class:`SigV4` signs each request for ``execute-api`` with botocore's signer and the
  usual AWS credential chain (environment, profile, SSO, instance role...); it needs the
  ``sigv4`` extra (``pip install 'cloudqueue-client[sigv4]'``);
- none: no auth at all.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import httpx

from cloudqueue_client.errors import MissingCredentials

# https://{api-id}.execute-api.{region}.amazonaws.com: the region an API's URL names.
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# The local stack (`cloudqueue dev`) always runs in this region.
LOCAL_REGION = "us-east-1"
# What is signed: headers no proxy or HTTP library rewrites on the way (not Connection,
# Accept-Encoding or User-Agent), so that the gateway sees them as they were signed.
_SIGNED_HEADERS = ("host", "content-type", "idempotency-key")


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request (a JWT from the API's issuer)."""

    def __init__(self, token: str) -> None:
        self.token = token.strip()
        if not self.token:
            raise ValueError("the token is empty")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def region_of(url: str, default: str | None = None) -> str:
    """The region to sign for: the one an API URL names (``*.execute-api.<region>.amazonaws.com``),
    else ``default``; the local stack's for a loopback URL, else botocore's configured region."""
    host = httpx.URL(url).host
    found = _EXECUTE_API_HOST.search(host)
    if found:
        return found.group(1)
    if default:
        return default
    if host in _LOOPBACK:
        return LOCAL_REGION
    import botocore.session

    return str(botocore.session.get_session().get_config_variable("region") or LOCAL_REGION)


class SigV4(httpx.Auth):
    """Signs each request (AWS Signature Version 4) for the ``execute-api`` service."""

    requires_request_body = True  # the body's hash is part of the signature

    def __init__(self, credentials: Any, region: str, service: str = "execute-api") -> None:
        from botocore.auth import SigV4Auth

        self.signer = SigV4Auth(credentials, service, region)

    @classmethod
    def from_environment(cls, url: str, region: str | None = None) -> SigV4:
        """Credentials from the usual AWS chain; the region from the URL or the configuration."""
        try:
            import botocore.session
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("SigV4 needs botocore: pip install 'cloudqueue-client[sigv4]'") from None
        credentials = botocore.session.get_session().get_credentials()
        if credentials is None:
            raise MissingCredentials(
                "no AWS credentials to sign with: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "or configure a profile"
            )
        return cls(credentials.get_frozen_credentials(), region_of(url, region))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.awsrequest import AWSRequest

        headers = {name: value for name, value in request.headers.items() if name.lower() in _SIGNED_HEADERS}
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        self.signer.add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = str(signed.headers[name])
        yield request


def auth_for(url: str, *, token: str | None, sigv4: bool, region: str | None = None) -> httpx.Auth | None:
    """The auth a client uses against ``url``: a bearer token, SigV4, or none."""
    if token and sigv4:
        raise ValueError("use a token (AuthMode jwt) or SigV4 (AuthMode iam), not both")
    if token:
        return BearerToken(token)
    if sigv4:
        return SigV4.from_environment(url, region)
    return None
