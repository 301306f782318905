"""The environment killer's leak measure: a slot a dead environment holds counts as leaked only
once the same environment has held it for the grace, however often it is looked at."""

from __future__ import annotations

from typing import Any

import pytest

from cloudqueue_local.bench import killer as killer_module
from cloudqueue_local.bench.killer import LEAK_GRACE_SECONDS, WORKFLOW_FUNCTIONS, EnvironmentKiller


class FakeFunction:
    def __init__(self) -> None:
        self.dead: list[int] = []

    def dead_holding_slots(self) -> list[int]:
        return list(self.dead)


class FakeRuntime:
    def __init__(self) -> None:
        self.functions = {name: FakeFunction() for name in WORKFLOW_FUNCTIONS}

    def function(self, name: str) -> FakeFunction:
        return self.functions[name]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(killer_module.time, "monotonic", lambda: now[0])
    return now


def test_a_dead_environment_freed_within_the_grace_is_no_leak(clock: list[float]) -> None:
    runtime = FakeRuntime()
    killer = EnvironmentKiller(runtime, 1.0)  # type: ignore[arg-type]

    # Given a dead environment seen holding its slot, looked at again just before the grace
    runtime.functions["ClaimFunction"].dead = [41]
    killer._look()
    clock[0] += LEAK_GRACE_SECONDS - 0.1
    killer._look()
    # and then its invocation is answered
    runtime.functions["ClaimFunction"].dead = []
    clock[0] += 1
    killer._look()

    # Then nothing leaked
    assert killer.most_slots_held_by_dead == 0


def test_a_slot_held_past_the_grace_by_one_dead_environment_is_a_leak(clock: list[float]) -> None:
    runtime = FakeRuntime()
    killer = EnvironmentKiller(runtime, 1.0)  # type: ignore[arg-type]

    # Given two dead environments, one freed at once and one that keeps its slot
    runtime.functions["ProcessFunction"].dead = [7, 8]
    killer._look()
    runtime.functions["ProcessFunction"].dead = [8]
    clock[0] += LEAK_GRACE_SECONDS
    killer._look()

    # Then the one held for the grace is counted, the other not
    assert killer.most_slots_held_by_dead == 1


def test_stop_looks_again_so_that_a_leak_at_the_end_of_a_run_is_seen(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = FakeRuntime()
    killer = EnvironmentKiller(runtime, 1000.0)  # type: ignore[arg-type]
    killer.start()
    # Given a dead environment that never frees its slot, first seen as the run ends
    runtime.functions["FinalizeFunction"].dead = [9]

    def sleep(seconds: Any) -> None:
        clock[0] += seconds

    monkeypatch.setattr(killer_module.time, "sleep", sleep)

    # When the killer stops
    killer.stop()

    # Then it looked for as long as the grace, and counted the leak
    assert killer.most_slots_held_by_dead == 1
