"""The poison scenario of ``cloudqueue bench``: how long a message that names no job takes to
reach ``cloudqueue dlq list``, with the stack's own timings.

Two kinds, each sent raw to the job queue through the stack's AWS endpoint, as an operator's
mistake or a foreign producer would, then looked for the way ``cloudqueue dlq list`` looks
(``client.dead_letters.list_messages``), every 50 ms:

- unreadable: a body that is not a job message; the claim of its first delivery keeps it;
- orphan: ``{"jobId": ...}`` for a job never written (its submit failed after the send); the
  claim waits the submit grace for the write, then keeps it.

Before the claim kept them, the first kind reached the list only through the dead-letter queue,
after ``MaxReceiveCount`` receives a visibility timeout apart (the figure ``before_s`` is that
product, from the stack's parameters), and the second was consumed without being kept.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudqueue.jobs import new_job_id
from cloudqueue_local.bench.timing import percentile
from cloudqueue_local.client import dead_letters

if TYPE_CHECKING:
    from cloudqueue_local.bench.aws_view import AwsView
    from cloudqueue_local.devtools.stack import LocalStack

LOOK_EVERY = 0.05


def _listed_after(aws: AwsView, where: dead_letters.Queues, body: str, timeout: float) -> float:
    """Send ``body`` to the job queue; seconds until ``dlq list`` shows it. Deletes it after."""
    started = time.perf_counter()
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=body)
    deadline = started + timeout
    first_bytes = body[: dead_letters.FIRST_BYTES]
    while time.perf_counter() < deadline:
        shown = [row for row in dead_letters.list_messages(where) if row["firstBytes"] == first_bytes]
        if shown:
            seconds = time.perf_counter() - started
            for row in shown:
                dead_letters.delete_message(where, row["messageId"])
            return seconds
        time.sleep(LOOK_EVERY)
    raise TimeoutError(f"a poison message was not listed within {timeout:.0f} s")


def poison_scenario(
    stack: LocalStack, aws: AwsView, log: Callable[[str], object], messages: int = 5
) -> dict[str, Any]:
    """Seconds from the send to ``dlq list`` for ``messages`` unreadable messages and one orphan."""
    where = dead_letters.Queues(
        aws.sqs,
        {
            dead_letters.DEAD_LETTER: aws.dlq_url,
            dead_letters.POISON: stack.queue_url("PoisonMessageQueue"),
        },
    )
    parameters = stack.template.parameters
    grace = float(parameters["SubmitGraceSeconds"])
    before = float(parameters["MaxReceiveCount"]) * float(parameters["VisibilityTimeoutSeconds"])
    log(f"poison: {messages} unreadable messages, then one orphan (submit grace {grace:g} s)...")
    unreadable = [
        _listed_after(aws, where, f"not a job message {uuid.uuid4()}", timeout=120) for _ in range(messages)
    ]
    orphan = _listed_after(aws, where, json.dumps({"jobId": new_job_id()}), timeout=grace + 120)
    return {
        "messages": messages,
        "unreadable_p50_s": percentile(unreadable, 0.5),
        "unreadable_max_s": max(unreadable),
        "orphan_s": orphan,
        "submit_grace_s": grace,
        "before_s": before,
    }
