"""The local SQS event source mapping (LocalQueueTrigger) and EventBridge Pipe (LocalPipe) on
moto's SQS, with a stand-in function or state machine.

Most tests drive one poll (``step``) by hand: no threads, no stack. The trigger's queue has a
visibility timeout of 0, so a message the trigger left in the queue can be received again at
once; the Pipe's has a long one, so a message the Pipe left is back at once only if the Pipe
made it visible. The last tests run the loops' threads, and wait for what they do.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from cloudqueue_local.emulator.awslambda.invocation import ServiceFault
from cloudqueue_local.emulator.pipes import REDELIVER_AFTER_VISIBILITY, REDELIVER_AT_ONCE, LocalPipe
from cloudqueue_local.emulator.queue_trigger import LocalQueueTrigger
from cloudqueue_local.emulator.scheduler import LocalSchedule
from cloudqueue_local.template import PipeSpec, QueueSpec, QueueTriggerSpec, ScheduleSpec

REGION = "us-east-1"


@dataclass
class Answer:
    """What an invocation returned: the shape LocalQueueTrigger reads."""

    payload: Any
    function_error: str | None = None

    def json(self) -> Any:
        return self.payload


@dataclass
class StandInFunction:
    """A runtime with one function that answers ``answer(event)`` and records its events."""

    answer: Any
    events: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, function: str, event: dict[str, Any]) -> Answer:
        self.events.append(event)
        return self.answer(event)


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def make_queue(sqs, name: str, visibility_timeout: int) -> QueueSpec:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility_timeout)})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueSpec(
        logical_id=name,
        name=name,
        url=url,
        arn=arn,
        visibility_timeout=visibility_timeout,
        retention_seconds=3600,
        dead_letter_arn=None,
        max_receive_count=None,
    )


@pytest.fixture
def queue(sqs) -> QueueSpec:
    return make_queue(sqs, "dlq", 0)


@pytest.fixture
def job_queue(sqs) -> QueueSpec:
    """A queue whose received messages stay invisible far longer than any test. Named anew for
    each test: beside the session's local stack, moto's backends outlive ``mock_aws``."""
    return make_queue(sqs, f"jobs-{uuid.uuid4().hex}", 600)


def trigger(sqs, queue: QueueSpec, function: StandInFunction, *, report_failures: bool = True):
    spec = QueueTriggerSpec(
        function="DeadLetterFunction",
        queue_arn=queue.arn,
        batch_size=10,
        report_batch_item_failures=report_failures,
    )
    return LocalQueueTrigger(spec, queue, function, sqs, region=REGION)  # type: ignore[arg-type]


def send(sqs, queue: QueueSpec, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)


def left_in_queue(sqs, queue: QueueSpec) -> list[str]:
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [message["Body"] for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue.url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return sorted(bodies)


def failing(*bodies: str):
    """A function that reports the records with these bodies as failed items."""

    def answer(event: dict[str, Any]) -> Answer:
        failed = [record["messageId"] for record in event["Records"] if record["body"] in bodies]
        return Answer({"batchItemFailures": [{"itemIdentifier": each} for each in failed]})

    return answer


def test_the_function_gets_the_batch_as_sqs_records_and_every_success_is_deleted(sqs, queue):
    function = StandInFunction(failing())
    send(sqs, queue, "a", "b", "c")

    trigger(sqs, queue, function).step()

    (event,) = function.events
    assert sorted(record["body"] for record in event["Records"]) == ["a", "b", "c"]
    assert {record["eventSourceARN"] for record in event["Records"]} == {queue.arn}
    assert left_in_queue(sqs, queue) == []


def test_only_the_messages_the_function_reports_as_failed_stay_in_the_queue(sqs, queue):
    send(sqs, queue, "a", "b", "c")

    trigger(sqs, queue, StandInFunction(failing("b"))).step()

    assert left_in_queue(sqs, queue) == ["b"]


def test_a_function_error_leaves_the_whole_batch_in_the_queue(sqs, queue):
    send(sqs, queue, "a", "b")

    trigger(sqs, queue, StandInFunction(lambda _: Answer({"errorMessage": "boom"}, "Unhandled"))).step()

    assert left_in_queue(sqs, queue) == ["a", "b"]


def test_without_partial_batch_responses_a_successful_invocation_deletes_the_whole_batch(sqs, queue):
    # As on AWS: without ReportBatchItemFailures the function's answer is not read.
    send(sqs, queue, "a", "b")

    trigger(sqs, queue, StandInFunction(failing("a")), report_failures=False).step()

    assert left_in_queue(sqs, queue) == []


def test_an_answer_that_lists_no_failures_deletes_the_whole_batch(sqs, queue):
    send(sqs, queue, json.dumps({"jobId": "j-1"}), "b")

    trigger(sqs, queue, StandInFunction(lambda _: Answer(None))).step()

    assert left_in_queue(sqs, queue) == []


# --- the Pipe ---------------------------------------------------------------------------


@dataclass
class Execution:
    """What LocalPipe reads of a finished execution."""

    status: str
    execution_arn: str = "arn:aws:states:us-east-1:123456789012:execution:machine:run"
    error: str | None = None


@dataclass
class StandInStateMachine:
    """Step Functions with one state machine whose executions end ``status``; records inputs."""

    status: str
    inputs: list[list[dict[str, Any]]] = field(default_factory=list)

    def run_sync(self, state_machine_arn: str, execution_input: str, name: str) -> Execution:
        self.inputs.append(json.loads(execution_input))
        return Execution(self.status)


def pipe(sqs, queue: QueueSpec, machine: StandInStateMachine, redelivery: str = REDELIVER_AFTER_VISIBILITY):
    spec = PipeSpec(
        logical_id="JobPipe",
        source_arn=queue.arn,
        target_arn="arn:aws:states:us-east-1:123456789012:stateMachine:machine",
        batch_size=1,
        invocation_type="REQUEST_RESPONSE",
    )
    return LocalPipe(spec, queue, machine, sqs, region=REGION, redelivery=redelivery)  # type: ignore[arg-type]


def visible_in(sqs, queue: QueueSpec) -> list[str]:
    """The bodies a receive gets now (each then stays invisible for the queue's timeout)."""
    return sorted(
        message["Body"]
        for message in sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
    )


def test_a_succeeded_execution_gets_the_record_and_its_message_is_deleted(sqs, job_queue):
    machine = StandInStateMachine("SUCCEEDED")
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, machine)

    the_pipe.step()

    ((record,),) = machine.inputs
    assert (record["body"], record["eventSourceARN"]) == ("a", job_queue.arn)
    assert (the_pipe.executions_succeeded, the_pipe.executions_failed) == (1, 0)
    attributes = sqs.get_queue_attributes(QueueUrl=job_queue.url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "0",
    )


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_failed_execution_leaves_its_message_invisible_until_the_visibility_timeout(sqs, job_queue, status):
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, StandInStateMachine(status), REDELIVER_AFTER_VISIBILITY)

    the_pipe.step()

    assert (the_pipe.executions_succeeded, the_pipe.executions_failed) == (0, 1)
    assert visible_in(sqs, job_queue) == []  # not deleted, not back yet: in flight
    attributes = sqs.get_queue_attributes(QueueUrl=job_queue.url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_with_immediate_redelivery_a_failed_executions_message_is_back_at_once(sqs, job_queue):
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, StandInStateMachine("FAILED"), REDELIVER_AT_ONCE)

    the_pipe.step()

    assert the_pipe.executions_failed == 1
    assert visible_in(sqs, job_queue) == ["a"]


def test_each_execution_is_reported_to_the_pipes_listener(sqs, job_queue):
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, StandInStateMachine("SUCCEEDED"))
    seen: list[str] = []
    the_pipe.on_execution = lambda execution: seen.append(execution.status)

    the_pipe.step()

    assert seen == ["SUCCEEDED"]


# --- the loops: pause, resume, stop -----------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_a_paused_poller_receives_nothing_until_resumed(sqs, job_queue):
    machine = StandInStateMachine("SUCCEEDED")
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, machine)
    the_pipe.wait_seconds = 0

    the_pipe.pause()
    the_pipe.step()

    assert machine.inputs == []
    attributes = sqs.get_queue_attributes(QueueUrl=job_queue.url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"  # not received: its receive count unchanged

    the_pipe.resume()
    the_pipe.step()

    assert [record["body"] for (record,) in machine.inputs] == ["a"]


def test_pause_waits_for_the_batch_in_hand_and_stop_for_the_threads(sqs, job_queue):
    entered, release = threading.Event(), threading.Event()

    class SlowMachine(StandInStateMachine):
        def run_sync(self, state_machine_arn: str, execution_input: str, name: str) -> Execution:
            entered.set()
            assert release.wait(30)
            return super().run_sync(state_machine_arn, execution_input, name)

    machine = SlowMachine("SUCCEEDED")
    send(sqs, job_queue, "a")
    the_pipe = pipe(sqs, job_queue, machine)
    the_pipe.thread_count, the_pipe.wait_seconds = 2, 0
    the_pipe.start()
    try:
        assert entered.wait(30)
        paused = threading.Thread(target=the_pipe.pause)
        paused.start()
        # pause() returns only once the execution in hand has ended
        paused.join(0.2)
        assert paused.is_alive()
        release.set()
        paused.join(30)
        assert not paused.is_alive()
        assert the_pipe.executions_succeeded == 1
        send(sqs, job_queue, "b")  # paused: left in the queue
    finally:
        release.set()
        stopped = the_pipe.stop(timeout=30)

    assert stopped and the_pipe.stopping
    assert not any(thread.is_alive() for thread in the_pipe._threads)
    assert len(the_pipe._threads) == 2
    assert [record["body"] for (record,) in machine.inputs] == ["a"]
    assert visible_in(sqs, job_queue) == ["b"]


def test_a_poller_whose_step_fails_goes_on_polling(sqs, queue):
    class FailsOnce(StandInStateMachine):
        def run_sync(self, state_machine_arn: str, execution_input: str, name: str) -> Execution:
            if not self.inputs:
                self.inputs.append([])
                raise ConnectionError("the state machine is unreachable, once")
            return super().run_sync(state_machine_arn, execution_input, name)

    send(sqs, queue, "a")  # visibility timeout 0: back at once after the failed step
    the_pipe = pipe(sqs, queue, FailsOnce("SUCCEEDED"))
    the_pipe.thread_count, the_pipe.wait_seconds = 1, 0  # one thread: the message is run once
    the_pipe.start()
    try:
        wait_until(lambda: the_pipe.executions_succeeded == 1)
    finally:
        assert the_pipe.stop(timeout=30)

    assert left_in_queue(sqs, queue) == []


class CountedEvent(threading.Event):
    """An Event that counts the waits that timed out."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts = 0

    def wait(self, timeout: float | None = None) -> bool:
        woken = super().wait(timeout)
        self.timeouts += not woken
        return woken


def test_a_poller_paused_for_a_while_takes_work_again_once_resumed(sqs, queue):
    the_pipe = pipe(sqs, queue, StandInStateMachine("SUCCEEDED"))
    the_pipe.thread_count, the_pipe.wait_seconds = 1, 0  # one thread: the message is run once
    resumed = CountedEvent()
    resumed.set()
    the_pipe._resumed = resumed
    the_pipe.start()
    try:
        the_pipe.pause()
        wait_until(lambda: resumed.timeouts >= 1)  # its thread waited, paused, and timed out
        send(sqs, queue, "a")
        the_pipe.resume()
        wait_until(lambda: the_pipe.executions_succeeded == 1)
    finally:
        assert the_pipe.stop(timeout=30)


class CountedReceives:
    """An SQS client that sets ``received`` after each receive (and counts the empty ones)."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.received = threading.Event()
        self.empty = 0

    def receive_message(self, **arguments: Any) -> dict[str, Any]:
        answer = self.sqs.receive_message(**arguments)
        self.empty += not answer.get("Messages")
        self.received.set()
        return dict(answer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)


AN_HOUR = 3600  # longer than any test may take: a poller that waited it out would fail the test


def test_an_idle_pipe_takes_a_message_as_soon_as_it_is_sent(sqs, job_queue):
    # Given a Pipe that found its queue empty and waits (for up to an hour) for a message
    machine = StandInStateMachine("SUCCEEDED")
    client = CountedReceives(sqs)
    the_pipe = pipe(client, job_queue, machine)
    the_pipe.thread_count, the_pipe.wait_seconds = 1, AN_HOUR
    the_pipe.start()
    try:
        assert client.received.wait(30)
        # When a message is sent, Then the send wakes it: it runs the message, not an hour later
        send(sqs, job_queue, "a")
        wait_until(lambda: the_pipe.executions_succeeded == 1)
    finally:
        assert the_pipe.stop(timeout=30)

    assert [record["body"] for (record,) in machine.inputs] == ["a"]
    assert client.empty >= 1  # it had received nothing before the send


def test_stop_ends_an_idle_pollers_wait_at_once(sqs, queue):
    client = CountedReceives(sqs)
    the_trigger = trigger(client, queue, StandInFunction(failing()))
    the_trigger.wait_seconds = AN_HOUR
    the_trigger.start()
    assert client.received.wait(30)  # it found the queue empty, and waits

    assert the_trigger.stop(timeout=30)  # not an hour


def test_a_message_sent_before_the_wait_begins_is_not_missed(sqs, job_queue):
    # The wait looks at the queue before it sleeps: a message sent between the empty receive and
    # the wait ends it at once.
    machine = StandInStateMachine("SUCCEEDED")
    the_pipe = pipe(sqs, job_queue, machine)
    the_pipe.wait_seconds = AN_HOUR
    send(sqs, job_queue, "a")

    the_pipe.arrivals.wait(AN_HOUR, lambda: False)
    the_pipe.step()

    assert [record["body"] for (record,) in machine.inputs] == ["a"]


# --- the schedule -----------------------------------------------------------------------


def schedule(function: StandInFunction, every_seconds: float = 0.01, clock: Any = time) -> LocalSchedule:
    spec = ScheduleSpec(function="RequeueFunction", every_seconds=every_seconds)
    return LocalSchedule(spec, function, region=REGION, account="123456789012", clock=clock)  # type: ignore[arg-type]


def test_a_schedule_step_fires_its_function_once_with_a_scheduled_event():
    function = StandInFunction(lambda _: Answer({}))

    schedule(function).step()

    (event,) = function.events
    assert (event["source"], event["detail-type"], event["account"]) == (
        "aws.events",
        "Scheduled Event",
        "123456789012",
    )
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/RequeueFunction-schedule"]


class FakeClock:
    """A schedule's clock whose ``sleep`` moves ``monotonic`` on, at once. Given to the one
    schedule under test, never patched into the module: the other loops in this process (a
    stack's pollers) would sleep on it too, and move it on by minutes."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_schedule_step_waits_its_whole_period_then_fires():
    clock = FakeClock()
    function = StandInFunction(lambda _: Answer({}))
    every_30_seconds = schedule(function, every_seconds=30, clock=clock)

    every_30_seconds.step()

    assert len(function.events) == 1
    assert 30 <= clock.now < 30.2  # short naps, so that pause() and stop() need not wait a period


def test_a_paused_or_stopping_schedule_returns_at_once_without_firing():
    clock = FakeClock()
    function = StandInFunction(lambda _: Answer({}))
    paused = schedule(function, every_seconds=30, clock=clock)
    stopping = schedule(function, every_seconds=30, clock=clock)

    paused.pause()
    paused.step()
    stopping.signal_stop()
    stopping.step()

    assert function.events == []
    assert clock.now < 30  # neither waited out its period


LAMBDA_DOWN = ServiceFault("ServiceException", 500, "The Lambda service encountered an internal error.")
THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Invoke")


def first_fire_raising(error: Exception, name: str, caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """Run a schedule whose first invocation raises ``error`` until it has fired again; the one
    record its loop logged."""

    def answer(event: dict[str, Any]) -> Answer:
        if len(function.events) == 1:
            raise error
        return Answer({})

    function = StandInFunction(answer)
    spec = ScheduleSpec(function=name, every_seconds=0.01)
    loop = LocalSchedule(spec, function, region=REGION, account="123456789012")  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="cloudqueue.local"):
        loop.start()
        try:
            wait_until(lambda: len(function.events) >= 2)  # the schedule went on
        finally:
            assert loop.stop(timeout=30)
    (record,) = [each for each in caplog.records if each.getMessage().startswith(f"schedule-{name}")]
    return record


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            LAMBDA_DOWN,
            "Lambda Invoke failed: ServiceException: The Lambda service encountered an internal error",
        ),
        (THROTTLED, "Invoke failed: ThrottlingException: Rate exceeded"),
    ],
    ids=["lambda-service-fault", "aws-client-error"],
)
def test_a_step_whose_aws_call_fails_says_so_in_one_line_and_the_next_step_runs(
    error: Exception, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    record = first_fire_raising(error, "FailsOnceFunction", caplog)

    assert record.getMessage() == f"schedule-FailsOnceFunction: {said}; the next step tries again"
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)


def test_a_step_that_fails_in_this_code_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    record = first_fire_raising(KeyError("a bug, not an AWS error"), "BuggyFunction", caplog)

    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is KeyError
