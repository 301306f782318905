"""Job events: which writes of the table are a change of a job's status, and the detail each
makes; the events Pipe's filter, matched as EventBridge matches it."""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import EventPattern

from cloudqueue.adapters.dynamodb.items import to_item
from cloudqueue.handlers.events import job_state_changes
from cloudqueue_local.project import PROJECT_ROOT
from cloudqueue_local.template import load_local_template
from tests.conftest import OPTIONS_ON

JOB = {
    "jobId": "0192f0c4-0000-7000-8000-000000000001",
    "type": "text.transform",
    "payload": {"text": "hi"},
    "owner": "alice",
    "createdAt": "2026-12-06T12:00:00.000Z",
    "updatedAt": "2026-12-06T12:00:00.000Z",
    "queuedAt": "2026-12-06T12:00:00.000Z",
}


def record(event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stream record as the Pipe hands it on (NEW_AND_OLD_IMAGES)."""
    dynamodb: dict[str, Any] = {"Keys": {"jobId": {"S": JOB["jobId"]}}, "SequenceNumber": "1"}
    if new is not None:
        dynamodb["NewImage"] = to_item(new)
    if old is not None:
        dynamodb["OldImage"] = to_item(old)
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


def test_a_new_job_is_queued_with_no_previous_status() -> None:
    (detail,) = job_state_changes([record("INSERT", JOB | {"status": "QUEUED"})])
    assert detail["jobId"] == JOB["jobId"]
    assert detail["status"] == "QUEUED"
    assert detail["previousStatus"] is None
    assert detail["owner"] == "alice"
    assert detail["run"] == 1


def test_a_failure_carries_its_error_and_the_status_before() -> None:
    error = {"type": "PermanentJobError", "message": "bad input"}
    before = JOB | {"status": "IN_PROGRESS"}
    after = before | {"status": "FAILED", "error": error, "finishedAt": "2026-12-06T12:00:01.000Z"}
    (detail,) = job_state_changes([record("MODIFY", after, before)])
    assert (detail["previousStatus"], detail["status"]) == ("IN_PROGRESS", "FAILED")
    assert detail["error"] == error
    assert detail["finishedAt"] == "2026-12-06T12:00:01.000Z"


def test_a_write_that_keeps_the_status_makes_no_event() -> None:
    # A lease renewal (or a webhook attempt recorded on a finished job) changes no status.
    before = JOB | {"status": "IN_PROGRESS", "leaseExpiresAt": 1}
    assert job_state_changes([record("MODIFY", before | {"leaseExpiresAt": 2}, before)]) == []


def test_items_that_are_not_jobs_and_deletions_make_no_event() -> None:
    key = {"jobId": "idem#k", "targetJobId": JOB["jobId"]}
    deleted = record("REMOVE", None, JOB | {"status": "SUCCEEDED"})
    assert job_state_changes([record("INSERT", key), deleted]) == []


def test_a_rerun_counts_its_run() -> None:
    before = JOB | {"status": "FAILED"}
    after = JOB | {"status": "QUEUED", "runs": [{"run": 1, "status": "FAILED"}]}
    (detail,) = job_state_changes([record("MODIFY", after, before)])
    assert (detail["status"], detail["run"]) == ("QUEUED", 2)


def test_the_pipes_filter_passes_jobs_and_drops_other_items_and_removals() -> None:
    template = load_local_template(PROJECT_ROOT / "template.yaml", OPTIONS_ON)
    pipe = template.stream_pipes["EventsPipe"]
    patterns = [EventPattern.load(pattern) for pattern in pipe.filters]

    def passes(stream_record: dict[str, Any]) -> bool:
        return any(pattern.matches_event(json.loads(json.dumps(stream_record))) for pattern in patterns)

    assert passes(record("INSERT", JOB | {"status": "QUEUED"}))
    assert passes(record("MODIFY", JOB | {"status": "SUCCEEDED"}, JOB | {"status": "IN_PROGRESS"}))
    assert not passes(record("INSERT", {"jobId": "idem#k", "targetJobId": JOB["jobId"]}))
    assert not passes(record("INSERT", {"jobId": "sweep#pending", "cursor": "x"}))
    assert not passes(record("REMOVE", None, JOB | {"status": "SUCCEEDED"}))
    assert pipe.source == "cloudqueue"
    assert pipe.detail_type == "Job State Change"
    assert pipe.bus_name == "default"


def test_event_bus_name_names_the_pipes_target() -> None:
    template = load_local_template(PROJECT_ROOT / "template.yaml", OPTIONS_ON | {"EventBusName": "jobs"})
    pipe = template.stream_pipes["EventsPipe"]
    assert pipe.target_arn.endswith(":event-bus/jobs")


def test_the_webhook_pipe_passes_only_the_write_that_ended_a_job_with_a_callback() -> None:
    template = load_local_template(PROJECT_ROOT / "template.yaml", OPTIONS_ON)
    patterns = [EventPattern.load(pattern) for pattern in template.stream_pipes["WebhookPipe"].filters]

    def passes(stream_record: dict[str, Any]) -> bool:
        return any(pattern.matches_event(json.loads(json.dumps(stream_record))) for pattern in patterns)

    hooked = JOB | {"callbackUrl": "https://hooks.example.com/in"}
    for end in ("SUCCEEDED", "FAILED", "CANCELLED"):
        assert passes(record("MODIFY", hooked | {"status": end}, hooked | {"status": "IN_PROGRESS"}))
    # not a job without a callback, not a write that keeps it ended (a recorded attempt), not a start
    assert not passes(record("MODIFY", JOB | {"status": "SUCCEEDED"}, JOB | {"status": "IN_PROGRESS"}))
    assert not passes(
        record("MODIFY", hooked | {"status": "FAILED", "deliveryAttempts": 1}, hooked | {"status": "FAILED"})
    )
    assert not passes(record("MODIFY", hooked | {"status": "IN_PROGRESS"}, hooked | {"status": "QUEUED"}))
