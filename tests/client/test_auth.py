"""How the client proves who it is: a bearer token (AuthMode jwt) or SigV4 (AuthMode iam)."""

from __future__ import annotations

import httpx
import pytest
from botocore.credentials import Credentials

from cloudqueue_client import Client, SigV4
from cloudqueue_client.auth import region_of


def sent_by(client: Client, seen: list[httpx.Request]) -> httpx.Request:
    client.submit("text.transform", {"text": "signed"}, idempotency_key="k-1")
    return seen[-1]


def recording(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            202,
            json={
                "jobId": "j",
                "type": "t",
                "payload": {},
                "status": "QUEUED",
                "attempts": 0,
                "createdAt": "2026-12-06T12:00:00.000Z",
                "updatedAt": "2026-12-06T12:00:00.000Z",
            },
        )

    return httpx.MockTransport(answer)


def test_a_token_is_sent_as_a_bearer_authorization() -> None:
    seen: list[httpx.Request] = []

    with Client("http://api.test", token=" eyJ.token \n", transport=recording(seen)) as client:
        request = sent_by(client, seen)

    assert request.headers["Authorization"] == "Bearer eyJ.token"


def test_no_auth_sends_no_authorization() -> None:
    seen: list[httpx.Request] = []

    with Client("http://api.test", transport=recording(seen)) as client:
        request = sent_by(client, seen)

    assert "Authorization" not in request.headers


def test_a_token_and_sigv4_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Client("http://api.test", token="t", sigv4=True)


def test_sigv4_signs_for_execute_api_in_the_urls_region_including_the_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    url = "https://abc123.execute-api.eu-west-2.amazonaws.com"
    client = Client(url, transport=recording(seen))
    client.http.auth = SigV4(Credentials("AKIDEXAMPLE", "secret"), region_of(url))

    with client:
        request = sent_by(client, seen)

    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-2/execute-api/aws4_request" in authorization
    assert "SignedHeaders=content-type;host;idempotency-key;x-amz-date" in authorization
    assert "X-Amz-Date" in request.headers


def test_sigv4_from_the_environment_reads_the_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    seen: list[httpx.Request] = []

    with Client("http://127.0.0.1:3000", sigv4=True, transport=recording(seen)) as client:
        request = sent_by(client, seen)

    # A loopback URL is the local stack, which always runs in us-east-1.
    assert "Credential=AKIDFROMENV/" in request.headers["Authorization"]
    assert "/us-east-1/execute-api/" in request.headers["Authorization"]
