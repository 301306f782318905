"""The API client in each AuthMode: a bearer token, SigV4 signatures a verifier accepts, the
admin routes, and the gateway's 401/403 said with what to do."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudqueue_local.client.api import Api, ApiError
from cloudqueue_local.client.auth import AuthError, BearerToken, SigV4, api_auth, region_of

CREDENTIALS = Credentials("AKIDLOCAL", "local-secret")
# One answer for every route: a job, which is also an empty page.
ANSWER = {
    "jobs": [],
    "jobId": "j-1",
    "type": "text.transform",
    "payload": {},
    "status": "QUEUED",
    "attempts": 0,
    "createdAt": "2026-12-06T12:00:00.000Z",
    "updatedAt": "2026-12-06T12:00:00.000Z",
}


def recording(
    seen: list[httpx.Request], status: int = 200, body: object | None = None
) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(status, json=body if body is not None else ANSWER)

    return httpx.MockTransport(answer)


def signature_is_valid(request: httpx.Request, credentials: Credentials, region: str) -> bool:
    """Verify as the gateway does: recompute the signature over the headers the request says it signed."""
    found = re.match(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
        request.headers["Authorization"],
    )
    assert found, request.headers["Authorization"]
    access_key, _, signed_region, service, signed_headers, signature = found.groups()
    headers = {name: request.headers[name] for name in signed_headers.split(";")}
    aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
    aws.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(credentials, service, region)
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    return (access_key, signed_region, service, signature) == (
        credentials.access_key,
        region,
        "execute-api",
        expected,
    )


def test_a_token_is_sent_as_a_bearer_authorization() -> None:
    seen: list[httpx.Request] = []
    with Api("http://api.test", transport=recording(seen), auth=BearerToken(" eyJ.a.b\n")) as api:
        api.jobs()
    assert seen[0].headers["Authorization"] == "Bearer eyJ.a.b"


def test_sigv4_signs_the_method_path_query_and_body_so_that_a_verifier_accepts_them() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4(CREDENTIALS, "eu-west-1")
    with Api("https://abc.execute-api.eu-west-1.amazonaws.com", transport=recording(seen), auth=auth) as api:
        api.submit("text.transform", {"text": "héllo"}, idempotency_key="k 1")
        api.jobs("failed", limit=5, next_token="a+b/c=")
    assert all(signature_is_valid(request, CREDENTIALS, "eu-west-1") for request in seen)
    assert "idempotency-key" in seen[0].headers["Authorization"]


def test_a_request_changed_after_signing_no_longer_verifies() -> None:
    seen: list[httpx.Request] = []
    with Api("http://127.0.0.1:3000", transport=recording(seen), auth=SigV4(CREDENTIALS, "us-east-1")) as api:
        api.submit("text.transform", {"text": "hi"})
    tampered = httpx.Request(
        "POST", seen[0].url, headers=seen[0].headers, content=json.dumps({"type": "x", "payload": {}})
    )
    assert signature_is_valid(seen[0], CREDENTIALS, "us-east-1")
    assert not signature_is_valid(tampered, CREDENTIALS, "us-east-1")
    assert not signature_is_valid(seen[0], Credentials("AKIDLOCAL", "another-secret"), "us-east-1")


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://a1b2c3.execute-api.ap-southeast-2.amazonaws.com", "ap-southeast-2"),
        ("https://a1b2c3.execute-api.cn-north-1.amazonaws.com.cn/prod", "cn-north-1"),
        ("https://jobs.example.com/v1", "sa-east-1"),  # a custom domain: the configured region
        ("http://127.0.0.1:3000", "us-east-1"),  # the local stack: its region, whatever is configured
    ],
)
def test_the_region_comes_from_the_url_else_the_configuration(url, region, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert region_of(url) == region


def test_sigv4_without_credentials_is_said_in_one_line(monkeypatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AuthError, match="no AWS credentials"):
        api_auth("http://127.0.0.1:3000", sigv4=True)


def test_a_token_and_sigv4_together_are_refused() -> None:
    with pytest.raises(AuthError, match="not both"):
        api_auth("http://127.0.0.1:3000", token="t", sigv4=True)
    assert api_auth("http://127.0.0.1:3000") is None


def test_admin_uses_the_admin_routes_and_passes_the_owner_filter() -> None:
    seen: list[httpx.Request] = []
    with Api("http://api.test", transport=recording(seen), admin=True) as api:
        api.jobs(owner="alice")
        api.job("j-1")
        api.history("j-1")
        api.cancel("j-1")
        api.rerun("j-1")
        api.submit("text.transform", {})
    paths = [(request.method, request.url.path) for request in seen]
    assert paths == [
        ("GET", "/admin/jobs"),
        ("GET", "/admin/jobs/j-1"),
        ("GET", "/admin/jobs/j-1/history"),
        ("DELETE", "/admin/jobs/j-1"),
        ("POST", "/admin/jobs/j-1/rerun"),
        ("POST", "/jobs"),  # a job is always submitted as the caller's own
    ]
    assert seen[0].url.params["owner"] == "alice"


@pytest.mark.parametrize(("status", "hint"), [(401, "--token"), (403, "scope")])
def test_the_gateways_refusals_say_what_to_do(status, hint) -> None:
    message = {401: "Unauthorized", 403: "Forbidden"}[status]
    with (
        Api("http://api.test", transport=recording([], status, {"message": message})) as api,
        pytest.raises(ApiError) as refused,
    ):
        api.jobs()
    assert str(refused.value).startswith(f"{status} {message}: ")
    assert hint in str(refused.value)
