"""Sandboxes dying as they do on Lambda: ``cloudqueue bench --scenario mixed --kill-every 1.5``.

Every ``interval`` seconds the killer SIGKILLs the process of one execution environment of the
claim, process or finalize function, chosen at random among them all (idle, starting or running
an invocation), as a host failure or an out-of-memory kill ends a Lambda sandbox. Choosing only
among busy ones would be a different experiment: near the end of a run the one busy
environment is a retry's fresh one, still starting, and a killer as fast as a cold start would
kill every retry of that step. It counts its kills per function, and
after each one samples how many slots dead environments still hold: a right runtime answers the
dead environment's invocation at once (``Runtime.ExitError``) and frees its slot, so a function's
concurrency never shrinks.
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
# this long after a kill counts as leaked.
LEAK_GRACE_SECONDS = 1.0


class EnvironmentKiller:
    """Kills one workflow environment every ``interval`` seconds until stopped."""

    def __init__(self, runtime: LambdaRuntime, interval: float, *, seed: int = 11) -> None:
        self.runtime = runtime
        self.interval = interval
        self.killed: Counter[str] = Counter()
        self.most_slots_held_by_dead = 0
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="environment-killer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

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
            time.sleep(min(LEAK_GRACE_SECONDS, self.interval / 2))
            held = sum(self.runtime.function(name).slots_held_by_dead() for name in WORKFLOW_FUNCTIONS)
            self.most_slots_held_by_dead = max(self.most_slots_held_by_dead, held)
