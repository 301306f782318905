"""One function of the template: its pool of execution environments, and its invocations.

An invocation takes a warm environment, or starts one (a cold start) while the function has
fewer than its limit (``ReservedConcurrentExecutions``, else the runtime's default); past the
limit it waits, first come first served. An environment's whole life is here: started
(``_start_environment``), initialised (``_initialise``), handed an invocation (``_dispatch``),
given back (``_release``) or sent away (``_retire``) when it timed out, died, or runs
out-of-date code. A handler past its timeout has its environment killed and replaced, and
the invocation answers what Lambda answers (``Sandbox.Timedout``); a process that dies
mid-invocation answers ``Runtime.ExitError``; a warm environment found dead before its
invocation is replaced, as Lambda would.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cloudqueue_local.emulator.awslambda.environment import (
    INIT_SECONDS,
    EnvironmentGone,
    ExecutionEnvironment,
    RuntimeSettings,
)
from cloudqueue_local.emulator.awslambda.invocation import (
    EXIT_ERROR,
    InjectedCrash,
    InjectedTimeout,
    Invocation,
    ServiceFault,
    error_body,
    error_payload,
    exit_error,
    stopped,
)
from cloudqueue_local.emulator.faults import LambdaFault
from cloudqueue_local.template import FunctionSpec

logger = logging.getLogger("cloudqueue.local")


class _Waiter:
    """An invocation queued for an environment: woken with one, or with room to start one."""

    __slots__ = ("environment", "event", "start")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.environment: ExecutionEnvironment | None = None
        self.start = False


class LocalFunction:
    """One function: its pool of execution environments, and the record of its invocations."""

    def __init__(self, spec: FunctionSpec, settings: RuntimeSettings, max_environments: int) -> None:
        self.spec = spec
        self.settings = settings
        self.max_environments = max_environments
        self._idle: list[ExecutionEnvironment] = []
        # Every environment, with the generation of the code it started on. A new generation
        # (``retire_environments``, after an edit) sends the older ones away once they are free.
        self._live: dict[ExecutionEnvironment, int] = {}
        self.generation = 0
        self._starting = 0
        self._queue: deque[_Waiter] = deque()
        self._closed = False
        self._available = threading.Lock()
        # The record the bench and the tests read.
        self.invocations = 0
        self.errors = 0
        self.timeouts = 0
        self.crashes = 0  # environments that died mid-invocation (each replaced by the next cold start)
        self.cold_starts = 0
        self.init_durations_ms: list[float] = []
        self.total_duration_ms = 0.0

    @property
    def environments(self) -> int:
        """How many environments exist (busy, idle or starting)."""
        with self._available:
            return len(self._live) + self._starting

    @property
    def idle(self) -> int:
        """How many environments are warm and free."""
        with self._available:
            return len(self._idle)

    @property
    def waiting(self) -> int:
        """How many invocations wait for an environment."""
        with self._available:
            return len(self._queue)

    def environment_pids(self) -> list[int]:
        """The processes of every environment: idle, starting or running an invocation."""
        with self._available:
            return [environment.pid for environment in self._live]

    def dead_holding_slots(self) -> list[int]:
        """The pids of busy environments whose process has exited: each holds a slot of the
        function's concurrency until its invocation is answered (at once, if the runtime is right)."""
        with self._available:
            idle = set(self._idle)
            busy = [environment for environment in self._live if environment not in idle]
        return [environment.pid for environment in busy if environment.process.poll() is not None]

    # --- the pool -----------------------------------------------------------------------
    # Invocations that find no environment queue up, first come first served. Whoever frees
    # an environment (or room for a new one) hands it to the head of the queue and wakes
    # that invocation alone: no herd of waiters woken on every release.

    def _acquire(self) -> tuple[ExecutionEnvironment, bool]:
        """A warm environment, or a new one (``True``: cold)."""
        with self._available:
            if self._closed:
                raise stopped()
            waiter = None
            if self._queue:
                waiter = self._enqueue()
            elif self._idle:
                return self._idle.pop(), False  # the most recently used: warm caches stay warm
            elif len(self._live) + self._starting < self.max_environments:
                self._starting += 1
            else:
                waiter = self._enqueue()
        if waiter is not None:
            waiter.event.wait()
            if waiter.environment is not None:
                return waiter.environment, False
            if not waiter.start:
                raise stopped()
        return self._start_environment(), True

    def _enqueue(self) -> _Waiter:
        waiter = _Waiter()
        self._queue.append(waiter)
        return waiter

    def _hand_room(self) -> None:
        """With the lock held: room for one more environment goes to the head of the queue."""
        if self._queue and len(self._live) + self._starting < self.max_environments:
            waiter = self._queue.popleft()
            self._starting += 1
            waiter.start = True
            waiter.event.set()

    def _start_environment(self) -> ExecutionEnvironment:
        """A new environment's process (the caller has counted it in ``_starting``)."""
        generation = self.generation  # read before the process imports the code
        try:
            environment = ExecutionEnvironment(self.spec, self.settings)
        except BaseException:
            with self._available:
                self._starting -= 1
                self._hand_room()
            raise
        with self._available:
            self._starting -= 1
            self._live[environment] = generation
            self.cold_starts += 1
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._available:
            if not self._closed and self._live.get(environment) == self.generation:
                if self._queue:
                    waiter = self._queue.popleft()
                    waiter.environment = environment
                    waiter.event.set()
                else:
                    self._idle.append(environment)
                return
        self._retire(environment)  # stopped, or its code is out of date

    def _retire(self, environment: ExecutionEnvironment) -> None:
        environment.kill()
        with self._available:
            self._live.pop(environment, None)
            self._hand_room()

    def retire_environments(self) -> int:
        """Send away every environment, as a deploy does on Lambda: the idle ones now, the busy
        ones when their invocation ends (on the code they started with). The next invocation
        starts a fresh environment on the code as it is now. How many environments it retired."""
        with self._available:
            self.generation += 1
            idle, self._idle = self._idle, []
            count = len(self._live) + self._starting
        for environment in idle:
            self._retire(environment)
        return count

    def prewarm(self) -> None:
        """Start one environment ahead of the first invocation, if the function has none."""
        with self._available:
            if self._closed or self._live or self._starting or self.max_environments == 0:
                return
            self._starting += 1
        environment = self._start_environment()
        failed = self._initialise(environment, "prewarm")
        if failed is None:
            self._release(environment)

    def close(self) -> None:
        with self._available:
            self._closed = True
            environments = list(self._live)
            self._idle = []
            while self._queue:
                self._queue.popleft().event.set()  # neither an environment nor room: stopped
        for environment in environments:
            environment.kill()

    # --- invoking -----------------------------------------------------------------------

    def run(
        self,
        payload: bytes,
        request_id: str,
        *,
        fault: Callable[[Any], None] | None = None,
        chaos: LambdaFault | None = None,
    ) -> Invocation:
        """Invoke once. ``fault`` runs first (a ServiceFault it raises fails the call, InjectedTimeout
        and InjectedCrash end it as the platform would, any other exception fails the function);
        ``chaos`` is an injected service fault, timeout or crash."""
        with self._available:
            self.invocations += 1
        timeout_fault = chaos is not None and chaos.timeout
        crash = chaos is not None and chaos.crash
        if fault is not None:
            try:
                fault(json.loads(payload))
            except ServiceFault:
                raise
            except InjectedTimeout:
                timeout_fault = True
            except InjectedCrash:
                crash = True
            except Exception as failure:
                return self._failed(json.dumps(error_payload(failure, request_id)).encode())
        if self.max_environments == 0:  # ReservedConcurrentExecutions: 0 stops a function
            raise ServiceFault("TooManyRequestsException", 429, "Rate Exceeded.")
        if chaos is not None and chaos.service_error is not None:
            code, status, message = chaos.service_error
            raise ServiceFault(code, status, message)
        for _ in range(3):  # a warm environment found dead is replaced, as Lambda would
            environment, cold = self._acquire()
            try:
                if cold:
                    failed = self._initialise(environment, request_id)
                    if failed is not None:
                        return failed
                else:
                    environment.ready(time.monotonic() + INIT_SECONDS)
            except (EnvironmentGone, TimeoutError):
                self._retire(environment)
                continue
            return self._dispatch(
                environment, payload, request_id, timeout_fault=timeout_fault, crash=crash, cold=cold
            )
        raise ServiceFault("ServiceException", 500, f"{self.spec.logical_id}: its environments keep dying")

    def _initialise(self, environment: ExecutionEnvironment, request_id: str) -> Invocation | None:
        """Start ``environment``'s runtime; an Invocation when that failed (it is then retired)."""
        try:
            failure = environment.initialise(time.monotonic() + INIT_SECONDS + self.spec.timeout)
        except TimeoutError:
            self._retire(environment)
            self.timeouts += 1
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            return self._failed(error_body("Sandbox.Timedout", message, request_id))
        except EnvironmentGone:
            reason = environment.exit_reason()
            self._retire(environment)
            with self._available:
                self.crashes += 1
            logger.warning("%s: its runtime exited while starting (%s)", self.spec.logical_id, reason)
            return self._failed(exit_error(reason, request_id))
        if failure is not None:
            self._retire(environment)
            root = self.settings.root.resolve()
            description = failure.describe((root / self.spec.code_uri).resolve(), root)
            logger.warning("%s failed to start: %s", self.spec.logical_id, description)
            return self._failed(failure.payload)
        assert environment.init_duration_ms is not None
        with self._available:
            self.init_durations_ms.append(environment.init_duration_ms)
        return None

    def _dispatch(
        self,
        environment: ExecutionEnvironment,
        payload: bytes,
        request_id: str,
        *,
        timeout_fault: bool,
        crash: bool,
        cold: bool,
    ) -> Invocation:
        environment.start(request_id)
        began = time.perf_counter()
        deadline = time.monotonic() + self.spec.timeout
        try:
            answer = environment.invoke(request_id, payload, deadline, crash=crash)
            if timeout_fault:
                # An injected timeout: the handler ran, but its answer never comes back.
                time.sleep(max(0.0, deadline - time.monotonic()))
                raise TimeoutError
        except TimeoutError:
            duration = (time.perf_counter() - began) * 1000
            try:
                environment.report(request_id, duration, "timeout")
            finally:  # whatever the log lines do, the environment's slot is freed
                self._retire(environment)
            with self._available:
                self.timeouts += 1
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            return self._failed(error_body("Sandbox.Timedout", message, request_id), duration)
        except EnvironmentGone:
            # The sandbox died mid-invocation (killed, out of memory, exited): Lambda answers at
            # once with Runtime.ExitError, and the next invocation gets a fresh environment.
            duration = (time.perf_counter() - began) * 1000
            reason = environment.exit_reason()
            try:
                environment.crashed(request_id, reason)
                environment.report(request_id, duration, "error", EXIT_ERROR)
            finally:  # whatever the log lines do, the environment's slot is freed
                self._retire(environment)
            with self._available:
                self.crashes += 1
            logger.warning(
                "%s: environment %s died mid-invocation (%s); replaced by the next invocation's",
                self.spec.logical_id,
                environment.pid,
                reason,
            )
            return self._failed(exit_error(reason, request_id), duration)
        duration = (time.perf_counter() - began) * 1000
        environment.report(request_id, duration)
        self._release(environment)
        init = environment.init_duration_ms if cold else None
        if answer.error_type is not None:
            return self._failed(answer.payload, duration, init)
        with self._available:
            self.total_duration_ms += duration
        return Invocation(answer.payload, None, duration, init)

    def _failed(self, payload: bytes, duration_ms: float = 0.0, init_ms: float | None = None) -> Invocation:
        with self._available:
            self.errors += 1
            self.total_duration_ms += duration_ms
        return Invocation(payload, "Unhandled", duration_ms, init_ms)
