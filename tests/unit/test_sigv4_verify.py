"""The local AWS_IAM check: a request signed with botocore (as any AWS SDK signs it) by a local
user passes with that user's ARN; a missing, wrong, tampered or stale signature is 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudqueue_local.emulator.authorization import Decision
from cloudqueue_local.emulator.iam_authorizer import LOCAL_USERS, IamAuthorizer

REGION = "us-east-1"
ACCOUNT = "123456789012"
URL = "http://127.0.0.1:3000/jobs?status=QUEUED&limit=5"
ALICE, BOB = LOCAL_USERS


def signed(
    method: str = "POST",
    url: str = URL,
    body: bytes = b'{"type":"demo.echo","payload":{}}',
    *,
    key: str = ALICE.access_key_id,
    secret: str = ALICE.secret_access_key,
    service: str = "execute-api",
    region: str = REGION,
) -> tuple[dict[str, str], bytes]:
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    # What goes on the wire: the HTTP client adds Host, which the signature covers.
    return dict(request.headers.items()) | {"Host": "127.0.0.1:3000"}, body


def decide(
    headers: dict[str, str],
    body: bytes,
    *,
    method: str = "POST",
    url: str = URL,
    now: datetime | None = None,
) -> Decision:
    authorizer = IamAuthorizer(region=REGION, account=ACCOUNT)
    return authorizer.authorize(method=method, url=url, headers=headers, body=body, now=now)


def test_a_request_signed_by_a_local_user_passes_with_its_arn() -> None:
    headers, body = signed()
    decision = decide(headers, body)
    assert decision.status == 200
    assert decision.context is not None
    identity = decision.context["iam"]
    assert identity["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert (identity["accessKey"], identity["accountId"]) == (ALICE.access_key_id, ACCOUNT)


def test_each_user_is_told_apart() -> None:
    headers, body = signed(key=BOB.access_key_id, secret=BOB.secret_access_key)
    decision = decide(headers, body)
    assert decision.context is not None
    assert decision.context["iam"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/bob"


def test_a_request_without_a_signature_is_403() -> None:
    decision = decide({"Content-Type": "application/json"}, b"{}")
    assert (decision.status, decision.message) == (403, "Forbidden")


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-alices-secret"},
        {"key": "AKIAUNKNOWN000000000", "secret": ALICE.secret_access_key},
        {"service": "s3"},
        {"region": "eu-west-1"},
    ],
    ids=["wrong-secret", "unknown-key", "another-service", "another-region"],
)
def test_a_wrong_signature_is_403(signing: dict[str, str]) -> None:
    headers, body = signed(**signing)
    assert decide(headers, body).status == 403


def test_what_was_signed_cannot_be_changed() -> None:
    headers, body = signed()
    assert decide(headers, body + b" ").status == 403  # the body
    assert decide(headers, body, method="DELETE").status == 403  # the method
    assert decide(headers, body, url=URL.replace("QUEUED", "FAILED")).status == 403  # the query
    assert decide(headers, body, url=URL.replace("/jobs", "/admin/jobs")).status == 403  # the path
    assert decide(headers | {"Host": "evil.example"}, body).status == 403  # a signed header
    assert decide(headers | {"X-Amz-Content-SHA256": "0" * 64}, body).status == 403  # a claimed hash


def test_a_signature_older_or_newer_than_15_minutes_is_403() -> None:
    headers, body = signed()
    signed_at = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert decide(headers, body, now=signed_at + timedelta(minutes=14)).status == 200
    assert decide(headers, body, now=signed_at + timedelta(minutes=16)).status == 403
    assert decide(headers, body, now=signed_at - timedelta(minutes=16)).status == 403


def test_a_garbled_authorization_header_is_403() -> None:
    headers, body = signed()
    for garbled in ("AWS4-HMAC-SHA256", "Bearer abc", headers["Authorization"].replace("Signature=", "Sig=")):
        assert decide(headers | {"Authorization": garbled}, body).status == 403
    assert decide(headers | {"X-Amz-Date": "yesterday"}, body).status == 403
