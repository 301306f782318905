"""``cloudqueue dev`` in each AuthMode, as a user runs it: what it prints, ``cloudqueue token``,
the real API function behind the gateway's checks, and the issuer's key kept by --state-dir."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization

from cloudqueue_local.emulator.oidc import KEY_FILE, LOCAL_CLIENT_ID, SigningKey
from tests.local.test_state_dir import ROOT, Dev

pytestmark = pytest.mark.timeout(600)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def token(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudqueue_local.cli", "token", "--url", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def minted(url: str, *args: str) -> str:
    done = token(url, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def status(api: httpx.Client, method: str, path: str, bearer: str | None = None, **kwargs: object) -> int:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return api.request(method, path, headers=headers, **kwargs).status_code  # type: ignore[arg-type]


def key_from(state_dir: Path) -> SigningKey:
    loaded = serialization.load_pem_private_key((state_dir / KEY_FILE).read_bytes(), password=None)
    return SigningKey(loaded)  # type: ignore[arg-type]


def test_jwt_mode_end_to_end_with_cloudqueue_token_and_a_key_kept_across_a_restart(tmp_path: Path) -> None:
    issuer_port = free_port()
    args = ("--param=AuthMode=jwt", "--issuer-port", str(issuer_port), "--state-dir", str(tmp_path))
    dev = Dev(*args)
    try:
        url = dev.api_url()
        # Given what cloudqueue dev prints: the issuer, and how to get a token
        issuer = f"http://127.0.0.1:{issuer_port}"
        assert dev.line_starting("  AUTH jwt").endswith(f"issuer {issuer}")
        assert f"cloudqueue token --url {url} --sub alice" in dev.output
        config = httpx.get(f"{url}/config.json").json()
        assert config["auth"] == {
            "mode": "jwt",
            "issuer": issuer,
            "clientId": LOCAL_CLIENT_ID,
            "scopes": ["cloudqueue/jobs.read", "cloudqueue/jobs.write"],
        }
        assert httpx.get(f"{issuer}/.well-known/openid-configuration").json()["issuer"] == issuer

        alice = minted(url, "--sub", "alice")
        with httpx.Client(base_url=url, timeout=30) as api:
            # Then a token from `cloudqueue token` reaches the function, and each bad one is refused
            submitted = api.post(
                "/jobs",
                json={"type": "text.transform", "payload": {"text": "hi"}},
                headers={"Authorization": f"Bearer {alice}"},
            )
            assert submitted.status_code == 202, submitted.text
            assert status(api, "GET", "/jobs", alice) == 200
            assert status(api, "GET", "/jobs") == 401
            assert (
                status(api, "GET", "/jobs", minted(url, "--sub", "alice", "--audience", "someone-else"))
                == 401
            )
            assert (
                status(api, "GET", "/jobs", minted(url, "--sub", "alice", "--issuer", "https://elsewhere"))
                == 401
            )
            reader = minted(url, "--sub", "alice", "--scope", "cloudqueue/jobs.read")
            assert (
                status(
                    api, "POST", "/jobs", reader, json={"type": "text.transform", "payload": {"text": "hi"}}
                )
                == 403
            )
            now = int(time.time())
            expired = key_from(tmp_path).sign(
                {
                    "iss": issuer,
                    "sub": "alice",
                    "client_id": LOCAL_CLIENT_ID,
                    "scope": "cloudqueue/jobs.read",
                    "iat": now - 120,
                    "exp": now - 60,
                }
            )
            assert status(api, "GET", "/jobs", expired) == 401
            assert status(api, "GET", "/job-types") == 200
    finally:
        assert dev.stop() == 0, dev.output[-3000:]

    # When the stack starts again on the same directory
    again = Dev(*args)
    try:
        url = again.api_url()
        # Then the token signed before the restart still verifies: the key was kept
        with httpx.Client(base_url=url, timeout=30) as api:
            assert status(api, "GET", "/jobs", alice) == 200
    finally:
        again.stop()


def test_cloudqueue_token_says_when_the_stack_runs_without_jwt(local_stack: object) -> None:
    url = local_stack.api_url  # type: ignore[attr-defined]
    done = token(url, "--sub", "alice")
    assert done.returncode == 2
    assert "AuthMode=jwt" in done.stderr


def signed_request(method: str, url: str, key: str, secret: str, body: bytes = b"") -> httpx.Request:
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(request)
    return httpx.Request(method, url, headers=dict(request.headers.items()), content=body)


def test_iam_mode_end_to_end_with_the_printed_credentials() -> None:
    dev = Dev("--param=AuthMode=iam")
    try:
        url = dev.api_url()
        # Given the credentials cloudqueue dev prints
        printed = re.findall(
            r"(\w+): AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) \((\S+)\)", dev.output
        )
        assert [name for name, *_ in printed] == ["alice", "bob"]
        _, key, secret, arn = printed[0]
        assert arn == "arn:aws:iam::123456789012:user/alice"
        with httpx.Client(timeout=30) as client:
            body = b'{"type":"text.transform","payload":{"text":"hi"}}'
            # Then a request they sign reaches the function; an unsigned or wrongly signed one does not
            submitted = client.send(signed_request("POST", f"{url}/jobs", key, secret, body))
            assert submitted.status_code == 202, submitted.text
            assert client.send(signed_request("GET", f"{url}/jobs?limit=5", key, secret)).status_code == 200
            unsigned = client.get(f"{url}/jobs")
            assert (unsigned.status_code, unsigned.json()) == (403, {"message": "Forbidden"})
            wrong = client.send(signed_request("GET", f"{url}/jobs", key, secret + "x"))
            assert wrong.status_code == 403
    finally:
        dev.stop()
