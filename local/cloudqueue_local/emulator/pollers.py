"""What AWS runs between the resources: the Pipe, SQS event source mappings, schedules.

Each is a small loop of threads over the local moto services, with the semantics of the
AWS feature it stands in for:

- ``LocalPipe``: receives from the queue, hands the state machine the same array of
  records an EventBridge Pipe does, runs it synchronously (REQUEST_RESPONSE), deletes the
  messages only when the execution SUCCEEDED, and otherwise leaves redelivery and
  dead-lettering to SQS (visibility timeout, redrive policy). AWS does not document when
  a Pipe retries a failed execution's message, so ``redelivery`` chooses: after the
  visibility timeout (``"visibility"``, as plain SQS) or at once (``"immediate"``:
  ChangeMessageVisibility 0). CloudQueue must be correct either way; tests run both.
- ``LocalQueueTrigger``: an SQS event source mapping: ``{"Records": [...]}`` to a function,
  partial batch failures honoured.
- ``LocalSchedule``: an EventBridge schedule ``rate(...)``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cloudqueue_local.emulator.awslambda.invocation import ServiceFault
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.stepfunctions import LocalStepFunctions
from cloudqueue_local.template import PipeSpec, QueueSpec, QueueTriggerSpec, ScheduleSpec

logger = logging.getLogger("cloudqueue.local")

REDELIVER_AFTER_VISIBILITY = "visibility"
REDELIVER_AT_ONCE = "immediate"


def aws_error(error: ServiceFault | ClientError | BotoCoreError) -> str:
    """A failed AWS call in one line: which service or operation, its error code, its message."""
    if isinstance(error, ServiceFault):
        said = f"Lambda Invoke failed: {error.code}: {error.message}"
    elif isinstance(error, ClientError):
        details = error.response.get("Error", {})
        said = f"{error.operation_name} failed: {details.get('Code', '?')}: {details.get('Message', '')}"
    else:
        said = f"{type(error).__name__}: {error}"
    return said.rstrip(".")


def sqs_record(message: dict[str, Any], queue: QueueSpec, region: str) -> dict[str, Any]:
    """An SQS message as Pipes and Lambda event sources deliver it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }


class _Loop:
    """Threads that repeat one step until told to stop; ``stop`` lets the current step end."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self.thread_count = threads
        self._stopping = threading.Event()
        self._resumed = threading.Event()
        self._resumed.set()
        self._idle = threading.Condition()
        self._busy = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.thread_count):
            thread = threading.Thread(target=self._run, name=f"{self.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._resumed.wait(0.2):
                continue
            try:
                self.step()
            except (ServiceFault, ClientError, BotoCoreError) as error:
                # An AWS call the step made failed, as AWS calls do (and as --faults makes them):
                # the next step tries again, as AWS's pollers and schedules do. One line: the
                # console is for what happened, not for where in this code.
                logger.warning("%s: %s; the next step tries again", self.name, aws_error(error))
                self._stopping.wait(0.5)
            except Exception:
                logger.exception("%s: step failed", self.name)
                self._stopping.wait(0.5)

    def begin_work(self) -> bool:
        """Called by a step before it takes work; False: paused or stopping, take none."""
        with self._idle:
            if self._stopping.is_set() or not self._resumed.is_set():
                return False
            self._busy += 1
            return True

    def end_work(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def signal_stop(self) -> None:
        """Take no new work from now on (``stop`` then waits for the work in hand)."""
        self._stopping.set()
        self._resumed.set()

    def pause(self, timeout: float = 30.0) -> None:
        """Take no new work; return once the work in hand is done."""
        with self._idle:
            self._resumed.clear()
            self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def resume(self) -> None:
        self._resumed.set()

    def step(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: float) -> bool:
        """Stop taking work and wait up to ``timeout`` seconds for work in hand. True if all ended."""
        self._stopping.set()
        self._resumed.set()  # a paused loop wakes up to see that it should stop
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()


class _QueuePoller(_Loop):
    """A loop that receives batches from one queue and hands each to ``run``."""

    queue: QueueSpec
    sqs: Any
    batch_size: int
    wait_seconds: int = 1

    def step(self) -> None:
        # The receive counts as work: pause() waits for it, so that no message is received
        # (and its receive count raised) while the poller is paused.
        if not self.begin_work():
            return
        try:
            received = self.sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(self.batch_size, 10),
                WaitTimeSeconds=self.wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = received.get("Messages", [])
            if messages:
                self.run(messages)
        finally:
            self.end_work()

    def run(self, messages: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def delete(self, messages: list[dict[str, Any]]) -> None:
        self.sqs.delete_message_batch(
            QueueUrl=self.queue.url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )


class LocalPipe(_QueuePoller):
    """EventBridge Pipe: SQS → Step Functions (REQUEST_RESPONSE)."""

    def __init__(
        self,
        spec: PipeSpec,
        queue: QueueSpec,
        stepfunctions: LocalStepFunctions,
        sqs: Any,
        *,
        region: str,
        pollers: int = 4,
        wait_seconds: int = 1,
        redelivery: str = "visibility",
    ) -> None:
        super().__init__(f"pipe-{spec.logical_id}", pollers)
        self.redelivery = redelivery
        self.spec = spec
        self.queue = queue
        self.stepfunctions = stepfunctions
        self.sqs = sqs
        self.region = region
        self.batch_size = spec.batch_size
        self.wait_seconds = wait_seconds
        self.executions_succeeded = 0
        self.executions_failed = 0
        self.on_execution: Callable[[Any], None] | None = None

    def run(self, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(message, self.queue, self.region) for message in messages]
        execution = self.stepfunctions.run_sync(self.spec.target_arn, json.dumps(records), uuid.uuid4().hex)
        if self.on_execution is not None:
            self.on_execution(execution)
        if execution.status == "SUCCEEDED":
            self.executions_succeeded += 1
            self.delete(messages)
        else:
            # As on AWS: a failed target invocation leaves the message to come back after its
            # visibility timeout, and SQS dead-letters it after maxReceiveCount receives.
            self.executions_failed += 1
            logger.warning(
                "pipe: execution %s ended %s (%s); message left for redelivery (%s)",
                execution.execution_arn,
                execution.status,
                execution.error,
                self.redelivery,
            )
            if self.redelivery == REDELIVER_AT_ONCE:
                self.make_visible(messages)

    def make_visible(self, messages: list[dict[str, Any]]) -> None:
        self.sqs.change_message_visibility_batch(
            QueueUrl=self.queue.url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(messages)
            ],
        )


class LocalQueueTrigger(_QueuePoller):
    """Lambda SQS event source mapping."""

    def __init__(
        self, spec: QueueTriggerSpec, queue: QueueSpec, runtime: LambdaRuntime, sqs: Any, *, region: str
    ) -> None:
        super().__init__(f"sqs-trigger-{spec.function}", 1)
        self.spec = spec
        self.queue = queue
        self.runtime = runtime
        self.sqs = sqs
        self.region = region
        self.batch_size = spec.batch_size

    def run(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(message, self.queue, self.region) for message in messages]}
        invocation = self.runtime.invoke(self.spec.function, event)
        if invocation.function_error:
            logger.warning("%s failed on a batch of %d; left for retry", self.spec.function, len(messages))
            return
        failed: set[str] = set()
        if self.spec.report_batch_item_failures:
            response = invocation.json() or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.delete(done)


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float, /) -> None: ...


class LocalSchedule(_Loop):
    """EventBridge ``rate(...)`` schedule invoking a function.

    ``clock`` is this schedule's own (the ``time`` module unless a test gives a fake), so that
    a fake clock never reaches the other loops running in the same process.
    """

    def __init__(
        self,
        spec: ScheduleSpec,
        runtime: LambdaRuntime,
        *,
        region: str,
        account: str,
        clock: Clock = time,
    ) -> None:
        super().__init__(f"schedule-{spec.function}", 1)
        self.spec = spec
        self.runtime = runtime
        self.region = region
        self.account = account
        self.clock = clock

    def step(self) -> None:
        # Wait for the next tick in short naps, so that pause() and stop() need not wait for it.
        clock = self.clock
        deadline = clock.monotonic() + self.spec.every_seconds
        while clock.monotonic() < deadline:
            if self._stopping.is_set() or not self._resumed.is_set():
                return
            clock.sleep(min(0.1, max(0.0, deadline - clock.monotonic())))
        if self.begin_work():
            try:
                self.fire()
            finally:
                self.end_work()

    def fire(self) -> Any:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{self.account}:rule/{self.spec.function}-schedule"],
            "detail": {},
        }
        return self.runtime.invoke(self.spec.function, event)
