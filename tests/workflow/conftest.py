"""A harness that runs ``statemachine/jobs.asl.json`` in moto's ASL interpreter, one delivery at
a time, with the real handlers in-process and the input exactly as a Pipe sends it.

The session's local stack provides moto, the provisioned resources and the Lambda runtime;
its pollers and schedules are paused during these tests so that each test decides when a
message is delivered, and how often. Messages go through a scratch SQS queue of their own,
so that each delivery is a real SQS message turned into a Pipe record.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest

from cloudqueue import history, jobs
from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.logs import CloudWatchExecutionLog
from cloudqueue.models import Job, JobStatus, utc_now
from cloudqueue_local.emulator.polling import sqs_record
from cloudqueue_local.template import QueueSpec


@dataclass
class Run:
    """One finished execution."""

    arn: str
    status: str
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return history.summarize(self.arn, self.events)

    def step(self, name: str) -> dict[str, Any]:
        matching = [step for step in self.summary()["steps"] if step["name"] == name]
        assert matching, f"the execution never entered {name}"
        return matching[-1]

    def path(self) -> list[str]:
        return [step["name"] for step in self.summary()["steps"]]


class WorkflowHarness:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.region = stack.region
        template = stack.template
        self.state_machine_arn = template.state_machines["JobStateMachine"].arn
        self.store = DynamoJobStore(
            stack.table_name(), shards=int(template.parameters["ListShards"]), retention_days=1
        )
        self.log = CloudWatchExecutionLog(template.log_groups["ExecutionLogGroup"].name)
        self.sqs = boto3.client("sqs", region_name=self.region)
        name = f"workflow-test-{uuid.uuid4().hex[:12]}"  # one queue per test: no strays
        url = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        self.scratch = QueueSpec(
            logical_id="WorkflowTestQueue",
            name=name,
            url=url,
            arn=f"arn:aws:sqs:{self.region}:{stack.account}:{name}",
            visibility_timeout=30,
            retention_seconds=3600,
            dead_letter_arn=None,
            max_receive_count=None,
        )

    # --- given ----------------------------------------------------------------------------

    def new_job(self, job_type: str, payload: dict[str, Any], *, now: datetime | None = None) -> Job:
        """A QUEUED job whose message waits in the scratch queue."""
        job, _ = jobs.submit_job(
            job_type, payload, store=self.store, queue=self, now=now or utc_now(), retention_days=1
        )
        return job

    def send_job(
        self, job_id: str, delay_seconds: int = 0
    ) -> None:  # the JobQueue port, onto the scratch queue
        self.send_body(json.dumps({"jobId": job_id}))

    def send_jobs(self, job_ids: Sequence[str]) -> set[str]:  # the JobQueue port, one by one
        for job_id in job_ids:
            self.send_job(job_id)
        return set()

    def send_body(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.scratch.url, MessageBody=body)

    # --- when -----------------------------------------------------------------------------

    def receive(self) -> list[dict[str, Any]]:
        """The next message, as the array of records a Pipe (BatchSize 1) hands the target."""
        received = self.sqs.receive_message(
            QueueUrl=self.scratch.url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=1
        )
        messages = received.get("Messages", [])
        assert messages, "no message to deliver"
        self.sqs.delete_message(QueueUrl=self.scratch.url, ReceiptHandle=messages[0]["ReceiptHandle"])
        return [sqs_record(messages[0], self.scratch, self.region)]

    def run(self, records: list[dict[str, Any]] | str) -> Run:
        execution_input = records if isinstance(records, str) else json.dumps(records)
        execution = self.stack.stepfunctions.run_sync(
            self.state_machine_arn, execution_input, uuid.uuid4().hex
        )
        return Run(
            arn=execution.execution_arn,
            status=execution.status,
            error=execution.error,
            cause=execution.cause,
            events=self.log.events_of(execution.execution_arn),
        )

    def deliver(self) -> Run:
        return self.run(self.receive())

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.stack.runtime.invoke(logical_id, event)

    def invocations(self, logical_id: str) -> int:
        return int(self.stack.runtime.functions[logical_id].invocations)

    # --- then -----------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        job = self.store.get_job(job_id, consistent=True)
        assert job is not None
        return job

    def poison_messages(self) -> list[dict[str, Any]]:
        """Every message in the poison-message queue, taken out of it (each test starts empty)."""
        url = self.stack.queue_url("PoisonMessageQueue")
        taken: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return taken
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            taken += messages

    def wait_until_lease_expired(self, job_id: str, timeout: float = 60) -> None:
        """Until the job is IN_PROGRESS under a lease that has expired by the clock the claim
        reads (a lease expires AT leaseExpiresAt)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.lease_expires_at is not None and job.lease_expires_at <= time.time():
                assert job.status is JobStatus.IN_PROGRESS, job.status
                return
            assert time.monotonic() < deadline, f"job {job_id} is {job.status}, lease {job.lease_expires_at}"
            time.sleep(0.05)


@pytest.fixture
def workflow(local_stack: Any) -> Iterator[WorkflowHarness]:
    local_stack.pause()
    try:
        harness = WorkflowHarness(local_stack)
        harness.poison_messages()  # what earlier tests left there
        yield harness
    finally:
        local_stack.runtime.faults.clear()
        local_stack.resume()
