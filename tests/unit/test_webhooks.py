"""Webhook delivery against a real receiver on 127.0.0.1 that verifies each signature with the
``standardwebhooks`` library: retries on 500 with the same id, none on 400, no redirect
followed, a re-check of the address at delivery; and the bounded record on the job (moto)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws
from standardwebhooks.webhooks import Webhook

from cloudqueue.adapters.dynamodb.deliveries import DynamoDeliveryLog
from cloudqueue.adapters.webhook_http import HttpWebhookSender
from cloudqueue.callbacks import CallbackPolicy, whsec_form
from cloudqueue.models import MAX_DELIVERIES_KEPT, DeliveryAttempt, JobStatus
from cloudqueue.webhooks import WebhookDelivery, deliver, first_delivery
from tests.fakes import make_job

SECRET = whsec_form("k" * 32)
LOCAL = CallbackPolicy(https_only=True, allow_loopback=True)


def NOW() -> datetime:
    return datetime.now(UTC)


class Receiver:
    """An HTTP server on 127.0.0.1 answering scripted statuses and verifying every signature."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                verified = Webhook(SECRET).verify(body, headers)  # raises on a bad signature
                receiver.received.append({"headers": headers, "payload": verified, "path": self.path})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class Retries:
    def __init__(self) -> None:
        self.retried: list[tuple[WebhookDelivery, int]] = []
        self.dead: list[tuple[WebhookDelivery, str]] = []

    def retry(self, delivery: WebhookDelivery, delay_seconds: int) -> None:
        self.retried.append((delivery, delay_seconds))

    def dead_letter(self, delivery: WebhookDelivery, reason: str) -> None:
        self.dead.append((delivery, reason))


class Log:
    def __init__(self) -> None:
        self.attempts: list[DeliveryAttempt] = []

    def record_delivery(self, job_id: str, attempt: DeliveryAttempt) -> None:
        self.attempts.append(attempt)


def sender(resolved: list[str] | None = None) -> HttpWebhookSender:
    return HttpWebhookSender(
        SECRET, policy=LOCAL, resolve=lambda host, port: resolved or [], timeout_seconds=5
    )


def finished_job(url: str) -> WebhookDelivery:
    job = make_job(status=JobStatus.SUCCEEDED, result={"ok": True}).model_copy(update={"callback_url": url})
    delivery = first_delivery(job, NOW())
    assert delivery is not None
    return delivery


def run_until_done(delivery: WebhookDelivery, retries: Retries, log: Log, post: HttpWebhookSender) -> None:
    now = NOW()
    while True:
        deliver(delivery, sender=post, retries=retries, log=log, now=now)
        if not retries.retried or retries.retried[-1][0].attempt != delivery.attempt + 1:
            return
        delivery, delay = retries.retried[-1]
        now += timedelta(seconds=delay)


def test_a_500_is_retried_with_the_same_id_and_body_until_it_is_received(receiver: Receiver) -> None:
    # Given a receiver that fails twice, then accepts
    receiver.answers = [500, 503, 200]
    retries, log = Retries(), Log()

    # When the job's end is delivered, each retry made as the queue would hand it back
    run_until_done(finished_job(receiver.url), retries, log, sender())

    # Then three signed POSTs arrived, all verified, with one webhook-id and one body
    assert len(receiver.received) == 3
    assert len({post["headers"]["webhook-id"] for post in receiver.received}) == 1
    assert len({json.dumps(post["payload"], sort_keys=True) for post in receiver.received}) == 1
    assert receiver.received[0]["payload"]["data"]["status"] == "SUCCEEDED"
    assert receiver.received[0]["headers"]["webhook-signature"].startswith("v1,")
    # the first retry within 10 s; the record says each attempt
    assert retries.retried[0][1] <= 10
    assert [(a.attempt, a.status_code, a.outcome) for a in log.attempts] == [
        (1, 500, "RETRYING"),
        (2, 503, "RETRYING"),
        (3, 200, "DELIVERED"),
    ]
    assert retries.dead == []


def test_a_400_is_not_retried_and_ends_in_the_dead_letter_queue(receiver: Receiver) -> None:
    receiver.answers = [400]
    retries, log = Retries(), Log()
    deliver(finished_job(receiver.url), sender=sender(), retries=retries, log=log, now=NOW())
    assert len(receiver.received) == 1
    assert retries.retried == []
    assert [reason for _, reason in retries.dead] == ["HTTP 400"]
    assert log.attempts[0].outcome == "FAILED"


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.answers = [307]
    retries, log = Retries(), Log()
    deliver(finished_job(receiver.url), sender=sender(), retries=retries, log=log, now=NOW())
    assert len(receiver.received) == 1
    assert (log.attempts[0].status_code, log.attempts[0].outcome) == (307, "FAILED")


def test_no_connection_is_retried() -> None:
    retries, log = Retries(), Log()
    deliver(finished_job("http://127.0.0.1:1/hook"), sender=sender(), retries=retries, log=log, now=NOW())
    assert log.attempts[0].status_code is None
    assert log.attempts[0].outcome == "RETRYING"


def test_retries_stop_after_24_hours() -> None:
    retries, log = Retries(), Log()
    late = finished_job("http://127.0.0.1:1/hook").model_copy(
        update={"attempt": 90, "first_attempt_at": (NOW() - timedelta(hours=23, minutes=59)).timestamp()}
    )
    deliver(late, sender=sender(), retries=retries, log=log, now=NOW())
    assert retries.retried == []
    assert len(retries.dead) == 1


def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_delivery() -> None:
    retries, log = Retries(), Log()
    post = HttpWebhookSender(
        SECRET, policy=CallbackPolicy(), resolve=lambda host, port: ["10.0.0.5"], timeout_seconds=5
    )
    deliver(finished_job("https://hooks.example.com/in"), sender=post, retries=retries, log=log, now=NOW())
    assert log.attempts[0].outcome == "FAILED"
    assert "10.0.0.5" in (log.attempts[0].error or "")
    assert retries.retried == []


def test_the_secret_is_the_generated_string_in_whsec_form() -> None:
    # What the template generates is 32 letters and digits; its bytes are the signing key.
    assert whsec_form("abc") == "whsec_" + base64.b64encode(b"abc").decode()
    assert Webhook(whsec_form("abc"))._whsecret == b"abc"


@mock_aws
def test_the_job_keeps_its_last_attempts_and_counts_them_all() -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="jobs", Item={"jobId": {"S": "j1"}, "status": {"S": "FAILED"}})
    log = DynamoDeliveryLog("jobs", client=client)
    for number in range(1, MAX_DELIVERIES_KEPT + 6):
        log.record_delivery(
            "j1",
            DeliveryAttempt(
                webhook_id="msg_j1_1", attempt=number, at=NOW(), status_code=500, outcome="RETRYING"
            ),
        )
    item = client.get_item(TableName="jobs", Key={"jobId": {"S": "j1"}})["Item"]
    kept = [int(entry["M"]["attempt"]["N"]) for entry in item["deliveries"]["L"]]
    assert kept == list(range(6, MAX_DELIVERIES_KEPT + 6))
    assert item["deliveryAttempts"]["N"] == str(MAX_DELIVERIES_KEPT + 5)
    # a job that is gone (retention) is not written back
    log.record_delivery("gone", DeliveryAttempt(webhook_id="x", attempt=1, at=NOW(), outcome="FAILED"))
    assert "Item" not in client.get_item(TableName="jobs", Key={"jobId": {"S": "gone"}})
