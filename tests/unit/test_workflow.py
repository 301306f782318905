"""The state machine's three steps, against the fake store: claim, process, finalize."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloudqueue.errors import (
    EnqueueFailed,
    JobLeased,
    JobNotYetWritten,
    LeaseLost,
    PermanentJobError,
    TransientJobError,
)
from cloudqueue.models import (
    ClaimRequest,
    FinalizeRequest,
    Job,
    JobFailure,
    JobStatus,
)
from cloudqueue.processing import ProcessRequest, process_job
from cloudqueue.workflow import FRESH_MESSAGE_SECONDS, claim_job, finalize_job
from tests.fakes import (
    T0,
    FakeJobStore,
    FakePoisonMessages,
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
GRACE_SECONDS = 15


def claim(
    store: FakeJobStore,
    job_id_: str,
    *,
    at=T0,
    execution: str = "run-1",
    message: str = "m-1",
    sent_at=None,
    poison: FakePoisonMessages | None = None,
):
    event = claim_event(
        job_id_,
        execution_id=execution_arn(execution),
        message_id=message,
        sent_timestamp=None if sent_at is None else int(sent_at.timestamp() * 1000),
    )
    request = ClaimRequest.model_validate(event)
    return claim_job(
        request,
        store=store,
        poison=poison or FakePoisonMessages(),
        now=at,
        lease_seconds=LEASE_SECONDS,
        submit_grace_seconds=GRACE_SECONDS,
    )


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


def test_the_lease_holders_own_message_back_while_its_lease_is_live_raises_job_leased():
    # Given a job claimed a moment ago by the execution of message m-1
    job = make_job()
    store = FakeJobStore(job)
    first = claim(store, job.job_id, execution="run-1", message="m-1")

    # When m-1 comes back (its execution failed) and another execution tries it before the lease expires
    with pytest.raises(JobLeased):
        claim(store, job.job_id, at=later(LEASE_SECONDS - 1), execution="run-2", message="m-1")

    # Then the first claim still holds it: m-1 must come back later, after the lease
    stored = store.get_job(job.job_id)
    assert stored.lease_token == first.lease_token
    assert stored.attempts == 1


def test_another_message_while_a_live_lease_is_held_is_skipped_and_consumed():
    # Given a job held by the execution of message m-1
    job = make_job()
    store = FakeJobStore(job)
    first = claim(store, job.job_id, execution="run-1", message="m-1")

    # When a duplicate message m-2 of the same job is delivered while the lease is live
    second = claim(store, job.job_id, at=later(5), execution="run-2", message="m-2")

    # Then it is SKIPPED (m-1 still carries the job); the claim and the lease are untouched
    assert second.outcome == "SKIPPED"
    assert "another message" in second.reason
    stored = store.get_job(job.job_id)
    assert (stored.attempts, stored.lease_token, stored.lease_message_id) == (1, first.lease_token, "m-1")
    assert stored.executions == [execution_arn("run-1"), execution_arn("run-2")]


def test_a_retried_claim_from_the_same_execution_gets_the_same_claim():
    # Given a claim whose write happened but whose answer was lost (the Lambda timed out)
    job = make_job()
    store = FakeJobStore(job)
    first = claim(store, job.job_id, execution="run-1", message="m-1")

    # When the state machine retries the claim in the same execution
    again = claim(store, job.job_id, at=later(2), execution="run-1", message="m-1")

    # Then it gets the same claim: same token and attempt, nothing written
    assert again.outcome == "CLAIMED"
    assert (again.lease_token, again.attempt) == (first.lease_token, 1)
    assert store.get_job(job.job_id).executions == [execution_arn("run-1")]


def test_the_claim_records_the_message_and_execution_holding_the_lease_and_clears_a_pending_send():
    job = make_job(pending_since=int(T0.timestamp()))
    store = FakeJobStore(job)

    claim(store, job.job_id, execution="run-1", message="m-7")

    stored = store.get_job(job.job_id)
    assert (stored.lease_message_id, stored.lease_execution_id) == ("m-7", execution_arn("run-1"))
    assert stored.pending_since is None


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


@pytest.mark.parametrize(
    "body",
    ["", "not json", "{}", '{"jobId": ""}', '{"jobId": 7}', '{"id": "x"}', "[]", '{"jobId": "idem#abc"}'],
)
def test_a_message_that_is_not_a_job_message_is_kept_as_poison_at_once(body):
    # Given a message that is not a job message, at its first delivery
    store = FakeJobStore(make_job())
    before = store.snapshot()
    poison = FakePoisonMessages()
    request = ClaimRequest.model_validate(claim_event(body=body, message_id="m-9", receive_count=1))

    # When it is claimed
    response = claim_job(
        request,
        store=store,
        poison=poison,
        now=T0,
        lease_seconds=LEASE_SECONDS,
        submit_grace_seconds=GRACE_SECONDS,
    )

    # Then it is kept in the poison-message queue, as received, and answered POISON (the
    # execution succeeds), and the table is untouched
    assert (response.outcome, response.job_id) == ("POISON", None)
    assert response.reason is not None and response.reason.startswith("queue message")
    assert poison.kept == [{"body": body, "messageId": "m-9", "receiveCount": 1, "reason": response.reason}]
    assert store.snapshot() == before


def test_a_message_naming_a_missing_job_within_the_grace_raises_job_not_yet_written():
    # The API sends the message before it writes the job: the write may still come.
    store = FakeJobStore()
    poison = FakePoisonMessages()

    with pytest.raises(JobNotYetWritten, match=job_id(404)):
        claim(store, job_id(404), at=later(GRACE_SECONDS - 1), sent_at=T0, poison=poison)

    assert store.tombstones == set()
    assert poison.kept == []


def test_a_message_naming_a_missing_job_past_the_grace_is_tombstoned_and_kept_as_poison():
    store = FakeJobStore()
    poison = FakePoisonMessages()

    response = claim(store, job_id(404), at=later(GRACE_SECONDS), sent_at=T0, message="m-404", poison=poison)

    assert (response.outcome, response.job_id) == ("POISON", job_id(404))
    assert response.reason is not None and response.reason.startswith("no such job")
    assert store.tombstones == {job_id(404)}
    assert [(kept["body"], kept["messageId"]) for kept in poison.kept] == [
        (claim_event(job_id(404))["message"]["body"], "m-404")
    ]
    # and a late write of that job now fails: its client was told 503
    with pytest.raises(EnqueueFailed):
        store.create_job(make_job(job_id=job_id(404)))


def test_a_missing_job_written_just_as_the_grace_ends_is_claimed_not_kept_as_poison():
    # Given a job the API writes after the claim's look but before its tombstone
    late = make_job(job_id=job_id(405))

    class WrittenBeforeTheTombstone(FakeJobStore):
        def write_tombstone(self, job_id_: str, now) -> bool:
            self.put(late)
            return super().write_tombstone(job_id_, now)

    store, poison = WrittenBeforeTheTombstone(), FakePoisonMessages()

    # Then the claim is retried (the retry claims it), and nothing is kept
    with pytest.raises(JobNotYetWritten):
        claim(store, late.job_id, at=later(GRACE_SECONDS), sent_at=T0, poison=poison)
    assert poison.kept == []
    retried = claim(store, late.job_id, at=later(GRACE_SECONDS + 1), sent_at=T0, poison=poison)
    assert retried.outcome == "CLAIMED"


def test_a_failed_send_to_the_poison_queue_fails_the_claim_so_the_message_is_not_lost():
    class Unreachable(FakePoisonMessages):
        def keep(self, body: str, **kwargs) -> None:
            raise ConnectionError("SQS is unreachable")

    store = FakeJobStore()

    with pytest.raises(ConnectionError):
        claim(store, job_id(407), at=later(GRACE_SECONDS), sent_at=T0, poison=Unreachable())


class WriteLandsAfter(FakeJobStore):
    """The API's write lands after the claim's first look, once ``reads`` reads have missed it."""

    def __init__(self, late: Job, reads: int) -> None:
        super().__init__()
        self.late, self.reads = late, reads

    def get_job(self, job_id: str) -> Job | None:
        self.reads -= 1
        if self.reads == 0:
            self.put(self.late)
        return super().get_job(job_id)


def claim_waiting(store: FakeJobStore, job_id_: str, *, at, sent_at, waits: list[float]):
    request = ClaimRequest.model_validate(
        claim_event(
            job_id_, execution_id=execution_arn("run-1"), sent_timestamp=int(sent_at.timestamp() * 1000)
        )
    )
    return claim_job(
        request,
        store=store,
        poison=FakePoisonMessages(),
        now=at,
        lease_seconds=LEASE_SECONDS,
        submit_grace_seconds=GRACE_SECONDS,
        wait=waits.append,
    )


def test_the_claim_of_a_fresh_message_waits_for_the_apis_write_and_claims_it():
    # Given a message claimed 10 ms after its send, before the API's write lands
    job = make_job(job_id=job_id(406))
    store = WriteLandsAfter(job, reads=3)
    waits: list[float] = []

    # When the claim watches for the write
    response = claim_waiting(store, job.job_id, at=T0 + timedelta(milliseconds=10), sent_at=T0, waits=waits)

    # Then it claims the job in the same call, its lease counted from after the wait
    assert response.outcome == "CLAIMED"
    assert len(waits) == 3
    claimed = store.get_job(job.job_id)
    assert claimed.lease_expires_at == pytest.approx(
        (T0 + timedelta(milliseconds=10) + timedelta(seconds=sum(waits))).timestamp() + LEASE_SECONDS
    )


def test_the_claim_of_a_fresh_message_whose_write_never_comes_raises_after_a_bounded_wait():
    store = FakeJobStore()
    waits: list[float] = []

    with pytest.raises(JobNotYetWritten):
        claim_waiting(store, job_id(407), at=T0 + timedelta(milliseconds=10), sent_at=T0, waits=waits)

    assert 0 < sum(waits) <= 0.3 + 1e-9
    assert store.tombstones == set()


@pytest.mark.parametrize(
    "age", [FRESH_MESSAGE_SECONDS, 2.0], ids=["the instant it is no longer fresh", "older"]
)
def test_the_claim_of_a_message_no_longer_fresh_does_not_wait(age):
    store = FakeJobStore()
    waits: list[float] = []

    with pytest.raises(JobNotYetWritten):
        claim_waiting(store, job_id(408), at=T0 + timedelta(seconds=age), sent_at=T0, waits=waits)

    assert waits == []


def test_the_claim_of_a_fresh_message_whose_job_is_written_claims_it_without_waiting():
    job = make_job(job_id=job_id(409))
    store = FakeJobStore(job)
    waits: list[float] = []

    response = claim_waiting(store, job.job_id, at=T0 + timedelta(milliseconds=10), sent_at=T0, waits=waits)

    assert response.outcome == "CLAIMED"
    assert waits == []
    assert (
        store.get_job(job.job_id).lease_expires_at
        == (T0 + timedelta(milliseconds=10)).timestamp() + LEASE_SECONDS
    )


class WriteLandsBeforeTheTombstone(FakeJobStore):
    """The API's write lands between the claim's look and its tombstone."""

    def __init__(self, late: Job) -> None:
        super().__init__()
        self.late = late

    def write_tombstone(self, job_id: str, now) -> bool:
        self.put(self.late)
        return super().write_tombstone(job_id, now)


def test_a_job_written_just_before_the_tombstone_is_not_tombstoned_and_the_retry_claims_it():
    job = make_job(job_id=job_id(405))
    store = WriteLandsBeforeTheTombstone(job)

    with pytest.raises(JobNotYetWritten):
        claim(store, job.job_id, at=later(GRACE_SECONDS + 1), sent_at=T0)
    retried = claim(store, job.job_id, at=later(GRACE_SECONDS + 2), sent_at=T0)

    assert store.tombstones == set()
    assert retried.outcome == "CLAIMED"


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
    assert stored.lease_expires_at is None
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


def test_a_retried_finalize_after_its_write_returns_the_status_and_writes_nothing():
    store = FakeJobStore()
    job_id_, token = claimed_job(store)
    finalize(store, finalize_event(job_id_, lease_token=token, result={"first": True}))
    before = store.snapshot()

    again = finalize(store, finalize_event(job_id_, lease_token=token, result={"second": True}))

    assert again.status is JobStatus.SUCCEEDED
    assert store.snapshot() == before


def test_a_finished_job_cannot_be_finished_by_another_token():
    store = FakeJobStore()
    job_id_, token = claimed_job(store)
    finalize(store, finalize_event(job_id_, lease_token=token, result={"first": True}))

    with pytest.raises(LeaseLost):
        finalize(store, finalize_event(job_id_, lease_token="other", outcome="FAILED", error="Late"))

    assert store.get_job(job_id_).result == {"first": True}
