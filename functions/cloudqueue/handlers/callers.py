"""The caller of an HTTP API request, from what API Gateway put in its payload-2.0 event.

- jwt authorizer: ``requestContext.authorizer.jwt.claims.sub`` is the owner;
- IAM (SigV4): ``requestContext.authorizer.iam.userArn`` is the owner;
- no authorizer (``AuthMode=none``): every caller is ``anonymous``.

Admin-ness comes from the route API Gateway matched (``routeKey`` ``GET /admin/jobs``), never
from the path the client sent: a route the gateway did not match as an admin route gives none.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from cloudqueue.callers import ANONYMOUS, Caller
from cloudqueue.errors import ApiError

ADMIN_PREFIX = "/admin/"


class NoOwner(ApiError):
    """The gateway authorized the request but named no one it could be owned by."""

    status = HTTPStatus.FORBIDDEN
    code = "no_owner"


def is_admin_route(route_key: str | None) -> bool:
    """True for ``METHOD /admin/...`` route keys."""
    path = (route_key or "").partition(" ")[2]
    return path.startswith(ADMIN_PREFIX)


def caller_of(event: APIGatewayProxyEventV2) -> Caller:
    """The caller of ``event``; ``NoOwner`` (403) when an authorizer ran but names nobody."""
    admin = is_admin_route(event.request_context.route_key)
    raw: dict[str, Any] = event.request_context.get("authorizer") or {}
    authorizer = event.request_context.authorizer
    if raw.get("jwt") is not None:
        subject = authorizer.jwt_claim.get("sub")
        if not isinstance(subject, str) or not subject:
            raise NoOwner("the token has no subject (sub) to own jobs")
        return Caller(owner=subject, admin=admin)
    if raw.get("iam") is not None:
        arn = authorizer.iam.user_arn
        if not arn:
            raise NoOwner("the signed request names no IAM caller (userArn)")
        return Caller(owner=arn, admin=admin)
    if raw:
        # An authorizer this API does not configure (a Lambda authorizer): refuse rather than
        # let its callers share the anonymous owner's jobs.
        raise NoOwner("the request's authorizer names no owner this API knows")
    return Caller(owner=ANONYMOUS, admin=admin)
