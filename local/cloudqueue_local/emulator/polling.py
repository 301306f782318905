"""What the Pipe, the queue trigger and the schedule share: a loop of threads, and a poller
that receives from one SQS queue and wakes as soon as a message is sent to it.

AWS's pollers long-poll: a ReceiveMessage waits up to 20 s and returns as soon as a message
arrives. ``QueuePoller`` does the same on moto's queue, but waits *between* receives rather
than inside one, so that ``pause`` and ``stop`` never wait out a poll: a receive that finds
nothing is followed by a wait that ends when a message is sent to the queue
(``QueueArrivals``), when the loop is stopped, or after ``wait_seconds`` at the
latest (a message whose visibility timeout or delay ran out sends no signal; nor does it
on AWS until the next receive).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cloudqueue_local.emulator.awslambda.invocation import ServiceFault
from cloudqueue_local.emulator.patches.sqs_arrivals import QueueArrivals
from cloudqueue_local.template import QueueSpec

logger = logging.getLogger("cloudqueue.local")


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


class Loop:
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
        """Start the loop's threads."""
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
        """Called by a step when the work it took has ended."""
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
        """Take work again."""
        self._resumed.set()

    def step(self) -> None:
        """One round of the loop's work (each subclass says what)."""
        raise NotImplementedError

    def stop(self, timeout: float) -> bool:
        """Stop taking work and wait up to ``timeout`` seconds for work in hand. True if all ended."""
        self.signal_stop()  # a paused loop wakes up to see that it should stop
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def taking_work(self) -> bool:
        """Neither paused nor stopping."""
        return self._resumed.is_set() and not self._stopping.is_set()


class QueuePoller(Loop):
    """A loop that receives batches from one queue and hands each to ``run``.

    A receive that finds nothing is followed by a wait for the next message (``QueueArrivals``),
    at most ``wait_seconds``; ``stop`` ends the wait at once, and ``pause`` never waits for it
    (the wait is not work).
    """

    def __init__(
        self, name: str, threads: int, *, queue: QueueSpec, sqs: Any, batch_size: int, wait_seconds: float
    ) -> None:
        super().__init__(name, threads)
        self.queue = queue
        self.sqs = sqs
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.arrivals = QueueArrivals(queue)

    def step(self) -> None:
        # The receive counts as work: pause() waits for it, so that no message is received
        # (and its receive count raised) while the poller is paused.
        if not self.begin_work():
            return
        messages: list[dict[str, Any]] = []
        try:
            received = self.sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(self.batch_size, 10),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = received.get("Messages", [])
            if messages:
                self.run(messages)
        finally:
            self.end_work()
        if not messages and self.wait_seconds > 0:
            self.arrivals.wait(self.wait_seconds, lambda: not self.taking_work)

    def run(self, messages: list[dict[str, Any]]) -> None:
        """Hand a received batch to the target (each subclass says which)."""
        raise NotImplementedError

    def delete(self, messages: list[dict[str, Any]]) -> None:
        """Delete these received messages from the queue."""
        self.sqs.delete_message_batch(
            QueueUrl=self.queue.url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )

    def signal_stop(self) -> None:
        super().signal_stop()
        # A thread waiting for a message ends its wait now, not after wait_seconds. (A paused
        # loop needs no wake-up: its waiting threads take no work whenever they wake.)
        try:
            self.arrivals.wake()
        except Exception:  # the queue is gone (moto was reset): no one can be waiting on it
            logger.debug("%s: no queue to wake", self.name, exc_info=True)
