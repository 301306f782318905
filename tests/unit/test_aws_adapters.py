"""The SQS, CloudWatch Logs and Step Functions adapters against moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cloudqueue.adapters import sqs as sqs_adapter
from cloudqueue.adapters.logs import CloudWatchExecutionLog
from cloudqueue.adapters.sqs import SqsJobQueue, SqsPoisonQueue
from cloudqueue.adapters.stepfunctions import StepFunctionsWorkflow
from cloudqueue.ports import WorkflowDescription
from cloudqueue.workflow import parse_job_message
from tests.fakes import SAMPLE_DEFINITION, execution_arn, job_id

REGION = "us-east-1"
LOG_GROUP = "/aws/vendedlogs/states/cloudqueue-test"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_a_sent_job_message_is_the_body_the_claim_step_reads(aws):
    # Given a queue
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="cloudqueue-test-jobs")["QueueUrl"]

    # When the adapter sends a job
    SqsJobQueue(url, client=sqs).send_job(job_id(1))

    # Then the queue holds one message whose body the claim step parses back to the id
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == {"jobId": job_id(1)}
    assert parse_job_message(message["Body"]).job_id == job_id(1)


def test_a_kept_poison_message_is_its_body_with_its_id_receives_and_reason(aws, monkeypatch):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="cloudqueue-test-poison")["QueueUrl"]
    made: list[str] = []
    monkeypatch.setattr(sqs_adapter, "aws_client", lambda service: made.append(service) or sqs)

    # Given the claim function's poison queue, built at every cold start
    poison = SqsPoisonQueue(url)
    assert made == []  # its client is made only when a message is kept

    # When it keeps a message
    poison.keep("not a job", message_id="m-1", receive_count=1, reason="queue message is not a job message")

    # Then the queue holds the body as received, and what `cloudqueue dlq list` shows
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == "not a job"
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "deadLetterMessageId": "m-1",
        "receiveCount": "1",
        "reason": "queue message is not a job message",
    }
    assert made == ["sqs"]


def log_record(arn: str, event_id: int, kind: str) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": kind,
        "details": {},
        "previous_event_id": str(event_id - 1),
        "event_timestamp": str(1_767_323_045_000 + event_id),
        "execution_arn": arn,
    }


@pytest.fixture
def logs(aws) -> Any:
    client = boto3.client("logs", region_name=REGION)
    # moto's state outlives this fixture when the session's local stack holds it: start empty.
    with suppress(client.exceptions.ResourceNotFoundException):
        client.delete_log_group(logGroupName=LOG_GROUP)
    client.create_log_group(logGroupName=LOG_GROUP)
    client.create_log_stream(logGroupName=LOG_GROUP, logStreamName="states")
    return client


def put(logs: Any, *messages: str) -> None:
    # Stamped now: CloudWatch Logs (and moto) reject events older than 14 days.
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="states",
        logEvents=[{"timestamp": now + index, "message": message} for index, message in enumerate(messages)],
    )


def test_the_execution_log_returns_one_executions_events_in_id_order(logs):
    # Given the log group holds events of two executions, out of order, and a line that is not JSON
    mine, other = execution_arn("run-1"), execution_arn("run-2")
    put(
        logs,
        json.dumps(log_record(mine, 2, "TaskStateEntered")),
        json.dumps(log_record(other, 1, "ExecutionStarted")),
        "START RequestId: not a history event " + mine,
        json.dumps(log_record(mine, 1, "ExecutionStarted")),
        json.dumps(log_record(mine, 10, "ExecutionSucceeded")),
    )

    # When the events of one execution are read
    events = CloudWatchExecutionLog(LOG_GROUP, client=logs).events_of(mine)

    # Then they are its own, oldest first (by id, numerically)
    assert [(event["id"], event["type"]) for event in events] == [
        ("1", "ExecutionStarted"),
        ("2", "TaskStateEntered"),
        ("10", "ExecutionSucceeded"),
    ]


def test_the_execution_log_of_a_missing_log_group_is_empty(aws):
    client = boto3.client("logs", region_name=REGION)

    assert CloudWatchExecutionLog("/no/such/group", client=client).events_of(execution_arn()) == []


def test_the_workflow_adapter_reads_the_state_machine_definition(aws):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="cloudqueue-test",
        definition=json.dumps(SAMPLE_DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/cloudqueue-test",
        type="EXPRESS",
        loggingConfiguration={"level": "ERROR", "includeExecutionData": True},
    )["stateMachineArn"]

    workflow = StepFunctionsWorkflow(arn, client=sfn)

    assert workflow.state_machine_arn == arn
    assert workflow.describe() == WorkflowDescription(definition=SAMPLE_DEFINITION, history_level="ERROR")


def test_a_bounded_read_asks_only_for_the_window_with_the_quoted_execution_term(logs):
    # Given the adapter over a client that checks every FilterLogEvents call's arguments
    mine = execution_arn("run-1")
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    until = since + timedelta(minutes=3)
    stub = Stubber(logs)
    stub.add_response(
        "filter_log_events",
        {"events": [{"message": json.dumps(log_record(mine, 1, "ExecutionStarted"))}]},
        {
            "logGroupName": LOG_GROUP,
            "filterPattern": f'"{mine}"',
            "startTime": 1_767_323_045_000,
            "endTime": 1_767_323_225_000,
        },
    )

    # When one execution's events are read within the window
    with stub:
        events = CloudWatchExecutionLog(LOG_GROUP, client=logs).events_of(mine, since=since, until=until)

    # Then the one request made was bounded by it (the stub fails on any other argument or call)
    stub.assert_no_pending_responses()
    assert [event["type"] for event in events] == ["ExecutionStarted"]


def test_events_logged_outside_the_window_are_not_returned(logs):
    # Given one execution's events an hour apart (moto stamps them with the given times)
    mine = execution_arn("run-1")
    now = datetime.now(UTC).replace(microsecond=0)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="states",
        logEvents=[
            {
                "timestamp": int((now - timedelta(hours=1)).timestamp() * 1000),
                "message": json.dumps(log_record(mine, 1, "ExecutionStarted")),
            },
            {
                "timestamp": int(now.timestamp() * 1000),
                "message": json.dumps(log_record(mine, 2, "TaskStateEntered")),
            },
        ],
    )

    # When it is read within the last minute
    events = CloudWatchExecutionLog(LOG_GROUP, client=logs).events_of(
        mine, since=now - timedelta(minutes=1), until=now + timedelta(seconds=1)
    )

    # Then only the event inside the window comes back
    assert [event["id"] for event in events] == ["2"]


def test_a_read_stops_after_its_page_limit(logs):
    # Given a log group that always has another page of other executions' events
    stub = Stubber(logs)
    for page in range(3):
        stub.add_response(
            "filter_log_events",
            {
                "events": [
                    {"message": json.dumps(log_record(execution_arn("other"), page, "TaskStateEntered"))}
                ],
                "nextToken": f"page-{page + 1}",
            },
        )

    # When the adapter, limited to 3 pages, reads one execution
    with stub:
        events = CloudWatchExecutionLog(LOG_GROUP, client=logs, max_pages=3).events_of(execution_arn("run-1"))

    # Then it made its 3 requests and stopped (a fourth would find no stubbed answer and raise)
    stub.assert_no_pending_responses()
    assert events == []


# --- delayed jobs ------------------------------------------------------------------------


def test_a_delayed_message_is_held_back_and_says_when_its_job_is_due(aws):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="cloudqueue-test-delayed")["QueueUrl"]
    due = datetime(2026, 12, 6, 13, 0, 0, 250_000, tzinfo=UTC)

    SqsJobQueue(url, client=sqs).send_job(job_id(2), run_at=due, delay_seconds=30)

    # Then nothing can be received yet, and the queue counts one delayed message
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    counted = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert counted["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_one_time_schedule_sends_the_jobs_message_at_its_time_then_deletes_itself(aws):
    from cloudqueue.adapters.scheduler import SchedulerDelayedSends, at_expression

    # Given the stack's schedule group
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name="cloudqueue-test-jobs")
    sends = SchedulerDelayedSends(
        group="cloudqueue-test-jobs",
        role_arn="arn:aws:iam::123456789012:role/scheduler",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:cloudqueue-test-jobs",
        dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:cloudqueue-test-dead-letters",
        client=scheduler,
    )
    due = datetime(2027, 1, 2, 3, 4, 5, 1000, tzinfo=UTC)

    # When a job's send is scheduled
    sends.schedule_send(job_id(3), due)

    # Then it is a one-time schedule, rounded up to the second, with no flexible window, deleted
    # after it fires, whose target sends the job's message to the queue
    schedule = scheduler.get_schedule(Name=f"job-{job_id(3)}", GroupName="cloudqueue-test-jobs")
    assert schedule["ScheduleExpression"] == "at(2027-01-02T03:04:06)" == at_expression(due)
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"].endswith(":cloudqueue-test-jobs")
    assert parse_job_message(schedule["Target"]["Input"]).run_at == due
    # And a send that fails for Scheduler's day of retries goes to the job dead-letter queue,
    # whose consumer sends the job's message again, instead of being dropped
    assert schedule["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86_400,
        "MaximumRetryAttempts": 185,
    }
    assert schedule["Target"]["DeadLetterConfig"] == {
        "Arn": "arn:aws:sqs:us-east-1:123456789012:cloudqueue-test-dead-letters"
    }
    # And a cancel deletes it once; a second finds none
    assert sends.cancel_send(job_id(3)) is True
    assert sends.cancel_send(job_id(3)) is False


def test_a_time_on_the_second_is_not_moved() -> None:
    from cloudqueue.adapters.scheduler import at_expression

    assert at_expression(datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)) == "at(2027-01-02T03:04:05)"
