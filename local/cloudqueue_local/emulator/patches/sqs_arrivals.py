"""A send to one of moto's SQS queues, noticed at once: what lets the local pollers long-poll.

moto's ``Queue`` creates a ``threading.Condition``, ``_messages_lock``, in ``__init__`` and
notifies it on every ``add_message``; its own long poll waits on it
(``Queue.wait_for_messages``). ``QueueArrivals`` waits on the same condition with a predicate
of its own, so that a poller's wait ends when a message arrives or when it is told to stop.
The two moto internals it relies on are in the registry (``sqs.queue.init``,
``sqs.queue.add_message``, each with the fingerprint of the source that creates and notifies
the condition), so an upgrade that moves the condition fails the seam test by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudqueue_local.template import QueueSpec


class QueueArrivals:
    """Wakes whoever waits on it when a message is sent to one of moto's SQS queues."""

    def __init__(self, queue: QueueSpec) -> None:
        # arn:aws:sqs:<region>:<account>:<name>
        _, _, _, self.region, self.account, self.name = queue.arn.split(":", 5)

    def _queue(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account][self.region].get_queue(self.name)

    def wait(self, timeout: float, done: Callable[[], bool]) -> None:
        """Until a message is visible in the queue or ``done()``, at most ``timeout`` seconds."""
        queue = self._queue()
        with queue._messages_lock:
            # A delayed message sends no signal when its delay ends (nor on AWS, where the next
            # receive finds it): the wait ends then at the latest, so that a delayed job's
            # message is taken as soon as SQS would show it. ``delayed_until`` (epoch ms) is
            # read defensively: without it, the wait is ``timeout`` as before.
            timeout = min(timeout, _until_next_delay_ends(queue, timeout))
            queue._messages_lock.wait_for(lambda: done() or bool(queue.messages), timeout=timeout)

    def wake(self) -> None:
        """End every wait now (each checks its predicate again)."""
        queue = self._queue()
        with queue._messages_lock:
            queue._messages_lock.notify_all()


def _until_next_delay_ends(queue: Any, longest: float) -> float:
    """Seconds until the first of the queue's delayed messages becomes visible (``longest`` if none)."""
    now_ms = time.time() * 1000
    ends = [
        until
        for message in list(getattr(queue, "_messages", []))
        if isinstance(until := getattr(message, "delayed_until", 0), int | float) and until > now_ms
    ]
    return max(0.0, (min(ends) - now_ms) / 1000 + 0.005) if ends else longest


__all__ = ["QueueArrivals"]
