"""The shapes CloudQueue passes around: camelCase outside, snake_case inside, secrets kept in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from cloudqueue.api_models import JobView
from cloudqueue.models import (
    ClaimResponse,
    FinalizeRequest,
    Job,
    JobMessage,
    JobStatus,
    QueueRecord,
    TaskFailure,
    format_timestamp,
)
from tests.fakes import T0, job_id, make_job


def test_timestamps_are_utc_with_milliseconds_and_a_z():
    # Given a moment with microseconds, in another time zone
    moment = datetime(2026, 11, 28, 6, 32, 50, 123456, tzinfo=timezone(timedelta(hours=2)))

    # When it is formatted
    text = format_timestamp(moment)

    # Then it is the same instant in UTC, truncated to milliseconds
    assert text == "2026-11-28T04:32:50.123Z"


def test_formatted_timestamps_sort_as_text_in_time_order():
    moments = [T0 + timedelta(milliseconds=step) for step in (0, 1, 999, 1000, 86_400_000)]

    texts = [format_timestamp(moment) for moment in moments]

    assert texts == sorted(texts)
    assert len(set(texts)) == len(texts)


def test_a_job_is_written_in_camel_case_and_read_back_unchanged():
    # Given a job with every optional field set
    job = make_job(
        job_id=job_id(1),
        status=JobStatus.IN_PROGRESS,
        attempts=2,
        started_at=T0,
        lease_token="secret",
        lease_expires_at=1767323100.5,
        executions=["arn:1", "arn:2"],
        idempotency_key="key-1",
        expires_at=1769915045,
    )

    # When it is dumped as JSON and validated again
    data = job.to_json_dict()
    again = Job.model_validate(data)

    # Then the outside names are camelCase and nothing was lost
    assert {"jobId", "createdAt", "leaseToken", "leaseExpiresAt", "idempotencyKey", "payloadHash"} <= set(
        data
    )
    assert "job_id" not in data
    assert data["createdAt"] == "2026-01-02T03:04:05.678Z"
    assert again == job


def test_the_job_view_hides_the_lease_token_and_the_bookkeeping():
    job = make_job(lease_token="fencing-secret", expires_at=1769915045, idempotency_key="k")

    view = JobView.of(job).to_json_dict()

    assert "leaseToken" not in view
    assert "payloadHash" not in view
    assert "expiresAt" not in view
    assert "fencing-secret" not in json.dumps(view)
    assert view["jobId"] == job.job_id
    assert view["idempotencyKey"] == "k"


def test_a_job_message_carries_only_the_job_id():
    message = JobMessage.model_validate_json('{"jobId": "abc"}')

    assert message.job_id == "abc"
    assert message.run_at is None
    assert message.model_dump_json(by_alias=True, exclude_none=True) == '{"jobId":"abc"}'


def test_a_delayed_job_message_carries_its_due_time_too():
    from cloudqueue.adapters.sqs import job_message_body

    due = datetime(2026, 12, 6, 13, 0, 5, tzinfo=UTC)
    body = job_message_body("abc", due)

    assert body == '{"jobId":"abc","runAt":"2026-12-06T13:00:05.000Z"}'
    assert JobMessage.model_validate_json(body).run_at == due


@pytest.mark.parametrize(
    "body",
    [
        "{}",
        '{"jobId": ""}',
        '{"jobId": 42}',
        '{"jobId": "abc", "extra": 1}',
        '{"jobId": "' + "x" * 65 + '"}',
        '["abc"]',
        "abc",
    ],
)
def test_anything_but_a_job_id_is_not_a_job_message(body):
    with pytest.raises(ValidationError):
        JobMessage.model_validate_json(body)


def test_a_pipe_record_receive_count_given_as_text_is_read_as_a_number():
    # The Pipe's SQS attributes are strings: ApproximateReceiveCount is "3", not 3.
    record = QueueRecord.model_validate({"messageId": "m", "body": "{}", "receiveCount": "3"})

    assert record.receive_count == 3


def test_a_pipe_record_reads_its_receive_count_and_sent_time_from_its_sqs_attributes():
    attributes = {"ApproximateReceiveCount": "2", "SentTimestamp": "1767323045678", "SenderId": "A"}

    record = QueueRecord.model_validate({"messageId": "m", "body": "{}", "attributes": attributes})
    by_hand = QueueRecord.model_validate({"messageId": "m", "body": "{}", "attributes": {}})

    assert (record.receive_count, record.sent_timestamp) == (2, 1767323045678)
    assert (by_hand.receive_count, by_hand.sent_timestamp) == (1, None)  # no runtime error, no age


def test_a_claim_response_always_has_every_key_the_state_machine_selects():
    # The ResultSelector reads $.Payload.reason, .leaseToken, ... even when they are empty:
    # a missing key would fail the execution with States.Runtime.
    skipped = ClaimResponse(outcome="SKIPPED", job_id="j", reason="job is already SUCCEEDED")

    data = skipped.to_json_dict()

    assert set(data) == {"outcome", "jobId", "reason", "leaseToken", "type", "payload", "attempt"}
    assert data["leaseToken"] is None


def test_a_catch_output_is_read_from_step_functions_capitalised_keys():
    failure = TaskFailure.model_validate({"Error": "PermanentJobError", "Cause": '{"errorMessage": "no"}'})

    assert failure.error == "PermanentJobError"
    assert failure.cause == '{"errorMessage": "no"}'
    assert failure.model_dump(by_alias=True) == {
        "Error": "PermanentJobError",
        "Cause": '{"errorMessage": "no"}',
    }


def test_a_finalize_request_reads_the_failure_the_catch_wrote():
    request = FinalizeRequest.model_validate(
        {"jobId": "j", "leaseToken": "t", "outcome": "FAILED", "failure": {"Error": "States.Timeout"}}
    )

    assert request.failure is not None
    assert request.failure.error == "States.Timeout"
    assert request.failure.cause is None


def test_a_finalize_request_refuses_an_outcome_that_is_not_terminal():
    with pytest.raises(ValidationError):
        FinalizeRequest.model_validate({"jobId": "j", "leaseToken": "t", "outcome": "IN_PROGRESS"})


def test_a_job_status_must_be_one_of_the_lifecycle_states():
    with pytest.raises(ValidationError):
        make_job(status="RUNNING")


def test_one_instant_formats_alike_from_any_time_zone():
    aware = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    assert format_timestamp(aware) == format_timestamp(aware.astimezone(timezone(timedelta(hours=-7))))
