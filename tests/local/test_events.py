"""Job events on the local stack: the table's stream → the events Pipe (filter, enrichment)
→ the event bus → a rule with an SQS target, as a user would wire one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_end_to_end import aws, finished, submit, wait_for


@pytest.fixture
def rule_queue(local_stack: LocalStack) -> Iterator[str]:
    """A queue that a rule on the default bus fills with CloudQueue's job events."""
    sqs, events = aws(local_stack, "sqs"), aws(local_stack, "events")
    name = f"job-events-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=name,
        EventPattern=json.dumps({"source": ["cloudqueue"], "detail-type": ["Job State Change"]}),
    )
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    yield url
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)
    sqs.delete_queue(QueueUrl=url)


def received(local_stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs = aws(local_stack, "sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_rule_with_an_sqs_target_receives_each_change_of_a_jobs_status(
    local_stack: LocalStack, api: httpx.Client, rule_queue: str
) -> None:
    # Given a rule on the default bus that sends CloudQueue's events to a queue
    # When a job is submitted and runs to the end
    job = submit(api, "text.transform", {"text": "events"})
    final = finished(api, job["jobId"])
    assert final["status"] == "SUCCEEDED"

    # Then the queue receives QUEUED, IN_PROGRESS and SUCCEEDED for it, each naming the one before
    events: list[dict[str, Any]] = []

    def all_three() -> bool:
        events.extend(
            event for event in received(local_stack, rule_queue) if event["detail"]["jobId"] == job["jobId"]
        )
        return {event["detail"]["status"] for event in events} >= {"QUEUED", "IN_PROGRESS", "SUCCEEDED"}

    wait_for(all_three, timeout=30)
    by_status = {event["detail"]["status"]: event for event in events}
    assert {event["source"] for event in events} == {"cloudqueue"}
    assert {event["detail-type"] for event in events} == {"Job State Change"}
    assert by_status["QUEUED"]["detail"]["previousStatus"] is None
    assert by_status["IN_PROGRESS"]["detail"]["previousStatus"] == "QUEUED"
    succeeded = by_status["SUCCEEDED"]["detail"]
    assert succeeded["previousStatus"] == "IN_PROGRESS"
    assert succeeded["type"] == "text.transform"
    assert succeeded["owner"] == "anonymous"
    assert succeeded["error"] is None
    assert succeeded["finishedAt"] == final["finishedAt"]
    # A lease's writes change no status: no other event for this job
    assert len({(event["detail"]["status"], event["detail"]["run"]) for event in events}) == len(events)


def test_events_keep_coming_after_a_transaction_on_the_table_is_cancelled(
    local_stack: LocalStack, api: httpx.Client, rule_queue: str
) -> None:
    # Given a transaction on the jobs table that DynamoDB cancels, as a keyed claim that finds
    # every slot held is cancelled (moto used to swap in a copy of the table and its stream)
    dynamodb = aws(local_stack, "dynamodb")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": local_stack.table_name(),
                        "Item": {"jobId": {"S": "never-written"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": local_stack.table_name(),
                        "Key": {"jobId": {"S": "no-such-job"}},
                        "ConditionExpression": "attribute_exists(jobId)",
                    }
                },
            ]
        )

    # When a job runs after it
    job = submit(api, "text.transform", {"text": "after a cancel"})
    assert finished(api, job["jobId"])["status"] == "SUCCEEDED"

    # Then the Pipe still reads the table's stream: the rule receives the job's three changes
    statuses: set[str] = set()

    def all_three() -> bool:
        statuses.update(
            event["detail"]["status"]
            for event in received(local_stack, rule_queue)
            if event["detail"]["jobId"] == job["jobId"]
        )
        return statuses >= {"QUEUED", "IN_PROGRESS", "SUCCEEDED"}

    wait_for(all_three, timeout=30)
