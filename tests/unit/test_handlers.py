"""The workflow and recovery Lambda handlers, each given its ports as keyword arguments."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cloudqueue import errors
from cloudqueue.errors import JobError, LeaseLost, PermanentJobError, TransientJobError
from cloudqueue.handlers import claim, dead_letter, finalize, process, requeue
from cloudqueue.models import JobStatus, utc_now
from cloudqueue_local.template import load_template
from tests.fakes import (
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakePoisonMessages,
    claim_event,
    execution_arn,
    finalize_event,
    job_id,
    job_message,
    lambda_cause,
    make_job,
    process_event,
    schedule_event,
    sqs_event,
    sqs_record,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
LEASE_SECONDS = 120


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("SUBMIT_GRACE_SECONDS", "15")
    monkeypatch.setenv(
        "POISON_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-poison"
    )
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    cached = (claim.settings, finalize.settings, requeue.settings, dead_letter.settings)
    for settings in cached:
        settings.cache_clear()
    yield
    for settings in cached:
        settings.cache_clear()


# --- claim --------------------------------------------------------------------------------


def test_the_claim_handler_claims_a_queued_job_for_the_lease_its_settings_give():
    # Given a QUEUED job
    job = make_job()
    store = FakeJobStore(job)
    before = utc_now().timestamp()

    # When the ClaimJob task runs for its message (receive count as the Pipe gives it: text)
    response = claim.handler(
        claim_event(job.job_id, execution_id=execution_arn("run-1"), receive_count="2"),
        FakeLambdaContext(),
        store=store,
    )

    # Then it answers every key the state machine selects, and the lease lasts LEASE_SECONDS
    stored = store.get_job(job.job_id)
    assert set(response) == {"outcome", "jobId", "reason", "leaseToken", "type", "payload", "attempt"}
    assert response["outcome"] == "CLAIMED"
    assert response["leaseToken"] == stored.lease_token
    assert response["payload"] == job.payload
    assert before + LEASE_SECONDS <= stored.lease_expires_at <= utc_now().timestamp() + LEASE_SECONDS


def test_the_claim_handler_skips_a_duplicate_delivery():
    job = make_job(status=JobStatus.SUCCEEDED)
    store = FakeJobStore(job)

    response = claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)

    assert response["outcome"] == "SKIPPED"
    assert response["leaseToken"] is None
    assert store.get_job(job.job_id).status is JobStatus.SUCCEEDED


def test_the_claim_handler_raises_job_leased_for_a_live_lease():
    job = make_job()
    store = FakeJobStore(job)
    claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)

    with pytest.raises(errors.JobLeased):
        claim.handler(
            claim_event(job.job_id, execution_id=execution_arn("run-2")), FakeLambdaContext(), store=store
        )


def test_the_claim_handler_keeps_a_foreign_body_as_poison_and_counts_it(monkeypatch):
    store, poison = FakeJobStore(), FakePoisonMessages()
    counted: list[str] = []
    monkeypatch.setattr(claim.metrics, "add_metric", lambda name, **_: counted.append(name))

    response = claim.handler(
        claim_event(body='{"hello": "world"}', message_id="m-7", receive_count="1"),
        FakeLambdaContext(),
        store=store,
        poison=poison,
    )

    # Answered (not raised): the state machine's IsClaimed sends POISON to a Succeed state,
    # with every key its ResultSelector reads
    assert response["outcome"] == "POISON" and response["jobId"] is None
    assert set(response) == {"outcome", "jobId", "reason", "leaseToken", "type", "payload", "attempt"}
    assert [(kept["body"], kept["messageId"], kept["receiveCount"]) for kept in poison.kept] == [
        ('{"hello": "world"}', "m-7", 1)
    ]
    assert counted == ["PoisonMessagesKept"]


# --- process ------------------------------------------------------------------------------


def test_the_process_handler_returns_the_job_result():
    result = process.handler(process_event("j", payload={"text": "abc def"}), FakeLambdaContext())

    assert result == {"originalLength": 7, "uppercase": "ABC DEF", "wordCount": 2}


def test_the_process_handler_gives_the_job_its_cancel_mark_and_progress_under_its_lease():
    from tests.unit.test_job_control import FakeMarks

    marks = FakeMarks(holder="token-1")
    marks.cancel_requested = True
    event = process_event("j", type="demo.sleep", payload={"seconds": 20}, lease_token="token-1")

    result = process.handler(event, FakeLambdaContext(), marks=marks)

    assert result["cancelled"] is True  # it stopped at its first look, not after 20 s
    assert marks.reads == 1


def test_the_process_handler_raises_transient_job_error_for_the_state_machine_to_retry():
    event = process_event("j", type="demo.flaky", payload={"failTimes": 2}, retry_count=1)

    with pytest.raises(TransientJobError) as raised:
        process.handler(event, FakeLambdaContext())

    # Lambda reports the class name as the error name; the ASL's Retry matches that name.
    assert type(raised.value).__name__ == "TransientJobError"


def test_the_process_handler_raises_permanent_job_error_for_the_state_machine_to_catch():
    event = process_event("j", type="demo.fail", payload={"reason": "no"})

    with pytest.raises(PermanentJobError, match="no"):
        process.handler(event, FakeLambdaContext())


def test_every_error_name_the_state_machine_matches_is_an_error_the_handlers_raise():
    # Given the names the ASL's Retry and Catch fields match, besides the ones AWS names
    # (States.*, Lambda.*, Sandbox.*, and Runtime.* for code that cannot start)
    definition = json.loads(load_template(TEMPLATE).state_machines["JobStateMachine"].definition)
    matched = {
        name
        for state in definition["States"].values()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for name in rule["ErrorEquals"]
        if not name.startswith(("States.", "Lambda.", "Sandbox.", "Runtime."))
    }

    # Then each is a job error class in cloudqueue.errors, so a rename breaks this test
    assert matched == {"JobLeased", "JobNotYetWritten", "TransientJobError", "LeaseLost"}
    assert all(issubclass(getattr(errors, name), JobError) for name in matched)


# --- finalize -----------------------------------------------------------------------------


def claimed(store: FakeJobStore) -> tuple[str, str]:
    job = make_job()
    store.put(job)
    response = claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)
    return job.job_id, response["leaseToken"]


def test_the_finalize_handler_records_success():
    store = FakeJobStore()
    job_id_, token = claimed(store)

    response = finalize.handler(
        finalize_event(job_id_, lease_token=token, result={"wordCount": 2}), FakeLambdaContext(), store=store
    )

    assert response == {"jobId": job_id_, "status": "SUCCEEDED"}
    assert store.get_job(job_id_).result == {"wordCount": 2}


def test_the_finalize_handler_records_a_caught_failure():
    store = FakeJobStore()
    job_id_, token = claimed(store)
    event = finalize_event(
        job_id_,
        lease_token=token,
        outcome="FAILED",
        error="PermanentJobError",
        cause=lambda_cause("bad text"),
    )

    response = finalize.handler(event, FakeLambdaContext(), store=store)

    assert response == {"jobId": job_id_, "status": "FAILED"}
    assert store.get_job(job_id_).error.model_dump() == {"type": "PermanentJobError", "message": "bad text"}


def test_the_finalize_handler_raises_lease_lost_for_a_stale_token():
    store = FakeJobStore()
    job_id_, _ = claimed(store)
    before = store.snapshot()

    with pytest.raises(LeaseLost):
        finalize.handler(finalize_event(job_id_, lease_token="stale"), FakeLambdaContext(), store=store)

    assert store.snapshot() == before


# --- dead letters -------------------------------------------------------------------------


def dead_letters(event, store, queue=None, poison=None):
    return dead_letter.handler(
        event,
        FakeLambdaContext(),
        store=store,
        queue=queue or FakeJobQueue(),
        poison=poison or FakePoisonMessages(),
    )


def test_the_dead_letter_handler_fails_a_job_claimed_max_receive_count_times():
    job = make_job(status=JobStatus.IN_PROGRESS, attempts=3, lease_token="t", lease_expires_at=0.0)
    store = FakeJobStore(job)

    response = dead_letters(sqs_event([job_message(job.job_id)]), store)

    assert response == {"batchItemFailures": []}
    stored = store.get_job(job.job_id)
    assert stored.status is JobStatus.FAILED
    assert "received 3 times" in stored.error.message


def test_the_dead_letter_handler_cancels_a_marked_job_whose_worker_died(monkeypatch):
    # Given a running job a cancel marked, claimed as often as received, its lease expired
    job = make_job(
        status=JobStatus.IN_PROGRESS,
        attempts=3,
        lease_token="t",
        lease_expires_at=0.0,
        cancel_requested_at=utc_now() - timedelta(minutes=5),
    )
    store, queue = FakeJobStore(job), FakeJobQueue()
    counted: list[str] = []
    monkeypatch.setattr(dead_letter.metrics, "add_metric", lambda name, **_: counted.append(name))

    # When its message reaches the dead-letter handler
    response = dead_letters(sqs_event([job_message(job.job_id)]), store, queue)

    # Then the dead letter is deleted, the job is CANCELLED, nothing is sent, and no
    # dead-lettered job is counted (cancels count no metric)
    assert response == {"batchItemFailures": []}
    stored = store.get_job(job.job_id)
    assert stored.status is JobStatus.CANCELLED and stored.error is None
    assert queue.sent == []
    assert counted == []


def test_the_dead_letter_handler_redrives_a_job_with_claims_left():
    job = make_job()
    store, queue = FakeJobStore(job), FakeJobQueue()

    response = dead_letters(sqs_event([job_message(job.job_id)]), store, queue)

    assert response == {"batchItemFailures": []}  # the dead letter is deleted; the fresh message runs it
    assert queue.sent == [job.job_id]
    assert store.get_job(job.job_id).status is JobStatus.QUEUED


def test_the_dead_letter_handler_keeps_the_message_of_a_live_leased_job():
    # Given a job a live worker holds, and one nobody holds, both dead-lettered
    leased = make_job(
        job_id=job_id(1),
        status=JobStatus.IN_PROGRESS,
        lease_token="t",
        lease_expires_at=(utc_now() + timedelta(minutes=5)).timestamp(),
    )
    abandoned = make_job(job_id=job_id(2), attempts=3)
    store = FakeJobStore(leased, abandoned)
    leased_record = sqs_record(job_message(leased.job_id), receive_count=3)
    event = {"Records": [leased_record, sqs_record(job_message(abandoned.job_id), receive_count=3)]}

    # When the dead-letter handler runs
    response = dead_letters(event, store)

    # Then it reports the leased job's message as failed (SQS keeps it) and fails the other job
    assert response == {"batchItemFailures": [{"itemIdentifier": leased_record["messageId"]}]}
    assert store.get_job(leased.job_id).status is JobStatus.IN_PROGRESS
    assert store.get_job(abandoned.job_id).status is JobStatus.FAILED


def test_a_batch_of_only_live_leased_jobs_is_reported_not_raised():
    leased = make_job(
        status=JobStatus.IN_PROGRESS,
        lease_token="t",
        lease_expires_at=(utc_now() + timedelta(minutes=5)).timestamp(),
    )
    event = sqs_event([job_message(leased.job_id)])

    response = dead_letters(event, FakeJobStore(leased))

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_dead_letter_handler_keeps_poison_messages_for_an_operator():
    store, poison = FakeJobStore(make_job()), FakePoisonMessages()
    before = store.snapshot()
    event = sqs_event(["<not json>", job_message(job_id(404))], receive_count=4)

    response = dead_letters(event, store, poison=poison)

    # moved to the poison-message queue (nothing consumes it), then deleted from the DLQ
    assert response == {"batchItemFailures": []}
    assert [(kept["body"], kept["receiveCount"]) for kept in poison.kept] == [
        ("<not json>", 4),
        (job_message(job_id(404)), 4),
    ]
    assert [kept["messageId"] for kept in poison.kept] == [record["messageId"] for record in event["Records"]]
    assert store.snapshot() == before


def test_a_poison_message_that_cannot_be_kept_stays_in_the_dead_letter_queue():
    class Unavailable(FakePoisonMessages):
        def keep(self, body, **kwargs):
            raise ConnectionError("SQS is unreachable")

    event = sqs_event(["<not json>"])

    response = dead_letters(event, FakeJobStore(), poison=Unavailable())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


# --- requeue ------------------------------------------------------------------------------


def test_the_requeue_handler_sends_overdue_pending_sends_once_and_never_a_waiting_backlog():
    # Given a backlog job QUEUED a day ago (its message waits), a job whose send is 20 s
    # overdue, and one whose writer is still about to send
    backlog = make_job(job_id=job_id(1), updated_at=utc_now() - timedelta(days=1))
    overdue = make_job(job_id=job_id(2), pending_since=int(utc_now().timestamp()) - 20)
    sending = make_job(job_id=job_id(3), pending_since=int(utc_now().timestamp()))
    store, queue = FakeJobStore(backlog, overdue, sending), FakeJobQueue()

    # When the scheduled sweep runs twice
    first = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)
    second = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)

    # Then only the overdue job was sent, once
    assert (first["sent"], first["waiting"], first["finishedPass"]) == ([overdue.job_id], 1, True)
    assert second["sent"] == []
    assert queue.sent == [overdue.job_id]
