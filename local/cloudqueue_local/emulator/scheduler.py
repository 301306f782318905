"""EventBridge Scheduler: a ``rate(...)`` schedule invoking a function."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.polling import Loop
from cloudqueue_local.template import ScheduleSpec


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float, /) -> None: ...


class LocalSchedule(Loop):
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
        """Wait one period, then fire (unless paused or stopped meanwhile)."""
        # Wait for the next tick in short naps, so that pause() and stop() need not wait for it.
        clock = self.clock
        deadline = clock.monotonic() + self.spec.every_seconds
        while clock.monotonic() < deadline:
            if not self.taking_work:
                return
            clock.sleep(min(0.1, max(0.0, deadline - clock.monotonic())))
        if self.begin_work():
            try:
                self.fire()
            finally:
                self.end_work()

    def fire(self) -> Any:
        """Invoke the function once with a Scheduled Event."""
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
