"""``cloudqueue submit-batch FILE``: JSON array, JSON lines or stdin, 100 items to a request, one
line per item; seen in the requests it sends (an httpx MockTransport in place of the network)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cloudqueue_local.cli import jobs
from cloudqueue_local.cli.app import app
from cloudqueue_local.cli.batch import read_items
from cloudqueue_local.cli.options import CliError
from cloudqueue_local.client.api import Api


def job(n: int) -> dict[str, Any]:
    return {"type": "text.transform", "payload": {"text": f"t{n}"}}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, Any]]]:
    """Each request's items; every item is accepted except one whose text is "bad"."""
    batches: list[list[dict[str, Any]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/jobs/batch")
        items = json.loads(request.content)["jobs"]
        batches.append(items)
        results = [
            {"error": {"code": "validation_error", "message": "payload.text: nope"}}
            if item["payload"].get("text") == "bad"
            else {"jobId": f"id-{item['payload']['text']}", "status": 201}
            for item in items
        ]
        return httpx.Response(200, json={"results": results})

    monkeypatch.setattr(jobs, "Api", partial(Api, transport=httpx.MockTransport(answer)))
    monkeypatch.delenv("CLOUDQUEUE_TOKEN", raising=False)
    return batches


def test_a_json_array_of_250_jobs_goes_in_three_requests_in_order(sent, tmp_path: Path) -> None:
    file = tmp_path / "jobs.json"
    file.write_text(json.dumps([job(n) for n in range(250)]))

    result = CliRunner().invoke(app, ["submit-batch", str(file)])

    assert result.exit_code == 0, result.output
    assert [len(batch) for batch in sent] == [100, 100, 50]
    lines = result.stdout.splitlines()
    assert len(lines) == 250
    assert lines[0].split() == ["1", "id-t0", "201"]
    assert lines[249].split() == ["250", "id-t249", "201"]


def test_json_lines_from_stdin_print_each_items_error_and_exit_1(sent) -> None:
    lines = [json.dumps(job(1)), "", json.dumps({"type": "text.transform", "payload": {"text": "bad"}})]

    result = CliRunner().invoke(app, ["submit-batch", "-"], input="\n".join(lines) + "\n")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["1 id-t1 201", "2 error validation_error: payload.text: nope"]


@pytest.mark.parametrize("text", ["", "[1, 2]", '{"type": "x"}\nnot json', "[{]"])
def test_a_file_that_holds_no_jobs_is_refused_before_any_request(text: str) -> None:
    with pytest.raises(CliError):
        read_items(text)


def test_a_missing_file_is_a_usage_error(sent, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["submit-batch", str(tmp_path / "none.json")])

    assert result.exit_code == 2 and sent == []
