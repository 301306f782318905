"""Sandboxes dying as they do on Lambda: ``cloudqueue bench --scenario mixed --kill-every 1.5``.

Every ``interval`` seconds the killer SIGKILLs the process of one execution environment of the
claim, process or finalize function, chosen at random among them all (idle, starting or running
an invocation), as a host failure or an out-of-memory kill ends a Lambda sandbox. Choosing only
among busy ones would be a different experiment: near the end of a run the one busy
environment is a retry's fresh one, still starting, and a killer as fast as a cold start would
kill every retry of that step. It counts its kills per function, and
after each one looks at which dead environments still hold a slot: a right runtime answers the
dead environment's invocation at once (``Runtime.ExitError``) and frees its slot, so a function's
concurrency never shrinks. A slot counts as leaked once the same dead environment has held it
for ``LEAK_GRACE_SECONDS``; a shorter hold is the machine scheduling the invoking thread late
(a loaded 2-core machine can take most of a second), not a leak. ``stop`` looks once more, for
up to that long, so that a leak near the end of a run is seen too.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime

WORKFLOW_FUNCTIONS = ("ClaimFunction", "ProcessFunction", "FinalizeFunction")
# A dead environment's slot is freed once its invocation is answered; one that still holds it
# this long after it was first seen dead counts as leaked (far above a late thread, far below
# the workflow's timeout, which a leaked slot would make an invocation wait out).
LEAK_GRACE_SECONDS = 5.0
_LOOK_EVERY_SECONDS = 0.5


class EnvironmentKiller:
    """Kills one workflow environment every ``interval`` seconds until stopped."""

    def __init__(self, runtime: LambdaRuntime, interval: float, *, seed: int = 11) -> None:
        self.runtime = runtime
        self.interval = interval
        self.killed: Counter[str] = Counter()
        self.most_slots_held_by_dead = 0  # slots held by dead environments past the grace, at most
        self._dead_since: dict[int, float] = {}  # pid -> when first seen dead, holding a slot
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="environment-killer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + LEAK_GRACE_SECONDS
        while self._look() and time.monotonic() < deadline:
            time.sleep(_LOOK_EVERY_SECONDS)

    def _look(self) -> int:
        """Note which dead environments hold a slot now; how many do (past the grace or not)."""
        now = time.monotonic()
        holding = {
            pid for name in WORKFLOW_FUNCTIONS for pid in self.runtime.function(name).dead_holding_slots()
        }
        self._dead_since = {pid: self._dead_since.get(pid, now) for pid in holding}
        leaked = sum(now - since >= LEAK_GRACE_SECONDS for since in self._dead_since.values())
        self.most_slots_held_by_dead = max(self.most_slots_held_by_dead, leaked)
        return len(holding)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            candidates = [
                (name, pid)
                for name in WORKFLOW_FUNCTIONS
                for pid in self.runtime.function(name).environment_pids()
            ]
            if candidates:
                name, pid = self._random.choice(candidates)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # it ended meanwhile
                    continue
                self.killed[name] += 1
            time.sleep(min(_LOOK_EVERY_SECONDS, self.interval / 2))
            self._look()
