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
from tests.fakes import (
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
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

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "jobs.asl.json"
LEASE_SECONDS = 120


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("STALE_QUEUED_SECONDS", "900")
    monkeypatch.setenv("LEASE_GRACE_SECONDS", "300")
    claim.settings.cache_clear()
    requeue.settings.cache_clear()
    yield
    claim.settings.cache_clear()
    requeue.settings.cache_clear()


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


def test_the_claim_handler_raises_invalid_message_for_a_foreign_body():
    with pytest.raises(errors.InvalidMessage):
        claim.handler(claim_event(body='{"hello": "world"}'), FakeLambdaContext(), store=FakeJobStore())


# --- process ------------------------------------------------------------------------------


def test_the_process_handler_returns_the_job_result():
    result = process.handler(process_event("j", payload={"text": "abc def"}), FakeLambdaContext())

    assert result == {"originalLength": 7, "uppercase": "ABC DEF", "wordCount": 2}


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
    # Given the names the ASL's Retry and Catch fields match, besides the States.* and Lambda.* ones
    definition = json.loads(ASL.read_text())
    matched = {
        name
        for state in definition["States"].values()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for name in rule["ErrorEquals"]
        if not name.startswith(("States.", "Lambda."))
    }

    # Then each is a job error class in cloudqueue.errors, so a rename breaks this test
    assert matched == {"JobLeased", "TransientJobError", "LeaseLost"}
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


def test_the_dead_letter_handler_fails_the_jobs_of_dead_letters():
    job = make_job()
    store = FakeJobStore(job)

    response = dead_letter.handler(sqs_event([job_message(job.job_id)]), FakeLambdaContext(), store=store)

    assert response == {"batchItemFailures": []}
    stored = store.get_job(job.job_id)
    assert stored.status is JobStatus.FAILED
    assert "received 3 times" in stored.error.message


def test_the_dead_letter_handler_keeps_the_message_of_a_live_leased_job():
    # Given a job a live worker holds, and one nobody holds, both dead-lettered
    leased = make_job(
        job_id=job_id(1),
        status=JobStatus.IN_PROGRESS,
        lease_token="t",
        lease_expires_at=(utc_now() + timedelta(minutes=5)).timestamp(),
    )
    abandoned = make_job(job_id=job_id(2))
    store = FakeJobStore(leased, abandoned)
    leased_record = sqs_record(job_message(leased.job_id), receive_count=3)
    event = {"Records": [leased_record, sqs_record(job_message(abandoned.job_id), receive_count=3)]}

    # When the dead-letter handler runs
    response = dead_letter.handler(event, FakeLambdaContext(), store=store)

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

    response = dead_letter.handler(event, FakeLambdaContext(), store=FakeJobStore(leased))

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_dead_letter_handler_drops_unreadable_dead_letters():
    store = FakeJobStore(make_job())
    before = store.snapshot()

    response = dead_letter.handler(
        sqs_event(["<not json>", job_message(job_id(404))]), FakeLambdaContext(), store=store
    )

    assert response == {"batchItemFailures": []}
    assert store.snapshot() == before


# --- requeue ------------------------------------------------------------------------------


def test_the_requeue_handler_sends_each_stranded_job_once():
    # Given a job QUEUED 20 minutes ago (stale after 15) and one QUEUED just now
    stale = make_job(job_id=job_id(1), updated_at=utc_now() - timedelta(minutes=20))
    fresh = make_job(job_id=job_id(2), updated_at=utc_now())
    store, queue = FakeJobStore(stale, fresh), FakeJobQueue()

    # When the scheduled sweep runs twice
    first = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)
    second = requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)

    # Then only the stale job was sent, once
    assert first == {"requeued": [stale.job_id], "skipped": []}
    assert second == {"requeued": [], "skipped": []}
    assert queue.sent == [stale.job_id]
