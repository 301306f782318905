"""Batch submit on the local stack: a hundred jobs in one request, each run once, through the
gateway, the API function, SQS, the Pipe and the state machine; replays start nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx

from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_cli import cli_environment
from tests.local.test_end_to_end import finished


def text_job(n: int, key: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "text.transform", "payload": {"text": f"batch job {n}"}}
    if key is not None:
        item["idempotencyKey"] = key
    return item


def test_a_hundred_jobs_in_one_request_each_run_once(api: httpx.Client) -> None:
    response = api.post("/jobs/batch", json={"jobs": [text_job(n) for n in range(100)]})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201] * 100
    ids = [result["jobId"] for result in results]
    assert len(set(ids)) == 100
    for n, job_id in enumerate(ids):
        done = finished(api, job_id, timeout=120)
        assert done["status"] == "SUCCEEDED", done
        assert done["result"]["uppercase"] == f"BATCH JOB {n}"
        assert done["attempts"] == 1 and len(done["executions"]) == 1, done


def test_a_hundred_and_one_jobs_are_refused_and_nothing_is_queued(api: httpx.Client) -> None:
    before = api.get("/jobs", params={"status": "QUEUED", "limit": 100}).json()["jobs"]

    response = api.post("/jobs/batch", json={"jobs": [text_job(n) for n in range(101)]})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_batch"
    after = api.get("/jobs", params={"status": "QUEUED", "limit": 100}).json()["jobs"]
    assert {job["jobId"] for job in after} <= {job["jobId"] for job in before}


def test_a_replayed_batch_answers_the_same_jobs_and_runs_nothing_again(api: httpx.Client) -> None:
    items = [text_job(n, key=f"replay-{n}") for n in range(5)] + [{"type": "nope", "payload": {}}]

    first = api.post("/jobs/batch", json={"jobs": items}).json()["results"]
    for result in first[:5]:
        assert finished(api, result["jobId"])["status"] == "SUCCEEDED"
    again = api.post("/jobs/batch", json={"jobs": items}).json()["results"]

    assert [result.get("status") for result in first] == [201] * 5 + [None]
    assert first[5]["error"]["code"] == again[5]["error"]["code"] == "unknown_job_type"
    assert again[:5] == [{"jobId": result["jobId"], "status": 200} for result in first[:5]]
    for result in first[:5]:
        job = api.get(f"/jobs/{result['jobId']}").json()
        assert job["attempts"] == 1 and len(job["executions"]) == 1, job


def test_the_cli_submits_a_json_lines_file_from_stdin(local_stack: LocalStack) -> None:
    lines = [json.dumps(text_job(n)) for n in range(3)] + ['{"type": "text.transform", "payload": {}}']

    done = subprocess.run(
        [sys.executable, "-m", "cloudqueue_local.cli", "submit-batch", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_environment(local_stack),
        check=False,
    )

    assert done.returncode == 1, done.stderr  # one line was refused
    printed = done.stdout.splitlines()
    assert [line.split()[0] for line in printed] == ["1", "2", "3", "4"]
    assert [line.split()[2] for line in printed[:3]] == ["201"] * 3
    assert printed[3].split()[1:3] == ["error", "validation_error:"]
