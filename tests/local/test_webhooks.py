"""Webhooks on the local stack: a job submitted with a callbackUrl on 127.0.0.1 is POSTed to a
receiver that verifies the signature with ``standardwebhooks`` and the stack's own secret, and
GET /jobs/{id} shows the delivery; a refused URL is a 422."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from cloudqueue.callbacks import whsec_form
from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_end_to_end import finished, wait_for


class Receiver:
    def __init__(self, secret: str) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                payload = Webhook(secret).verify(body, headers)
                receiver.received.append({"id": headers["webhook-id"], "payload": payload})
                self.send_response(receiver.answers.pop(0) if receiver.answers else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver(local_stack: LocalStack) -> Iterator[Receiver]:
    receiver = Receiver(whsec_form(local_stack.secrets["WebhookSecret"]))
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_finished_job_is_posted_signed_retried_after_a_500_and_recorded(
    local_stack: LocalStack, api: httpx.Client, receiver: Receiver
) -> None:
    # Given a receiver that answers 500 once, then 204
    receiver.answers = [500]

    # When a job with that callbackUrl runs to the end
    response = api.post(
        "/jobs", json={"type": "text.transform", "payload": {"text": "hook"}, "callbackUrl": receiver.url}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    assert finished(api, job_id)["status"] == "SUCCEEDED"

    # Then the receiver verifies two POSTs with one webhook-id, the job's final state in each
    def delivered() -> Any:
        job = api.get(f"/jobs/{job_id}").json()
        return job if [d["outcome"] for d in job["deliveries"]] == ["RETRYING", "DELIVERED"] else None

    job = wait_for(delivered, timeout=60)
    assert len(receiver.received) == 2
    assert {post["id"] for post in receiver.received} == {f"msg_{job_id}_1"}
    assert receiver.received[-1]["payload"]["data"]["status"] == "SUCCEEDED"
    assert receiver.received[-1]["payload"]["type"] == "job.succeeded"
    assert [d["statusCode"] for d in job["deliveries"]] == [500, 204]
    assert job["deliveryAttempts"] == 2


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://[::1]:8080/", "http://10.0.0.1/"])
def test_a_callback_to_an_address_that_is_not_public_is_refused_at_submit(
    api: httpx.Client, url: str
) -> None:
    response = api.post(
        "/jobs", json={"type": "text.transform", "payload": {"text": "x"}, "callbackUrl": url}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "callback_url_refused"


def test_webhook_secret_prints_the_secret_the_stack_signs_with(local_stack: LocalStack) -> None:
    from typer.testing import CliRunner

    from cloudqueue_local.cli.app import app

    result = CliRunner().invoke(app, ["webhook-secret", "--aws-url", local_stack.aws_url])
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("whsec_")
    assert printed == whsec_form(local_stack.secrets["WebhookSecret"])


def test_a_400_is_not_retried_and_the_delivery_is_listed_by_dlq_list_as_a_webhook(
    local_stack: LocalStack, api: httpx.Client, receiver: Receiver
) -> None:
    import json

    from tests.local.test_cli import cloudqueue

    # Given a receiver that refuses with a 400
    receiver.answers = [400]

    # When a job is submitted with `cloudqueue submit --callback-url` and runs to the end
    submitted = cloudqueue(
        local_stack,
        "submit",
        "text.transform",
        '{"text": "refused"}',
        "--callback-url",
        receiver.url,
        "--json",
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["jobId"]
    assert finished(api, job_id)["status"] == "SUCCEEDED"

    # Then one attempt is made and recorded FAILED, never retried
    def failed() -> Any:
        job = api.get(f"/jobs/{job_id}").json()
        return job if job["deliveries"] else None

    job = wait_for(failed, timeout=60)
    assert [(d["statusCode"], d["outcome"]) for d in job["deliveries"]] == [(400, "FAILED")]
    assert len(receiver.received) == 1

    # And `cloudqueue dlq list` shows the given-up delivery in the webhook queue, with why
    listed = cloudqueue(local_stack, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [row for row in json.loads(listed.stdout) if job_id in row["firstBytes"]]
    assert [(row["queue"], row["reason"]) for row in rows] == [("webhook", "HTTP 400")]


def test_each_job_of_a_recurring_schedule_with_a_callback_is_posted_when_it_ends(
    local_stack: LocalStack, api: httpx.Client, receiver: Receiver
) -> None:
    # Given a recurring schedule whose job has a callback URL and a concurrency key
    job = {
        "type": "text.transform",
        "payload": {"text": "nightly report"},
        "concurrencyKey": "reports",
        "callbackUrl": receiver.url,
    }
    made = api.post("/schedules", json={"name": "hooked", "expression": "cron(0 3 * * ? *)", "job": job})
    assert made.status_code == 201, made.text
    assert made.json()["job"] == job
    assert local_stack.scheduler is not None
    (schedule,) = [each for each in local_stack.scheduler.schedules() if each["Name"].endswith("-hooked")]

    try:
        # When it fires
        fired = local_stack.scheduler.fire(schedule, datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
        job_id = json.loads(fired.payload)["jobId"]

        # Then its job is keyed, marked with the schedule, and its end is POSTed, signed
        done = finished(api, job_id)
        assert (done["status"], done["schedule"], done["concurrencyKey"]) == (
            "SUCCEEDED",
            "hooked",
            "reports",
        )
        wait_for(lambda: [post for post in receiver.received if post["id"] == f"msg_{job_id}_1"], timeout=30)
        (post,) = [post for post in receiver.received if post["id"] == f"msg_{job_id}_1"]
        assert post["payload"]["data"]["jobId"] == job_id
        assert post["payload"]["type"] == "job.succeeded"
    finally:
        assert api.delete("/schedules/hooked").status_code == 200
