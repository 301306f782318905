"""The whole system on the local stack: HTTP API → DynamoDB + SQS → Pipe → Express state
machine → Lambdas → DynamoDB, with redelivery, dead-lettering and recovery as SQS does them.

The stack (tests/conftest.py) runs with the shortest timings the timing order allows and
maxReceiveCount 3; tests that need a message dead-lettered in seconds have a failed
execution's message come back at once. Recovery after a dead worker (which waits for its
lease) is in test_recovery.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx

from cloudqueue.jobs import new_job_id
from cloudqueue_local.devtools.stack import LocalStack

HAPPY_PATH = ["ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordSuccess", "Done"]


def wait_for(check: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)


def submit(api: httpx.Client, job_type: str, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = api.post("/jobs", json={"type": job_type, "payload": payload}, headers=headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def finished(api: httpx.Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        response = api.get(f"/jobs/{job_id}")
        if response.status_code >= 500:
            # The API function of a loaded 2-core stack timed out: ask again, as a client does.
            return None
        job = response.json()
        return job if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    return dict(wait_for(done, timeout))


def aws(stack: LocalStack, service: str, **options: Any) -> Any:
    """A client for ``service`` on the stack's AWS endpoint; ``options`` as boto3's (``config``)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.aws_url,
        region_name=stack.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        **options,
    )


def test_concurrent_submits_all_succeed_with_correct_results(api: httpx.Client) -> None:
    texts = [f"hello cloudqueue number {index}" for index in range(40)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        jobs = list(pool.map(lambda text: submit(api, "text.transform", {"text": text}), texts))

    assert len({job["jobId"] for job in jobs}) == len(texts)
    for job, text in zip(jobs, texts, strict=True):
        done = finished(api, job["jobId"])
        assert done["status"] == "SUCCEEDED"
        expected = {"originalLength": len(text), "uppercase": text.upper(), "wordCount": 4}
        assert done["result"] == expected, done
        assert done["attempts"] == 1, done
        # and it ran once, first time: no execution of it failed and had to be redelivered.
        assert len(done["executions"]) == 1, done


def test_submit_answers_at_once_with_location(api: httpx.Client) -> None:
    response = api.post("/jobs", json={"type": "text.transform", "payload": {"text": "hi"}})

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "QUEUED"
    assert response.headers["location"] == f"/jobs/{job['jobId']}"
    assert api.get(response.headers["location"]).status_code == 200


def test_history_lists_each_step_with_timings(api: httpx.Client) -> None:
    job = submit(api, "text.transform", {"text": "history please"})
    finished(api, job["jobId"])

    history = api.get(f"/jobs/{job['jobId']}/history").json()

    assert history["status"] == "SUCCEEDED"
    (execution,) = history["executions"]
    assert execution["status"] == "SUCCEEDED"
    assert [step["name"] for step in execution["steps"]] == HAPPY_PATH
    assert all(step["enteredAt"] and step["durationMs"] is not None for step in execution["steps"])
    assert execution["events"][0]["type"] == "ExecutionStarted"
    assert execution["events"][-1]["type"] == "ExecutionSucceeded"


def test_retries_and_failures_show_in_the_history(api: httpx.Client) -> None:
    flaky = submit(api, "demo.flaky", {"failTimes": 1})
    failing = submit(api, "demo.fail", {"reason": "no such thing"})

    assert finished(api, flaky["jobId"])["status"] == "SUCCEEDED"
    failed = finished(api, failing["jobId"])

    assert failed["error"] == {"type": "PermanentJobError", "message": "no such thing"}
    process = next(
        step
        for step in api.get(f"/jobs/{flaky['jobId']}/history").json()["executions"][0]["steps"]
        if step["name"] == "ProcessJob"
    )
    assert process["retries"] == 1
    assert process["failures"][0]["message"] == "simulated transient failure 1 of 1"


def test_duplicate_message_for_a_finished_job_changes_nothing_and_is_consumed(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    job = submit(api, "text.transform", {"text": "only once"})
    before = finished(api, job["jobId"])

    # SQS delivers at least once: the same message again, straight onto the queue.
    aws(local_stack, "sqs").send_message(
        QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=json.dumps({"jobId": job["jobId"]})
    )

    def duplicate_handled() -> dict[str, Any] | None:
        """The duplicate's execution, once it ended (the Pipe deletes the message of an execution
        that SUCCEEDED)."""
        executions = api.get(f"/jobs/{job['jobId']}/history").json()["executions"]
        ended = len(executions) == 2 and executions[1]["status"] != "RUNNING"
        return executions[1] if ended else None

    duplicate = wait_for(duplicate_handled)
    assert duplicate["status"] == "SUCCEEDED"
    assert duplicate["steps"][-1]["name"] == "AlreadyHandled"
    after = api.get(f"/jobs/{job['jobId']}").json()
    assert {key: after[key] for key in ("status", "attempts", "result", "finishedAt", "updatedAt")} == {
        key: before[key] for key in ("status", "attempts", "result", "finishedAt", "updatedAt")
    }
    assert "ProcessJob" not in [step["name"] for step in duplicate["steps"]], "the job ran again"


def test_poison_message_is_dead_lettered_and_its_job_ends_failed(
    api: httpx.Client, local_stack: LocalStack, faults: dict[str, Any], redelivery: Callable[[str], None]
) -> None:
    redelivery("immediate")  # three receives in seconds, not three visibility timeouts
    # Given a job whose claim always fails (its message is poison for the workflow),
    local_stack.pause()  # so that the fault is in place before its first delivery
    job = submit(api, "text.transform", {"text": "poison"})
    claims: dict[str, list[str]] = {}  # message id → the receive counts its claims saw
    dead_letters: list[dict[str, Any]] = []

    def outage_for_this_job(event: dict[str, Any]) -> None:
        message = event["message"]
        if job["jobId"] in message["body"]:
            claims.setdefault(message["messageId"], []).append(
                message["attributes"]["ApproximateReceiveCount"]
            )
            raise ConnectionError("the table is unreachable for this job")

    def spy(event: dict[str, Any]) -> None:
        dead_letters.extend(event["Records"])

    faults["ClaimFunction"] = outage_for_this_job
    faults["DeadLetterFunction"] = spy
    local_stack.resume()

    # then after maxReceiveCount (3) receives SQS moves it to the dead-letter queue; the
    # dead-letter function redrives it (a fresh message) up to maxReceiveCount times,
    failed = finished(api, job["jobId"], timeout=90)
    record = next(record for record in dead_letters if job["jobId"] in record["body"])
    assert record["eventSourceARN"] == local_stack.template.queues["DeadLetterQueue"].arn
    assert claims[record["messageId"]] == ["1", "2", "3"]
    assert len(claims) == 4  # the first message and three redrives, 3 receives each
    # and then marks the job FAILED with a reason that says so.
    assert failed["status"] == "FAILED"
    assert failed["error"]["type"] == "DeadLettered"
    assert "dead-letter queue" in failed["error"]["message"]


def poison_kept(sqs: Any, local_stack: LocalStack, body: str) -> list[dict[str, Any]]:
    """the message is in the poison-message queue"""
    return [
        message
        for message in sqs.receive_message(
            QueueUrl=local_stack.queue_url("PoisonMessageQueue"),
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if message["Body"] == body
    ]


def in_queue(sqs: Any, local_stack: LocalStack, queue: str, body: str) -> bool:
    listed = sqs.receive_message(
        QueueUrl=local_stack.queue_url(queue), MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return any(seen["Body"] == body for seen in listed)


def queue_is_empty(sqs: Any, local_stack: LocalStack, queue: str) -> bool:
    """the queue holds no message, visible or in flight"""
    counts = sqs.get_queue_attributes(
        QueueUrl=local_stack.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(count) == 0 for count in counts.values())


def test_unreadable_message_is_kept_for_an_operator_at_its_first_delivery(local_stack: LocalStack) -> None:
    # Given a message that is not a job message, sent to the job queue (default redelivery:
    # a second receive would come only after the visibility timeout)
    sqs = aws(local_stack, "sqs")
    body = "{not json " + new_job_id()
    sqs.send_message(QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=body)

    # Then its first delivery keeps it in the poison-message queue, received once,
    (message,) = wait_for(lambda: poison_kept(sqs, local_stack, body), timeout=60)
    assert message["MessageAttributes"]["receiveCount"]["StringValue"] == "1"
    assert message["MessageAttributes"]["reason"]["StringValue"].startswith("queue message is not a job")
    # and the job queue no longer holds it (its execution succeeded, so the Pipe deleted it;
    # read from the queue's counts: a receive here would count as a second delivery).
    # The stack is shared by this file's tests: an earlier test's message may still be in flight
    # until its visibility timeout (101 s in the tests' timings) brings it back and it is run.
    wait_for(lambda: queue_is_empty(sqs, local_stack, "JobQueue"), timeout=180)
    assert not in_queue(sqs, local_stack, "DeadLetterQueue", body)
    sqs.delete_message(
        QueueUrl=local_stack.queue_url("PoisonMessageQueue"), ReceiptHandle=message["ReceiptHandle"]
    )


def test_a_dead_letter_that_names_no_job_is_moved_to_the_poison_queue(
    local_stack: LocalStack, faults: dict[str, Any], redelivery: Callable[[str], None]
) -> None:
    # Given a message naming no job whose claims all fail (the table is unreachable for it),
    # so that it is dead-lettered rather than kept by its claim
    redelivery("immediate")
    sqs = aws(local_stack, "sqs")
    body = json.dumps({"jobId": new_job_id()})

    def outage_for_this_message(event: dict[str, Any]) -> None:
        if event["message"]["body"] == body:
            raise ConnectionError("the table is unreachable for this message")

    faults["ClaimFunction"] = outage_for_this_message
    sqs.send_message(QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=body)

    # Then the dead-letter function keeps it in the poison-message queue, with the receives
    # the dead-letter queue counted,
    (message,) = wait_for(lambda: poison_kept(sqs, local_stack, body), timeout=60)
    assert int(message["MessageAttributes"]["receiveCount"]["StringValue"]) >= 1
    assert message["MessageAttributes"]["reason"]["StringValue"] == "the message names no job"
    # and it is no longer in the dead-letter queue (moved, not copied).
    wait_for(lambda: not in_queue(sqs, local_stack, "DeadLetterQueue", body))
    sqs.delete_message(
        QueueUrl=local_stack.queue_url("PoisonMessageQueue"), ReceiptHandle=message["ReceiptHandle"]
    )


def test_cancel_only_while_queued(api: httpx.Client, local_stack: LocalStack) -> None:
    local_stack.pause()  # nothing takes the job while we cancel it
    try:
        job = submit(api, "text.transform", {"text": "changed my mind"})
        cancelled = api.delete(f"/jobs/{job['jobId']}")
        again = api.delete(f"/jobs/{job['jobId']}")
    finally:
        local_stack.resume()

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancellable"
    # Its message is still delivered, and skipped: the job stays CANCELLED.
    wait_for(lambda: len(api.get(f"/jobs/{job['jobId']}").json()["executions"]) == 1)
    assert api.get(f"/jobs/{job['jobId']}").json()["status"] == "CANCELLED"

    finished_job = submit(api, "text.transform", {"text": "too late"})
    finished(api, finished_job["jobId"])
    assert api.delete(f"/jobs/{finished_job['jobId']}").status_code == 409


def test_a_running_job_reports_progress_and_a_cancel_stops_it_cancelled(api: httpx.Client) -> None:
    # Given a demo.sleep job that would sleep 3 s (the test stack's longest), running and
    # reporting its progress
    job = submit(api, "demo.sleep", {"seconds": 3})

    def reporting() -> dict[str, Any] | None:
        """the job is IN_PROGRESS with a progress report"""
        seen = api.get(f"/jobs/{job['jobId']}").json()
        return seen if seen["status"] == "IN_PROGRESS" and seen.get("progress") else None

    running = wait_for(reporting, timeout=30)
    assert 0 <= running["progress"]["fraction"] < 1 and "slept" in running["progress"]["message"]

    # When it is cancelled while it runs
    cancel = api.delete(f"/jobs/{job['jobId']}")

    # Then the cancel is accepted (202), and the job ends CANCELLED, not FAILED, the result its
    # code returned discarded
    assert cancel.status_code == 202, cancel.text
    assert cancel.json()["status"] == "IN_PROGRESS" and cancel.json()["cancelRequestedAt"]
    ended = finished(api, job["jobId"], timeout=30)
    assert ended["status"] == "CANCELLED"
    assert ended["result"] is None and ended["error"] is None
    # (That its code stops at the mark, not at its end, is tests/unit/test_job_control.py's:
    # a 3 s sleep gives no margin a loaded machine keeps.)
    # And a second cancel, now that it is finished, is refused and changes nothing
    assert api.delete(f"/jobs/{job['jobId']}").status_code == 409


def test_idempotency_key_returns_the_same_job_and_refuses_another_body(api: httpx.Client) -> None:
    body = {"type": "text.transform", "payload": {"text": "exactly once"}}
    key = f"order-{new_job_id()}"  # a key of this test's own in the shared stack

    first = api.post("/jobs", json=body, headers={"Idempotency-Key": key})
    retry = api.post("/jobs", json=body, headers={"Idempotency-Key": key})
    other = api.post(
        "/jobs",
        json={"type": "text.transform", "payload": {"text": "else"}},
        headers={"Idempotency-Key": key},
    )

    assert first.status_code == 202
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["jobId"] == first.json()["jobId"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    listed = api.get("/jobs", params={"limit": 100}).json()["jobs"]
    assert [job["jobId"] for job in listed if job.get("idempotencyKey") == key] == [first.json()["jobId"]]


def test_bad_requests_get_clear_errors_and_change_nothing(api: httpx.Client) -> None:
    # Job ids sort by creation time: a job made by these requests would sort after this one.
    started = new_job_id()

    cases = [
        (
            api.post("/jobs", content=b"{nope", headers={"content-type": "application/json"}),
            400,
            "malformed_json",
        ),
        (api.post("/jobs", json={"type": "no.such", "payload": {}}), 422, "unknown_job_type"),
        (
            api.post("/jobs", json={"type": "text.transform", "payload": {"text": ""}}),
            422,
            "validation_error",
        ),
        (
            api.post("/jobs", json={"type": "text.transform", "payload": {"text": "x" * 70_000}}),
            413,
            "request_too_large",
        ),
        (api.get("/jobs/not-a-job"), 404, "job_not_found"),
        (api.get("/jobs", params={"status": "DONE"}), 422, "validation_error"),
        (api.get("/jobs", params={"nextToken": "garbage"}), 400, "invalid_next_token"),
    ]

    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    newest = api.get("/jobs", params={"limit": 1}).json()["jobs"]
    assert [job["jobId"] for job in newest if job["jobId"] > started] == []


def test_aws_endpoint_serves_the_local_resources(local_stack: LocalStack) -> None:
    queues = aws(local_stack, "sqs").list_queues()["QueueUrls"]
    tables = aws(local_stack, "dynamodb").list_tables()["TableNames"]
    machines = aws(local_stack, "stepfunctions").list_state_machines()["stateMachines"]
    functions = {
        function["FunctionName"] for function in aws(local_stack, "lambda").list_functions()["Functions"]
    }

    template = local_stack.template
    assert {url.rsplit("/", 1)[-1] for url in queues} >= {
        template.queues["JobQueue"].name,
        template.queues["DeadLetterQueue"].name,
    }
    assert template.tables["JobsTable"].name in tables
    workflow = template.state_machines["JobStateMachine"].name
    assert [machine["type"] for machine in machines if machine["name"] == workflow] == ["EXPRESS"]
    assert {
        f"cloudqueue-local-{name}Function" for name in ("Api", "Claim", "Process", "Finalize")
    } <= functions


def test_lambda_invoke_on_the_aws_endpoint_runs_the_real_handler(local_stack: LocalStack) -> None:
    response = aws(local_stack, "lambda").invoke(
        FunctionName="cloudqueue-local-ProcessFunction",
        Payload=json.dumps({"jobId": "j", "type": "text.transform", "payload": {"text": "via moto"}}),
    )

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "originalLength": 8,
        "uppercase": "VIA MOTO",
        "wordCount": 2,
    }


def test_a_failed_job_rerun_runs_again_under_its_id_and_keeps_both_runs(api: httpx.Client) -> None:
    job = submit(api, "demo.fail", {"reason": "still broken"})
    assert finished(api, job["jobId"])["status"] == "FAILED"

    rerun = api.post(f"/jobs/{job['jobId']}/rerun")

    assert rerun.status_code == 202, rerun.text
    assert rerun.json()["status"] == "QUEUED" and rerun.json()["jobId"] == job["jobId"]
    again = finished(api, job["jobId"])
    assert again["status"] == "FAILED" and again["attempts"] == 2
    assert [run["status"] for run in again["runs"]] == ["FAILED"]
    assert again["runs"][0]["error"]["message"] == "still broken"
    assert again["runs"][0]["lastAttempt"] == 1
    history = api.get(f"/jobs/{job['jobId']}/history").json()
    assert len(history["executions"]) == 2
    assert api.post(f"/jobs/{job['jobId']}/rerun").status_code == 202  # FAILED again: rerunnable
    assert finished(api, job["jobId"])["attempts"] == 3


def test_a_rerun_whose_message_cannot_be_sent_answers_503_and_stays_failed(
    api: httpx.Client, monkeypatch: Any
) -> None:
    from moto.sqs.models import SQSBackend

    job = submit(api, "demo.fail", {"reason": "outage"})
    failed = finished(api, job["jobId"])
    send = SQSBackend.send_message

    def refuse_this_job(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        if job["jobId"] in message_body:
            raise RuntimeError("SQS is down")
        return send(self, queue_name, message_body, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "send_message", refuse_this_job)

    answer = api.post(f"/jobs/{job['jobId']}/rerun")

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "enqueue_failed"
    after = api.get(f"/jobs/{job['jobId']}").json()
    assert after["status"] == "FAILED" and after["runs"] == []
    assert after["error"] == failed["error"] and after["attempts"] == failed["attempts"]


def test_only_a_failed_job_can_be_rerun(api: httpx.Client) -> None:
    job = submit(api, "text.transform", {"text": "fine"})
    assert finished(api, job["jobId"])["status"] == "SUCCEEDED"

    answer = api.post(f"/jobs/{job['jobId']}/rerun")

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "job_not_rerunnable"
