"""The recovery design on the running local stack (see cloudqueue.recovery).

A dead worker's job waits for its lease (the state machine's worst case: 71 s with the test
parameters), so the two tests that kill a worker take a minute or two each: one with the
failed execution's message back at once, one after the visibility timeout.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from cloudqueue.adapters.dynamodb import DynamoJobStore, to_item
from cloudqueue.jobs import new_job_id
from cloudqueue.models import Job, JobStatus, format_timestamp, utc_now
from cloudqueue_local.devtools.stack import LocalStack
from tests.conftest import TEST_PARAMETERS

from .test_end_to_end import aws, finished, submit, wait_for


def messages_naming(stack: LocalStack, logical_id: str, job_id: str) -> int:
    """How many copies of a message naming ``job_id`` the queue holds, visible or in flight.

    Read from moto's backend, not the queue's depth: other tests' messages share the queue."""
    from moto.sqs.models import sqs_backends

    name = stack.queue_url(logical_id).rsplit("/", 1)[1]
    queue = sqs_backends[stack.account][stack.region].get_queue(name)
    return sum(job_id in message.body for message in list(queue._messages))


def holds_no_message_of(stack: LocalStack, logical_id: str, job_id: str) -> bool:
    """No copy of a message naming ``job_id`` is left in the queue, visible or in flight."""
    return messages_naming(stack, logical_id, job_id) == 0


LEASE = int(TEST_PARAMETERS["LeaseSeconds"])
VISIBILITY = int(TEST_PARAMETERS["VisibilityTimeoutSeconds"])
LONGEST_SLEEP = int(TEST_PARAMETERS["ProcessTimeoutSeconds"]) - 1  # the longest demo.sleep allowed
# These tests wait out a lease, then a visibility timeout: their own deadlines go past the
# suite's 180 s safety net, so the net here is the longest of them plus a margin.
pytestmark = pytest.mark.timeout(2 * (LEASE + VISIBILITY) + 120)


def job_of(api: httpx.Client, job_id: str) -> dict[str, Any]:
    return dict(api.get(f"/jobs/{job_id}").json())


def in_progress(api: httpx.Client, job_id: str) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        job = job_of(api, job_id)
        return job if job["status"] == "IN_PROGRESS" else None

    return dict(wait_for(running))


def store_of(stack: LocalStack) -> DynamoJobStore:
    return DynamoJobStore(stack.table_name(), shards=int(stack.template.parameters["ListShards"]))


@pytest.mark.parametrize("timing", ["immediate", "visibility"])
def test_a_worker_that_dies_mid_job_is_neither_failed_nor_stuck_whenever_its_message_returns(
    api: httpx.Client, local_stack: LocalStack, redelivery: Any, timing: str
) -> None:
    # Given a Pipe that hands a failed execution's message back at once, or after the
    # visibility timeout (AWS does not say which), and a job whose worker is running,
    redelivery(timing)
    job = submit(api, "demo.sleep", {"seconds": 1})
    first = in_progress(api, job["jobId"])["executions"][0]

    # when its execution dies (stopped: the worker never records anything),
    aws(local_stack, "stepfunctions").stop_execution(executionArn=first, error="WorkerKilled")

    # then while its lease is live the job is not failed (its message may be dead-lettered
    # and kept, never turned into a FAILED job), and once the lease expired it is re-claimed
    # and finished: the work was done once per claim.
    # A generous deadline: the lease, then the dead-letter queue's looks until it has expired.
    done = finished(api, job["jobId"], timeout=2 * (LEASE + VISIBILITY))
    assert done["status"] == "SUCCEEDED", done
    assert done["result"] == {"sleptSeconds": 1}
    assert done["attempts"] == 2
    assert done["finishedAt"] >= format_timestamp(utc_now() - timedelta(seconds=VISIBILITY + 60))
    wait_for(
        lambda: (
            holds_no_message_of(local_stack, "JobQueue", job["jobId"])
            and holds_no_message_of(local_stack, "DeadLetterQueue", job["jobId"])
        )
    )


def test_a_duplicate_message_sent_while_the_job_runs_is_skipped_and_consumed(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job that is running
    job = submit(api, "demo.sleep", {"seconds": 3})
    in_progress(api, job["jobId"])

    # When a second message for it arrives (SQS at least once, or a client's stray send)
    aws(local_stack, "sqs").send_message(
        QueueUrl=local_stack.queue_url("JobQueue"), MessageBody=json.dumps({"jobId": job["jobId"]})
    )

    # Then that delivery is SKIPPED and consumed, and the job runs once
    wait_for(lambda: len(job_of(api, job["jobId"])["executions"]) == 2)
    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"]) == ("SUCCEEDED", 1)
    wait_for(lambda: holds_no_message_of(local_stack, "JobQueue", job["jobId"]))
    skipped = api.get(f"/jobs/{job['jobId']}/history").json()["executions"][1]
    assert skipped["steps"][-1]["name"] == "AlreadyHandled"


def test_a_job_as_long_as_the_process_timeout_allows_is_processed_once(api: httpx.Client) -> None:
    # No lease runs out under it (ProcessTimeoutSeconds < WorkflowTimeoutSeconds <= LeaseSeconds),
    # however short the test timings are.
    seconds = LONGEST_SLEEP

    job = submit(api, "demo.sleep", {"seconds": seconds})

    done = finished(api, job["jobId"], timeout=60)
    assert (done["status"], done["attempts"], len(done["executions"])) == ("SUCCEEDED", 1, 1)


def test_a_sleep_longer_than_the_process_timeout_is_refused_with_422(api: httpx.Client) -> None:
    response = api.post("/jobs", json={"type": "demo.sleep", "payload": {"seconds": 60}})

    assert response.status_code == 422
    assert f"at most {LONGEST_SLEEP} s" in response.text and "ProcessTimeoutSeconds" in response.text


def test_the_sweeper_leaves_a_job_whose_message_waits_alone_however_old(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job whose message waits in the queue (the Pipe is paused), made a day old
    for pipe in local_stack.pipes:
        pipe.pause()
    try:
        job = submit(api, "text.transform", {"text": "waiting"})
        day_ago = format_timestamp(utc_now() - timedelta(days=1))
        store_of(local_stack).client.update_item(
            TableName=local_stack.table_name(),
            Key={"jobId": {"S": job["jobId"]}},
            UpdateExpression="SET createdAt = :old, updatedAt = :old",
            ExpressionAttributeValues=to_item({":old": day_ago}),
        )
        sweeps = local_stack.runtime.functions["RequeueFunction"].invocations

        # When the sweeper runs several times
        wait_for(
            lambda: local_stack.runtime.functions["RequeueFunction"].invocations >= sweeps + 3, timeout=60
        )

        # Then it sent nothing: the job's one message still waits (this job's messages only:
        # other tests' messages share the queue)
        assert messages_naming(local_stack, "JobQueue", job["jobId"]) == 1
    finally:
        for pipe in local_stack.pipes:
            pipe.resume()

    done = finished(api, job["jobId"])
    assert (done["status"], done["attempts"], len(done["executions"])) == ("SUCCEEDED", 1, 1)


def test_the_sweeper_sends_a_job_whose_pending_send_never_happened(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job made QUEUED with a pending-send marker by a writer that died before sending
    store = store_of(local_stack)
    now = utc_now()
    job = Job(
        job_id=new_job_id(),
        type="text.transform",
        payload={"text": "never sent"},
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
    )
    store.create_job(job)
    marker = store.pending_send_marker(job.job_id, now - timedelta(minutes=1))
    store.client.update_item(
        TableName=local_stack.table_name(),
        Key={"jobId": {"S": job.job_id}},
        UpdateExpression="SET pendingSince = :since, pendingShard = :shard",
        ExpressionAttributeValues=to_item(
            {":since": marker["pendingSince"], ":shard": marker["pendingShard"]}
        ),
    )

    # Then the sweeper sends its message, it runs once, and the marker is gone
    done = finished(api, job.job_id, timeout=60)
    assert (done["status"], done["result"]["uppercase"], done["attempts"]) == ("SUCCEEDED", "NEVER SENT", 1)
    assert store.get_job(job.job_id, consistent=True).pending_since is None


def test_the_sweeper_sends_again_a_job_queued_longer_than_the_queue_keeps_a_message(
    api: httpx.Client, local_stack: LocalStack
) -> None:
    # Given a job QUEUED 15 days ago whose message is gone (the queue keeps one 14 days)
    store = store_of(local_stack)
    queued_at = utc_now() - timedelta(days=15)
    job = Job(
        job_id=new_job_id(),
        type="text.transform",
        payload={"text": "stranded"},
        status=JobStatus.QUEUED,
        created_at=queued_at,
        updated_at=queued_at,
        queued_at=queued_at,
    )
    store.create_job(job)
    # ... on a day the sweeps of this stack already examined (a job is never queued in the past
    # but in a test): forget where they stood, so that the next one starts from the oldest day
    store.client.delete_item(TableName=local_stack.table_name(), Key={"jobId": {"S": "sweeper#stranded"}})

    # Then the sweeper sends its message again, and it runs once. (The sweeper records the job
    # as queued anew after the send, only while it is still QUEUED: here the claim often wins
    # that race, so the record is the stranded-sweep unit tests' to check, not this one's.)
    done = finished(api, job.job_id, timeout=60)
    assert (done["status"], done["result"]["uppercase"], done["attempts"]) == ("SUCCEEDED", "STRANDED", 1)
    stored = store.get_job(job.job_id, consistent=True)
    assert stored is not None and stored.status is JobStatus.SUCCEEDED
