"""Step events for `cloudqueue invoke --job-id`, built by walking the real statemachine/jobs.asl.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudqueue.models import ClaimRequest, FinalizeRequest
from cloudqueue.processing import ProcessRequest
from cloudqueue_local.client.step_events import StepEventError, Workflow, build_event
from tests.fakes import sqs_record

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:cloudqueue-local-jobs"
JOB = "01a2206d-65cb-719a-b708-216cee9e7ef3"
CLAIMED = {
    "outcome": "CLAIMED",
    "jobId": JOB,
    "reason": None,
    "leaseToken": "token-1",
    "type": "text.transform",
    "payload": {"text": "hi"},
    "attempt": 2,
}


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    return Workflow.read(ROOT / "statemachine" / "jobs.asl.json", ARN)


def pipe_input() -> list[dict[str, Any]]:
    return [sqs_record(json.dumps({"jobId": JOB}), message_id="message-1")]


def test_the_claim_event_is_what_the_state_machine_passes_from_the_pipe_record(workflow):
    event = build_event(workflow, "ClaimFunction", pipe_input(), [], execution_id="arn:exec")

    request = ClaimRequest.model_validate(event)
    assert json.loads(request.message.body) == {"jobId": JOB}
    assert request.message.message_id == "message-1"
    assert request.execution_id == "arn:exec"


def test_the_process_event_comes_from_the_claims_output(workflow):
    event = build_event(workflow, "ProcessFunction", pipe_input(), [CLAIMED])

    assert ProcessRequest.model_validate(event) == ProcessRequest(
        job_id=JOB,
        type="text.transform",
        payload={"text": "hi"},
        attempt=2,
        retry_count=0,
        lease_token=CLAIMED["leaseToken"],  # fences the job code's progress writes
    )


def test_finalize_records_a_success_from_both_outputs(workflow):
    event = build_event(workflow, "FinalizeFunction", pipe_input(), [CLAIMED, {"uppercase": "HI"}])

    request = FinalizeRequest.model_validate(event)
    assert (request.outcome, request.lease_token, request.result) == (
        "SUCCEEDED",
        "token-1",
        {"uppercase": "HI"},
    )


def test_finalize_records_a_failure_when_the_process_step_answered_an_error(workflow):
    error = {"errorType": "PermanentJobError", "errorMessage": "no"}

    event = build_event(workflow, "FinalizeFunction", pipe_input(), [CLAIMED, error])

    request = FinalizeRequest.model_validate(event)
    assert request.outcome == "FAILED" and request.failure is not None
    assert request.failure.error == "PermanentJobError"
    assert json.loads(request.failure.cause or "")["errorMessage"] == "no"


@pytest.mark.parametrize(
    ("function", "outputs", "says"),
    [
        ("ProcessFunction", [], "give ClaimJob's output with --from-output"),
        ("ProcessFunction", [CLAIMED | {"outcome": "SKIPPED", "reason": "job is already FAILED"}], "SKIPPED"),
        ("ProcessFunction", [CLAIMED, {}], "more than the steps before ProcessFunction"),
        ("ApiFunction", [], "not a step of the workflow"),
    ],
)
def test_an_event_that_cannot_be_built_says_why(workflow, function, outputs, says):
    with pytest.raises(StepEventError, match=says):
        build_event(workflow, function, pipe_input(), outputs)
