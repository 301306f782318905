"""The state machine definition, executed by moto's ASL interpreter with the real handlers.

Each test delivers messages one at a time (see conftest.py) and reads the outcome where
it lives: the job in DynamoDB, the execution's status, and its history in CloudWatch Logs.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from cloudqueue.errors import EnqueueFailed
from cloudqueue.jobs import new_job_id
from cloudqueue.models import ClaimRequest, Job, JobStatus, QueueRecord, utc_now
from cloudqueue_local.emulator.awslambda.invocation import InjectedCrash, InjectedTimeout, ServiceFault

from .conftest import Run, WorkflowHarness

HAPPY_PATH = ["ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordSuccess", "Done"]


def wait_until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def claim_event(job_id: str, execution_id: str = "arn:aws:states:worker-that-dies") -> dict[str, Any]:
    request = ClaimRequest(
        message=QueueRecord(
            message_id=str(uuid.uuid4()), body=json.dumps({"jobId": job_id}), receive_count=1
        ),
        execution_id=execution_id,
    )
    return request.to_json_dict()


def test_happy_path_records_the_result_and_consumes_the_message(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "hello cloudqueue"})

    run = workflow.deliver()

    assert run.status == "SUCCEEDED"
    assert run.path() == HAPPY_PATH
    done = workflow.job(job.job_id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.result == {"originalLength": 16, "uppercase": "HELLO CLOUDQUEUE", "wordCount": 2}
    assert done.attempts == 1
    assert done.executions == [run.arn]
    assert done.lease_expires_at is None and done.finished_at is not None


def test_pipe_input_is_an_array_of_sqs_records(workflow: WorkflowHarness) -> None:
    workflow.new_job("text.transform", {"text": "shape"})

    records = workflow.receive()

    # What the ASL's ParseMessage relies on: a one-element array of SQS records.
    assert isinstance(records, list) and len(records) == 1
    assert {"messageId", "receiptHandle", "body", "attributes", "eventSource", "eventSourceARN"} <= set(
        records[0]
    )
    assert records[0]["attributes"]["ApproximateReceiveCount"] == "1"
    assert workflow.run(records).status == "SUCCEEDED"


def test_transient_failure_is_retried_then_succeeds(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("demo.flaky", {"failTimes": 2})

    run = workflow.deliver()

    assert run.status == "SUCCEEDED"
    process = run.step("ProcessJob")
    assert process["status"] == "SUCCEEDED"
    assert process["retries"] == 2
    assert [failure["error"] for failure in process["failures"]] == ["TransientJobError"] * 2
    assert workflow.job(job.job_id).status is JobStatus.SUCCEEDED
    assert workflow.job(job.job_id).result == {"failedTimes": 2, "attempt": 1}


def test_transient_failure_past_the_retries_fails_the_job(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("demo.flaky", {"failTimes": 9})

    run = workflow.deliver()

    # A business failure: the job is FAILED and the message consumed, not dead-lettered.
    assert run.status == "SUCCEEDED"
    assert run.step("ProcessJob")["status"] == "CAUGHT"
    assert run.step("ProcessJob")["retries"] == 3
    failed = workflow.job(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.type == "TransientJobError"
    assert failed.error.message == "simulated transient failure 4 of 9"


def test_permanent_failure_fails_the_job_with_its_type_and_message(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("demo.fail", {"reason": "the input is unsupported"})

    run = workflow.deliver()

    assert run.status == "SUCCEEDED"
    assert run.path() == ["ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordFailure", "Done"]
    assert run.step("ProcessJob")["retries"] == 0
    failed = workflow.job(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("PermanentJobError", "the input is unsupported")


def test_duplicate_delivery_of_a_finished_job_does_no_work(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "once"})
    assert workflow.deliver().status == "SUCCEEDED"
    finished = workflow.job(job.job_id)
    processed = workflow.invocations("ProcessFunction")

    workflow.send_job(job.job_id)  # SQS delivers at least once: the same job again
    duplicate = workflow.deliver()

    assert duplicate.status == "SUCCEEDED"  # the duplicate message is consumed
    assert duplicate.path() == ["ParseMessage", "ClaimJob", "IsClaimed", "AlreadyHandled"]
    assert workflow.invocations("ProcessFunction") == processed
    again = workflow.job(job.job_id)
    assert (again.status, again.attempts, again.result, again.finished_at) == (
        finished.status,
        finished.attempts,
        finished.result,
        finished.finished_at,
    )
    assert again.executions[-1] == duplicate.arn  # the history still shows the duplicate


def test_cancelled_job_is_skipped(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "never mind"})
    workflow.store.cancel_job(job.job_id, utc_now())
    processed = workflow.invocations("ProcessFunction")

    run = workflow.deliver()

    assert run.status == "SUCCEEDED"
    assert run.path()[-1] == "AlreadyHandled"
    assert workflow.invocations("ProcessFunction") == processed
    assert workflow.job(job.job_id).status is JobStatus.CANCELLED


def test_job_whose_worker_died_is_reclaimed_after_its_lease(workflow: WorkflowHarness) -> None:
    # Given a worker that claimed the job 25 s ago with a 30 s lease, then died.
    job = workflow.new_job("text.transform", {"text": "orphan"})
    claimed_at = utc_now() - timedelta(seconds=25)
    records = workflow.receive()
    workflow.store.claim_job(
        job.job_id,
        message_id=records[0]["messageId"],
        execution_id="arn:dead-worker",
        lease_token="dead",
        now=claimed_at,
        lease_seconds=30,
    )

    # When its own message is delivered again while the lease is live, the claim backs off and
    # the execution fails, so that SQS redelivers it later.
    early = workflow.run(records)
    assert early.status == "FAILED"
    assert early.error == "JobLeased"
    assert early.step("ClaimJob")["retries"] == 2
    assert workflow.job(job.job_id).status is JobStatus.IN_PROGRESS

    # When it is delivered again after the lease expired, the job is re-claimed and finished.
    workflow.wait_until_lease_expired(job.job_id)
    late = workflow.run(records)

    assert late.status == "SUCCEEDED"
    done = workflow.job(job.job_id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 2
    assert done.executions == ["arn:dead-worker", late.arn]


def test_stale_worker_cannot_finalize_a_reclaimed_job(workflow: WorkflowHarness) -> None:
    # Given a job claimed by a worker whose lease then expired, and re-claimed and finished by another.
    job = workflow.new_job("text.transform", {"text": "fenced"})
    workflow.store.claim_job(
        job.job_id,
        message_id="m-slow-worker",
        execution_id="arn:slow-worker",
        lease_token="stale",
        now=utc_now() - timedelta(hours=1),
        lease_seconds=1,
    )
    assert workflow.deliver().status == "SUCCEEDED"
    finished = workflow.job(job.job_id)

    # When the slow worker finally tries to record its result with its old lease token,
    stale = workflow.invoke(
        "FinalizeFunction",
        {
            "jobId": job.job_id,
            "leaseToken": "stale",
            "outcome": "FAILED",
            "failure": {"Error": "TransientJobError", "Cause": "late"},
        },
    )

    # then the write is refused and the job keeps the live worker's result.
    assert stale.function_error == "Unhandled"
    assert stale.json()["errorType"] == "LeaseLost"
    assert workflow.job(job.job_id).model_dump() == finished.model_dump()


def test_worker_that_loses_its_lease_mid_job_ends_quietly(workflow: WorkflowHarness) -> None:
    # Given a worker running a job,
    job = workflow.new_job("demo.sleep", {"seconds": 2})
    records = workflow.receive()
    first: list[Run] = []
    slow = threading.Thread(target=lambda: first.append(workflow.run(records)))
    slow.start()
    wait_until(lambda: workflow.job(job.job_id).status is JobStatus.IN_PROGRESS)

    # when another worker takes the job over (as it may once the lease has expired),
    lease = int(workflow.stack.template.parameters["LeaseSeconds"])
    workflow.store.claim_job(
        job.job_id,
        message_id=records[0]["messageId"],
        execution_id="arn:second-worker",
        lease_token="second",
        now=utc_now() + timedelta(seconds=lease + 1),
        lease_seconds=lease,
    )
    slow.join(timeout=60)

    # then the first worker's RecordSuccess is fenced off and its execution ends quietly (Superseded),
    assert first and first[0].status == "SUCCEEDED"
    assert first[0].path()[-2:] == ["RecordSuccess", "Superseded"]
    assert first[0].step("RecordSuccess")["failures"][0]["error"] == "LeaseLost"
    # and the job is the second worker's, untouched.
    held = workflow.job(job.job_id)
    assert (held.status, held.lease_token, held.attempts) == (JobStatus.IN_PROGRESS, "second", 2)


def test_another_message_while_a_live_lease_is_held_is_skipped(workflow: WorkflowHarness) -> None:
    # Given a job whose worker (the execution of another message) holds a live lease
    job = workflow.new_job("text.transform", {"text": "held"})
    workflow.store.claim_job(
        job.job_id,
        message_id="m-holder",
        execution_id="arn:holder",
        lease_token="holder",
        now=utc_now(),
        lease_seconds=300,
    )
    processed = workflow.invocations("ProcessFunction")

    # When this message (a duplicate) is delivered
    run = workflow.deliver()

    # Then it is SKIPPED and consumed: the holder's own message carries the job
    assert run.status == "SUCCEEDED"
    assert run.path() == ["ParseMessage", "ClaimJob", "IsClaimed", "AlreadyHandled"]
    assert workflow.invocations("ProcessFunction") == processed
    held = workflow.job(job.job_id)
    assert (held.attempts, held.lease_token, held.executions) == (1, "holder", ["arn:holder", run.arn])


def test_a_claim_retried_after_its_write_gets_the_same_claim(workflow: WorkflowHarness) -> None:
    # Given a claim whose write happens but whose Lambda then fails (the answer is lost)
    job = workflow.new_job("text.transform", {"text": "claimed once"})
    calls: list[str] = []

    def write_then_fail(event: Any) -> None:
        calls.append(event["executionId"])
        if len(calls) == 1:
            workflow.store.claim_job(
                job.job_id,
                message_id=event["message"]["messageId"],
                execution_id=event["executionId"],
                lease_token="first-write",
                now=utc_now(),
                lease_seconds=int(workflow.stack.template.parameters["LeaseSeconds"]),
            )
            raise ServiceFault("ServiceException", 500, "the claim's answer was lost")

    workflow.stack.runtime.faults["ClaimFunction"] = write_then_fail

    # When the state machine retries the claim in the same execution
    run = workflow.deliver()

    # Then the retry gets the same claim, and the job runs once under it
    assert run.status == "SUCCEEDED" and run.path()[-1] == "Done"
    assert run.step("ClaimJob")["retries"] == 1
    done = workflow.job(job.job_id)
    assert (done.status, done.attempts, done.lease_token) == (JobStatus.SUCCEEDED, 1, "first-write")


def test_a_process_timeout_is_retried_and_does_not_fail_the_job(workflow: WorkflowHarness) -> None:
    # Given a process function that runs past its timeout once (an injected Lambda timeout)
    job = workflow.new_job("text.transform", {"text": "slow once"})
    timeouts = iter([InjectedTimeout()])

    def time_out_once(event: object) -> None:
        if (timeout := next(timeouts, None)) is not None:
            raise timeout

    workflow.stack.runtime.faults["ProcessFunction"] = time_out_once

    run = workflow.deliver()

    # Then Sandbox.Timedout is retried and the job succeeds
    assert run.status == "SUCCEEDED"
    process = run.step("ProcessJob")
    assert [failure["error"] for failure in process["failures"]] == ["Sandbox.Timedout"]
    assert workflow.job(job.job_id).status is JobStatus.SUCCEEDED


@pytest.mark.parametrize("step", ["ClaimFunction", "ProcessFunction", "FinalizeFunction"])
def test_an_environment_that_dies_once_is_retried_and_the_job_succeeds_once(
    workflow: WorkflowHarness, step: str
) -> None:
    # Given a step whose environment is killed mid-invocation once (a sandbox dying on Lambda)
    job = workflow.new_job("text.transform", {"text": "crashed once"})
    crashes = iter([InjectedCrash()])

    def crash_once(event: object) -> None:
        if (crash := next(crashes, None)) is not None:
            raise crash

    workflow.stack.runtime.faults[step] = crash_once

    run = workflow.deliver()

    # Then Runtime.ExitError is retried in the same execution, and the job succeeds on its claim
    assert run.status == "SUCCEEDED" and run.path()[-1] == "Done"
    states = {
        "ClaimFunction": "ClaimJob",
        "ProcessFunction": "ProcessJob",
        "FinalizeFunction": "RecordSuccess",
    }
    failures = run.step(states[step])["failures"]
    assert [failure["error"] for failure in failures] == ["Runtime.ExitError"]
    done = workflow.job(job.job_id)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 1)
    assert done.result is not None and done.result["uppercase"] == "CRASHED ONCE"


def test_a_job_whose_environment_dies_every_time_fails_with_the_error_that_says_so(
    workflow: WorkflowHarness,
) -> None:
    # Given a process step whose environment dies on every attempt (it always runs out of memory)
    job = workflow.new_job("text.transform", {"text": "always out of memory"})

    def crash(event: object) -> None:
        raise InjectedCrash

    workflow.stack.runtime.faults["ProcessFunction"] = crash

    run = workflow.deliver()

    # Then its retries are bounded, and the job ends FAILED with Runtime.ExitError
    assert run.status == "SUCCEEDED" and run.path()[-1] == "Done"
    process = run.step("ProcessJob")
    retries = int(workflow.stack.template.parameters["ProcessTimeoutRetryMaxAttempts"])
    assert process["retries"] == retries
    failed = workflow.job(job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.type == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in failed.error.message


POISON_PATH = ["ParseMessage", "ClaimJob", "IsClaimed", "PoisonMessageKept"]


@pytest.mark.parametrize("body", ["this is not a job message", '{"jobId": "not-a-cloudqueue-id"}'])
def test_a_message_that_is_not_a_job_message_is_kept_as_poison_in_its_first_execution(
    workflow: WorkflowHarness, body: str
) -> None:
    # Given a job in the table, and a message that is not a job message
    job = workflow.new_job("text.transform", {"text": "bystander"})
    workflow.receive()  # the bystander's own message is not delivered
    before = workflow.job(job.job_id)
    claims = workflow.invocations("ClaimFunction")
    workflow.send_body(body)
    records = workflow.receive()

    run = workflow.run(records)

    # Then its first execution succeeds (the Pipe deletes the message) after one claim, with
    # no retry, and the message is in the poison-message queue as it was sent, with its id
    assert run.status == "SUCCEEDED"
    assert run.path() == POISON_PATH
    assert workflow.invocations("ClaimFunction") == claims + 1
    (kept,) = workflow.poison_messages()
    assert kept["Body"] == body
    assert kept["MessageAttributes"]["deadLetterMessageId"]["StringValue"] == records[0]["messageId"]
    assert kept["MessageAttributes"]["receiveCount"]["StringValue"] == "1"
    # and the table is untouched
    assert workflow.job(job.job_id) == before


def test_a_message_for_a_job_never_written_is_tombstoned_and_kept_as_poison_after_the_grace(
    workflow: WorkflowHarness,
) -> None:
    # Given a message older than the submit grace naming a job that does not exist (its
    # API request failed after the send)
    missing = "01900000-0000-7000-8000-0000000000aa"
    workflow.send_job(missing)
    records = workflow.receive()
    records[0]["attributes"]["SentTimestamp"] = str(int((utc_now().timestamp() - 3600) * 1000))
    claims = workflow.invocations("ClaimFunction")

    run = workflow.run(records)

    # Then one claim keeps it in the poison-message queue and the execution succeeds,
    assert run.status == "SUCCEEDED"
    assert run.path() == POISON_PATH
    assert workflow.invocations("ClaimFunction") == claims + 1
    (kept,) = workflow.poison_messages()
    assert kept["Body"] == json.dumps({"jobId": missing})
    assert kept["MessageAttributes"]["reason"]["StringValue"].startswith("no such job")
    # the job is still not in the table, and a late write of it is refused
    assert workflow.store.get_job(missing, consistent=True) is None
    late = Job(
        job_id=missing,
        type="text.transform",
        payload={"text": "late"},
        status=JobStatus.QUEUED,
        created_at=utc_now(),
        updated_at=utc_now(),
    )
    with pytest.raises(EnqueueFailed):
        workflow.store.create_job(late)


def test_a_claim_that_runs_ahead_of_the_apis_write_is_retried_until_the_job_exists(
    workflow: WorkflowHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message whose job is written after the first claim has looked for it (the API
    # sends, then writes): written when that claim returns, not on a timer, which a slow cold
    # start on a loaded machine could outrun
    job = Job(
        job_id=new_job_id(),
        type="text.transform",
        payload={"text": "written late"},
        status=JobStatus.QUEUED,
        created_at=utc_now(),
        updated_at=utc_now(),
    )
    claim = workflow.stack.runtime.functions["ClaimFunction"]
    claim_once = claim.run

    def claim_then_write(*args: Any, **kwargs: Any) -> Any:
        invocation = claim_once(*args, **kwargs)
        if workflow.store.get_job(job.job_id, consistent=True) is None:
            workflow.store.create_job(job)
        return invocation

    monkeypatch.setattr(claim, "run", claim_then_write)
    workflow.send_job(job.job_id)
    records = workflow.receive()

    run = workflow.run(records)

    # Then the claim retried JobNotYetWritten and then ran the job (nothing kept as poison)
    assert run.status == "SUCCEEDED" and run.path() == HAPPY_PATH
    assert {failure["error"] for failure in run.step("ClaimJob")["failures"]} == {"JobNotYetWritten"}
    assert workflow.job(job.job_id).status is JobStatus.SUCCEEDED
    assert workflow.poison_messages() == []


def test_input_that_is_not_a_record_array_fails_the_execution(workflow: WorkflowHarness) -> None:
    run = workflow.run(json.dumps({"jobId": "not an array"}))

    assert run.status == "FAILED"
    assert run.error == "States.Runtime"


def test_a_failed_execution_leaves_no_interpreter_dump_in_the_log(
    workflow: WorkflowHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # moto's interpreter logs each failed state at ERROR with its whole parse tree, thousands
    # of characters a line, which the dev console and the bench would print.
    run = workflow.run(json.dumps({"jobId": "not an array"}))

    assert run.status == "FAILED"
    assert [record.name for record in caplog.records if record.name.startswith("moto.stepfunctions")] == []


def test_lambda_throttling_is_retried(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "throttled"})
    throttles = iter([ServiceFault(), ServiceFault()])

    def throttle_twice(event: Any) -> None:
        fault = next(throttles, None)
        if fault is not None:
            raise fault

    workflow.stack.runtime.faults["ProcessFunction"] = throttle_twice

    run = workflow.deliver()

    assert run.status == "SUCCEEDED"
    process = run.step("ProcessJob")
    assert process["retries"] == 2
    assert {failure["error"] for failure in process["failures"]} == {"Lambda.TooManyRequestsException"}
    assert workflow.job(job.job_id).status is JobStatus.SUCCEEDED


def test_lambda_unavailable_fails_the_execution_not_the_job(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "no lambda today"})

    def unavailable(event: Any) -> None:
        raise ServiceFault("ServiceException", 500, "Lambda is unavailable")

    workflow.stack.runtime.faults["ProcessFunction"] = unavailable

    run = workflow.deliver()

    # Infrastructure failure: the execution fails (SQS redelivers), the job is not failed.
    assert run.status == "FAILED"
    assert run.error == "WorkerUnavailable"
    assert run.step("ProcessJob")["retries"] == 2
    assert workflow.job(job.job_id).status is JobStatus.IN_PROGRESS


@pytest.mark.parametrize(
    "init_error", ["Runtime.UserCodeSyntaxError", "Runtime.ImportModuleError", "Runtime.HandlerNotFound"]
)
def test_process_code_that_cannot_start_fails_the_execution_not_the_job(
    workflow: WorkflowHarness, init_error: str
) -> None:
    # A broken deploy (or a broken edit on the local stack) is not the job's fault: the
    # message comes back after its visibility timeout, when the code may have been fixed.
    job = workflow.new_job("text.transform", {"text": "broken deploy"})
    init_failure = type(init_error, (Exception,), {})  # Lambda's errorType is the class name

    def cannot_start(event: Any) -> None:
        raise init_failure("cannot import the handler")

    workflow.stack.runtime.faults["ProcessFunction"] = cannot_start

    run = workflow.deliver()

    assert run.status == "FAILED"
    assert run.error == "WorkerUnavailable"
    assert {failure["error"] for failure in run.step("ProcessJob")["failures"]} == {init_error}
    assert workflow.job(job.job_id).status is JobStatus.IN_PROGRESS


def test_store_outage_during_claim_fails_the_execution(workflow: WorkflowHarness) -> None:
    job = workflow.new_job("text.transform", {"text": "db down"})

    def database_down(event: Any) -> None:
        raise ConnectionError("Could not connect to the endpoint URL")

    workflow.stack.runtime.faults["ClaimFunction"] = database_down

    run = workflow.deliver()

    assert run.status == "FAILED"
    assert run.error == "ConnectionError"
    assert workflow.job(job.job_id).status is JobStatus.QUEUED
