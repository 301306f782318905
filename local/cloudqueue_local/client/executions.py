"""The job state machine started by hand: what the Pipe would hand it for a job, the event a
step would get (``cloudqueue invoke --job-id``), and one execution run to its end with its
history (``cloudqueue execute``)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import datetime
from typing import Any

from cloudqueue_local.client import aws as aws_access
from cloudqueue_local.client import step_events
from cloudqueue_local.project import project_root
from cloudqueue_local.template import REGION

# How often the end of an execution is asked for: Express executions of this workflow end in
# tens of milliseconds on the local stack.
_POLL_SECONDS = 0.05
_CAUSE_CHARS = 120


def pipe_input_for(job_id: str) -> list[dict[str, Any]]:
    """What the Pipe would hand the state machine for a message about ``job_id``."""
    queue = aws_access.local_template().queues["JobQueue"]
    body = json.dumps({"jobId": job_id})
    now = str(int(time.time() * 1000))
    return [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "cloudqueue-execute",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": now,
                "SenderId": "cloudqueue-cli",
                "ApproximateFirstReceiveTimestamp": now,
            },
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.arn,
            "awsRegion": REGION,
        }
    ]


def step_event(
    logical_id: str, job_id: str, answers: list[Any], aws_url: str | None, stack_name: str | None
) -> dict[str, Any]:
    """The event the state machine would give ``logical_id`` for the job, the steps before it
    having answered ``answers`` in workflow order (see ``step_events``); a
    ``step_events.StepEventError`` when it cannot be built."""
    workflow = step_events.Workflow.read(
        project_root() / "statemachine" / "jobs.asl.json",
        aws_access.target(aws_url, stack_name).state_machine_arn,
    )
    return step_events.build_event(workflow, logical_id, pipe_input_for(job_id), answers)


def _event_row(event: dict[str, Any], first: datetime) -> dict[str, Any]:
    details: dict[str, Any] = (
        next((value for key, value in event.items() if key.endswith("EventDetails")), {}) or {}
    )
    detail = ""
    if "error" in details:
        detail = f"{details['error']}: {str(details.get('cause') or '')[:_CAUSE_CHARS]}"
    timestamp = event["timestamp"]
    return {
        "id": event["id"],
        "type": event["type"],
        "state": details.get("name"),
        "elapsedMs": round((timestamp - first).total_seconds() * 1000),
        "detail": detail,
    }


def execute_once(execution_input: Any, *, aws_url: str | None, timeout: float) -> dict[str, Any]:
    """Start the job state machine on the local stack, wait for its end, return its history."""
    where = aws_access.target(aws_url, None)
    sfn = where.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=where.state_machine_arn,
        name=f"cli-{uuid.uuid4().hex}",
        input=json.dumps(execution_input),
    )
    arn = started["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise aws_access.AccessError(f"execution {arn} still RUNNING after {timeout:.0f}s")
        time.sleep(_POLL_SECONDS)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    first = events[0]["timestamp"] if events else datetime.now()
    return {
        "executionArn": arn,
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
        "output": described.get("output"),
        "events": [_event_row(event, first) for event in events],
    }
