"""The state machine's three steps, against the fake store: claim, process, finalize."""

from __future__ import annotations

import pytest

from cloudqueue.errors import (
    InvalidMessage,
    JobLeased,
    JobNotFound,
    LeaseLost,
    PermanentJobError,
    TransientJobError,
)
from cloudqueue.models import (
    ClaimRequest,
    FinalizeRequest,
    JobFailure,
    JobStatus,
    ProcessRequest,
)
from cloudqueue.workflow import claim_job, finalize_job, process_job
from tests.fakes import (
    T0,
    FakeJobStore,
    claim_event,
    execution_arn,
    finalize_event,
    job_id,
    lambda_cause,
    later,
    make_job,
    process_event,
)

LEASE_SECONDS = 60


def claim(store: FakeJobStore, job_id_: str, *, at=T0, execution: str = "run-1"):
    request = ClaimRequest.model_validate(claim_event(job_id_, execution_id=execution_arn(execution)))
    return claim_job(request, store=store, now=at, lease_seconds=LEASE_SECONDS)


def finalize(store: FakeJobStore, event: dict, *, at=T0):
    return finalize_job(FinalizeRequest.model_validate(event), store=store, now=at)


# --- claim --------------------------------------------------------------------------------


def test_claiming_a_queued_job_leases_it_to_this_execution():
    # Given a QUEUED job
    job = make_job()
    store = FakeJobStore(job)

    # When an execution claims it
    response = claim(store, job.job_id, execution="run-1")

    # Then the job is IN_PROGRESS under a fresh lease, and the response carries what ProcessJob needs
    stored = store.get_job(job.job_id)
    assert response.outcome == "CLAIMED"
    assert (response.type, response.payload, response.attempt) == (job.type, job.payload, 1)
    assert stored.status is JobStatus.IN_PROGRESS
    assert stored.lease_token == response.lease_token
    assert stored.lease_expires_at == T0.timestamp() + LEASE_SECONDS
    assert stored.executions == [execution_arn("run-1")]


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_duplicate_delivery_does_no_work(status):
    # Given a job that already ended
    job = make_job(status=status, attempts=1, executions=[execution_arn("run-1")])
    store = FakeJobStore(job)

    # When its message is delivered again
    response = claim(store, job.job_id, execution="run-2")

    # Then nothing is claimed, the job stays as it was, and the execution is remembered for the history
    stored = store.get_job(job.job_id)
    assert response.outcome == "SKIPPED"
    assert status.value in response.reason
    assert response.lease_token is None
    assert (stored.status, stored.attempts, stored.lease_token) == (status, 1, None)
    assert stored.executions == [execution_arn("run-1"), execution_arn("run-2")]


def test_a_job_a_live_worker_holds_raises_job_leased_and_keeps_its_lease():
    # Given a job claimed a moment ago
    job = make_job()
    store = FakeJobStore(job)
    first = claim(store, job.job_id, execution="run-1")

    # When another delivery tries to claim it before the lease expires
    with pytest.raises(JobLeased):
        claim(store, job.job_id, at=later(LEASE_SECONDS - 1), execution="run-2")

    # Then the first worker still holds it
    stored = store.get_job(job.job_id)
    assert stored.lease_token == first.lease_token
    assert stored.attempts == 1


def test_a_job_is_claimed_again_after_its_worker_died_and_the_lease_expired():
    # Given a job whose worker died holding it
    job = make_job()
    store = FakeJobStore(job)
    first = claim(store, job.job_id, execution="run-1")

    # When a redelivery claims it after the lease expired
    second = claim(store, job.job_id, at=later(LEASE_SECONDS + 1), execution="run-2")

    # Then it is the second attempt, under a new lease, and the dead worker's token is fenced off
    assert second.outcome == "CLAIMED"
    assert second.attempt == 2
    assert second.lease_token != first.lease_token
    assert store.get_job(job.job_id).executions == [execution_arn("run-1"), execution_arn("run-2")]
    with pytest.raises(LeaseLost):
        finalize(
            store, finalize_event(job.job_id, lease_token=first.lease_token), at=later(LEASE_SECONDS + 2)
        )


@pytest.mark.parametrize("body", ["", "not json", "{}", '{"jobId": ""}', '{"jobId": 7}', '{"id": "x"}', "[]"])
def test_a_message_that_is_not_a_job_message_is_invalid(body):
    store = FakeJobStore(make_job())
    before = store.snapshot()
    request = ClaimRequest.model_validate(claim_event(body=body))

    with pytest.raises(InvalidMessage):
        claim_job(request, store=store, now=T0, lease_seconds=LEASE_SECONDS)

    assert store.snapshot() == before


def test_a_message_naming_a_missing_job_raises_job_not_found():
    store = FakeJobStore()

    with pytest.raises(JobNotFound, match=job_id(404)):
        claim(store, job_id(404))


# --- process ------------------------------------------------------------------------------


def test_process_runs_the_job_type_on_its_payload():
    request = ProcessRequest.model_validate(process_event("j", payload={"text": "hi there"}))

    assert process_job(request) == {"originalLength": 8, "uppercase": "HI THERE", "wordCount": 2}


def test_process_passes_the_state_machines_retry_count_to_the_job():
    flaky = {"type": "demo.flaky", "payload": {"failTimes": 1}}

    with pytest.raises(TransientJobError):
        process_job(ProcessRequest.model_validate(process_event("j", retry_count=0, **flaky)))
    result = process_job(ProcessRequest.model_validate(process_event("j", retry_count=1, attempt=2, **flaky)))

    assert result == {"failedTimes": 1, "attempt": 2}


def test_an_unknown_job_type_fails_permanently_naming_the_known_types():
    request = ProcessRequest.model_validate(process_event("j", type="image.resize", payload={}))

    with pytest.raises(PermanentJobError, match=r"image\.resize") as raised:
        process_job(request)

    assert "text.transform" in str(raised.value)


def test_a_payload_that_does_not_match_its_type_fails_permanently():
    request = ProcessRequest.model_validate(process_event("j", payload={"text": ""}))

    with pytest.raises(PermanentJobError, match=r"invalid payload for text\.transform"):
        process_job(request)


# --- finalize -----------------------------------------------------------------------------


def claimed_job(store: FakeJobStore) -> tuple[str, str]:
    job = make_job()
    store.put(job)
    return job.job_id, claim(store, job.job_id).lease_token


def test_finalizing_a_success_writes_the_result_and_releases_the_lease():
    # Given a claimed job
    store = FakeJobStore()
    job_id_, token = claimed_job(store)

    # When its worker records success
    response = finalize(store, finalize_event(job_id_, lease_token=token, result={"n": 1}), at=later(5))

    # Then the job SUCCEEDED with the result, and no lease is left on it
    stored = store.get_job(job_id_)
    assert (response.job_id, response.status) == (job_id_, JobStatus.SUCCEEDED)
    assert stored.status is JobStatus.SUCCEEDED
    assert stored.result == {"n": 1}
    assert stored.error is None
    assert (stored.lease_token, stored.lease_expires_at) == (None, None)
    assert stored.finished_at == later(5)


def test_finalizing_a_failure_writes_the_error_name_and_the_message_from_the_cause():
    # Given a claimed job whose ProcessJob raised PermanentJobError, caught by the state machine
    store = FakeJobStore()
    job_id_, token = claimed_job(store)
    event = finalize_event(
        job_id_,
        lease_token=token,
        outcome="FAILED",
        error="PermanentJobError",
        cause=lambda_cause("invalid payload for text.transform: text is empty"),
    )

    # When the failure is recorded
    response = finalize(store, event)

    # Then the job FAILED with the error's class name and its readable message, not the raw JSON
    stored = store.get_job(job_id_)
    assert response.status is JobStatus.FAILED
    assert stored.error == JobFailure(
        type="PermanentJobError", message="invalid payload for text.transform: text is empty"
    )
    assert stored.result is None


@pytest.mark.parametrize(
    ("error", "cause", "expected"),
    [
        (
            "States.Timeout",
            "Task timed out after 30.00 seconds",
            JobFailure(type="States.Timeout", message="Task timed out after 30.00 seconds"),
        ),
        ("States.TaskFailed", None, JobFailure(type="States.TaskFailed", message="States.TaskFailed")),
    ],
)
def test_a_failure_without_a_lambda_cause_keeps_what_step_functions_gave(error, cause, expected):
    store = FakeJobStore()
    job_id_, token = claimed_job(store)

    finalize(store, finalize_event(job_id_, lease_token=token, outcome="FAILED", error=error, cause=cause))

    assert store.get_job(job_id_).error == expected


def test_a_failure_with_no_catch_output_is_an_unknown_error():
    store = FakeJobStore()
    job_id_, token = claimed_job(store)

    finalize(store, finalize_event(job_id_, lease_token=token, outcome="FAILED"))

    assert store.get_job(job_id_).error.type == "UnknownError"


def test_a_very_long_error_message_is_cut_to_2000_characters():
    store = FakeJobStore()
    job_id_, token = claimed_job(store)
    event = finalize_event(
        job_id_,
        lease_token=token,
        outcome="FAILED",
        error="PermanentJobError",
        cause=lambda_cause("x" * 5000),
    )

    finalize(store, event)

    assert store.get_job(job_id_).error.message == "x" * 2000


def test_a_worker_with_a_stale_lease_token_cannot_finish_the_job():
    # Given a claimed job
    store = FakeJobStore()
    job_id_, _token = claimed_job(store)
    before = store.snapshot()

    # When someone finalizes it with another token
    with pytest.raises(LeaseLost):
        finalize(store, finalize_event(job_id_, lease_token="stale-token"))

    # Then nothing was written
    assert store.snapshot() == before


def test_a_finished_job_cannot_be_finished_twice():
    store = FakeJobStore()
    job_id_, token = claimed_job(store)
    finalize(store, finalize_event(job_id_, lease_token=token, result={"first": True}))

    with pytest.raises(LeaseLost):
        finalize(store, finalize_event(job_id_, lease_token=token, outcome="FAILED", error="Late"))

    assert store.get_job(job_id_).result == {"first": True}
