"""The job types: each a payload model and a pure function from payload to result."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from cloudqueue.errors import PermanentJobError, TransientJobError
from cloudqueue.jobtypes import JOB_TYPES, JobContext
from cloudqueue.jobtypes.demo import FailPayload, FlakyPayload, SleepPayload
from cloudqueue.jobtypes.text_transform import TextTransformPayload


def context(retry_count: int = 0, attempt: int = 1) -> JobContext:
    return JobContext(job_id="job-1", attempt=attempt, retry_count=retry_count)


def run(name: str, payload: dict, ctx: JobContext | None = None) -> dict:
    job_type = JOB_TYPES[name]
    return job_type.run(job_type.payload_model.model_validate(payload), ctx or context())


def test_the_registry_names_the_seed_job_and_the_three_demo_jobs():
    assert set(JOB_TYPES) == {"text.transform", "demo.flaky", "demo.fail", "demo.sleep"}
    assert all(name == job_type.name for name, job_type in JOB_TYPES.items())


def test_text_transform_upper_cases_and_counts_characters_and_words():
    result = run("text.transform", {"text": "hello  cloudqueue\tworld"})

    assert result == {"originalLength": 23, "uppercase": "HELLO  CLOUDQUEUE\tWORLD", "wordCount": 3}


def test_text_transform_counts_unicode_characters_not_bytes():
    result = run("text.transform", {"text": "héllo wörld"})

    assert result == {"originalLength": 11, "uppercase": "HÉLLO WÖRLD", "wordCount": 2}


@pytest.mark.parametrize("fail_times", [0, 1, 3])
def test_flaky_fails_transiently_exactly_fail_times_times_by_retry_count(fail_times):
    # Given a flaky job that should fail `fail_times` times
    payload = {"failTimes": fail_times}

    # When the state machine retries it (retry_count 0, 1, 2, ...)
    outcomes = []
    for retry_count in range(fail_times + 2):
        try:
            run("demo.flaky", payload, context(retry_count=retry_count))
            outcomes.append("ok")
        except TransientJobError:
            outcomes.append("transient")

    # Then exactly the first `fail_times` tries fail, and every later one succeeds
    assert outcomes == ["transient"] * fail_times + ["ok", "ok"]


def test_flaky_reports_how_often_it_failed_and_which_attempt_succeeded():
    result = run("demo.flaky", {"failTimes": 2}, context(retry_count=2, attempt=3))

    assert result == {"failedTimes": 2, "attempt": 3}


def test_flaky_failure_message_says_which_failure_it_is():
    with pytest.raises(TransientJobError, match="1 of 2"):
        run("demo.flaky", {"failTimes": 2}, context(retry_count=0))


def test_fail_always_fails_permanently_with_its_reason():
    for retry_count in range(3):
        with pytest.raises(PermanentJobError, match="bad input on purpose"):
            run("demo.fail", {"reason": "bad input on purpose"}, context(retry_count=retry_count))


def test_sleep_sleeps_for_the_seconds_asked_then_reports_them():
    started = time.monotonic()

    result = run("demo.sleep", {"seconds": 0.02})

    assert time.monotonic() - started >= 0.02
    assert result == {"sleptSeconds": 0.02}


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (TextTransformPayload, {}),
        (TextTransformPayload, {"text": ""}),
        (TextTransformPayload, {"text": 42}),
        (TextTransformPayload, {"text": "x" * 10_001}),
        (TextTransformPayload, {"text": "ok", "extra": True}),
        (FlakyPayload, {"failTimes": -1}),
        (FlakyPayload, {"failTimes": 11}),
        (FlakyPayload, {"failTimes": "many"}),
        (FlakyPayload, {"fail_times": 1, "typo": 1}),
        (FailPayload, {"reason": ""}),
        (FailPayload, {"reason": "x" * 501}),
        (SleepPayload, {"seconds": 0}),
        (SleepPayload, {"seconds": 61}),
        (SleepPayload, {"seconds": "soon"}),
    ],
)
def test_payloads_outside_their_schema_are_refused(model, payload):
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def test_payload_defaults_apply_when_fields_are_left_out():
    assert FlakyPayload.model_validate({}).fail_times == 2
    assert FailPayload.model_validate({}).reason == "this job always fails"
    assert SleepPayload.model_validate({}).seconds == 5.0


@pytest.mark.parametrize("name", sorted(JOB_TYPES))
def test_every_job_type_example_is_a_valid_payload(name):
    job_type = JOB_TYPES[name]

    job_type.payload_model.model_validate(job_type.example)

    assert job_type.example, "the UI offers the example as a starting point"


@pytest.mark.parametrize("name", sorted(JOB_TYPES))
def test_every_job_type_publishes_a_json_schema_of_its_payload(name):
    schema = JOB_TYPES[name].payload_schema()

    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        field.alias or field_name for field_name, field in JOB_TYPES[name].payload_model.model_fields.items()
    }
