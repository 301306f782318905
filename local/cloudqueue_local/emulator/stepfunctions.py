"""Step Functions Express on moto's ASL interpreter: how the Pipe runs an execution.

``LocalStepFunctions`` starts executions on moto's Step Functions backend, either to their
end in the calling thread (``run_sync``: what ``StartSyncExecution`` does and the Pipe relies
on) or in the background (``start``), finds them, and drops finished ones past
``keep_executions``: Express executions are not kept by AWS, while moto keeps all of them
and scans the list on each start.

moto itself is adjusted (execution history to CloudWatch Logs, synchronous executions,
cached parsing, Lambda tasks straight to the local runtime) in ``patches/moto_stepfunctions.py``;
it reads ``is_synchronous()`` to know that a start must run in the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_sync = threading.local()


@contextmanager
def synchronous() -> Iterator[None]:
    """Executions started in this block run to their end in this thread."""
    _sync.active = True
    try:
        yield
    finally:
        _sync.active = False


def is_synchronous() -> bool:
    """Whether executions started now, in this thread, must run to their end in it."""
    return bool(getattr(_sync, "active", False))


class LocalStepFunctions:
    """Runs executions on moto's backend the way a Pipe does."""

    def __init__(self, *, account: str, region: str, keep_executions: int = 2000) -> None:
        self.account = account
        self.region = region
        self.keep_executions = keep_executions
        self._prune_lock = threading.Lock()

    # --- running --------------------------------------------------------------------------

    def backend(self) -> Any:
        """moto's Step Functions backend of this account and region."""
        from moto.stepfunctions.responses import get_backend

        return get_backend(self.account, self.region)

    def run_sync(self, state_machine_arn: str, execution_input: str, name: str) -> Any:
        """Start an execution and return it finished (moto's ``Execution``)."""
        with synchronous():
            execution = self.backend().start_execution(
                state_machine_arn, name=name, execution_input=execution_input
            )
        self._prune(state_machine_arn)
        return execution

    def start(self, state_machine_arn: str, execution_input: str, name: str) -> Any:
        """Start an execution in the background, as ``StartExecution`` does."""
        return self.backend().start_execution(state_machine_arn, name=name, execution_input=execution_input)

    def find_execution(self, execution_arn: str) -> Any | None:
        """The execution of that ARN (moto's ``Execution``), or None if it is gone."""
        for machine in self.backend().state_machines:
            for execution in machine.executions:
                if execution.execution_arn == execution_arn:
                    return execution
        return None

    def running(self) -> list[Any]:
        """Every execution still running."""
        return [
            execution
            for machine in self.backend().state_machines
            for execution in machine.executions
            if execution.status == "RUNNING"
        ]

    def _prune(self, state_machine_arn: str) -> None:
        machine = self.backend().describe_state_machine(state_machine_arn)
        executions = machine.executions
        if len(executions) <= self.keep_executions * 1.25:
            return
        with self._prune_lock:
            finished = [execution for execution in executions if execution.status != "RUNNING"]
            drop = {id(execution) for execution in finished[: len(executions) - self.keep_executions]}
            machine.executions[:] = [execution for execution in executions if id(execution) not in drop]
