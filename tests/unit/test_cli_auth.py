"""The job commands in each AuthMode: --token / CLOUDQUEUE_TOKEN, --sigv4, and the admin routes,
seen in the requests the CLI sends (an httpx MockTransport in place of the network)."""

from __future__ import annotations

from functools import partial

import httpx
import pytest
from typer.testing import CliRunner

from cloudqueue_local.cli import jobs
from cloudqueue_local.cli.app import app
from cloudqueue_local.client.api import Api

PAGE = {"jobs": [], "nextToken": None}
# What a read of one job answers.
JOB = {
    "jobId": "01900000-0000-7000-8000-000000000001",
    "type": "text.transform",
    "payload": {},
    "status": "QUEUED",
    "attempts": 0,
    "createdAt": "2026-12-06T12:00:00.000Z",
    "updatedAt": "2026-12-06T12:00:00.000Z",
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        listing = request.url.path.rstrip("/") in ("/jobs", "/admin/jobs")
        return httpx.Response(200, json=PAGE if listing else JOB)

    monkeypatch.setattr(jobs, "Api", partial(Api, transport=httpx.MockTransport(answer)))
    for name in ("CLOUDQUEUE_TOKEN", "CLOUDQUEUE_SIGV4", "CLOUDQUEUE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return seen


def run(*args: str, env: dict[str, str] | None = None) -> None:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output


def test_a_token_is_sent_from_the_option_or_the_environment(sent) -> None:
    run("list", "--token", "from-option")
    run("list", env={"CLOUDQUEUE_TOKEN": "from-env"})
    run("list")
    assert [request.headers.get("authorization") for request in sent] == [
        "Bearer from-option",
        "Bearer from-env",
        None,
    ]


def test_sigv4_signs_with_the_credentials_in_the_environment(sent, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALOCALALICE000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-secret-of-alice")
    run("list", "--sigv4")
    assert sent[0].headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIALOCALALICE000000/")
    assert "/us-east-1/execute-api/aws4_request" in sent[0].headers["authorization"]


def test_list_all_and_owner_use_the_admin_listing(sent) -> None:
    run("list", "--all")
    run("list", "--owner", "alice")
    run("status", "01900000-0000-7000-8000-000000000001", "--admin", "--json")
    assert [(request.url.path, dict(request.url.params).get("owner")) for request in sent] == [
        ("/admin/jobs", None),
        ("/admin/jobs", "alice"),
        ("/admin/jobs/01900000-0000-7000-8000-000000000001", None),
    ]


def test_a_token_and_sigv4_together_are_refused_before_any_request(sent) -> None:
    result = CliRunner().invoke(app, ["list", "--token", "t", "--sigv4"])
    assert result.exit_code != 0
    assert sent == []
