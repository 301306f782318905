"""How a ``cloudqueue bench`` run is set up: the stacks it starts and the mixed load's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudqueue_local.devtools.stack import LocalStack


@dataclass(frozen=True)
class BenchOptions:
    """How the stacks of a bench run are started."""

    pollers: int = 4
    faults: str | None = None
    worker_cpus: frozenset[int] | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def stack(self) -> LocalStack:
        """A local stack with these options, on free ports, not yet started."""
        # Imported here: the imports and history scenarios need no stack.
        from cloudqueue_local.devtools.stack import LocalStack, StackOptions

        return LocalStack(
            StackOptions(
                port=0,
                aws_port=0,
                pollers=self.pollers,
                schedules=True,
                faults=self.faults,
                worker_cpus=self.worker_cpus,
                parameter_overrides=self.parameter_overrides,
            )
        )


@dataclass(frozen=True)
class MixedOptions:
    """The mixed load's size: jobs, concurrent clients, duplicate messages, its deadline, and
    how often a workflow function's environment is killed (None: never; see ``killer``)."""

    jobs: int = 2000
    clients: int = 32
    duplicates: int = 200
    deadline_seconds: float = 1800
    kill_every: float | None = None
