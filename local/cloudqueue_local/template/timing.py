"""The timing order of the template, checked before anything runs (docs/design.md#timing-order).

A live execution must always hold a live lease, and a redelivered message must find a dead
worker's lease expired. That holds when, in every configuration:

- ProcessTimeoutSeconds < WorkflowTimeoutSeconds <= LeaseSeconds < VisibilityTimeoutSeconds;
- WorkflowTimeoutSeconds <= 300 (a Pipe waits at most 5 minutes for its target);
- the state machine's worst case fits in WorkflowTimeoutSeconds, so that RecordFailure
  always runs: along the longest path, each Task's attempts (1 + the sum of its retriers'
  MaxAttempts) times its function's timeout, plus each retrier's backoffs at their longest
  (IntervalSeconds x BackoffRate^n, capped by MaxDelaySeconds; jitter only shortens them);
- VisibilityTimeoutSeconds > LeaseSeconds + the worst time from the receive to the claim's
  write (the path up to and including the first Task), since the lease starts at that write;
- SubmitGraceSeconds is above the API function's timeout (the API sends, then writes) and
  within the claim's JobNotYetWritten retries, which must not jitter, so that the last retry
  always comes after the grace and settles the message;
- QueueRetentionSeconds >= MaxReceiveCount x VisibilityTimeoutSeconds: a message lives
  through every receive the redrive policy allows, so that a failing job's message reaches
  the dead-letter queue instead of expiring first (a job whose message expired is only
  found by the sweeper's stranded-job check, days later).

The retriers' numbers are template parameters (``*Retry*``, substituted into the definition by
``DefinitionSubstitutions``), so the rules are checked on the definition as substituted, and
each retrier must first hold numbers Step Functions accepts: otherwise (a negative MaxAttempts,
a BackoffRate below 1) the worst case computed here would not be the one that runs.

``check_timing`` is pure: it reads a ``LocalTemplate`` and raises ``TimingError`` naming the
rule a parameter set breaks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cloudqueue_local.template.specs import LocalTemplate, TemplateError

PIPE_TARGET_LIMIT_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 3  # Step Functions' default for a retrier without MaxAttempts
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_BACKOFF_RATE = 2.0
NOT_YET_WRITTEN = "JobNotYetWritten"


class TimingError(TemplateError):
    """A parameter set that breaks the timing order."""


@dataclass(frozen=True)
class TaskBudget:
    state: str
    function: str
    timeout: int
    attempts: int
    backoff: float

    @property
    def worst(self) -> float:
        return self.attempts * self.timeout + self.backoff


def retrier_backoff(retrier: dict[str, Any]) -> float:
    """The longest total wait of one retrier: every retry at its capped, unjittered delay."""
    interval = float(retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS))
    rate = float(retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE))
    cap = retrier.get("MaxDelaySeconds")
    total = 0.0
    for retry in range(int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))):
        delay = interval * rate**retry
        total += min(delay, float(cap)) if cap is not None else delay
    return total


def task_budget(name: str, state: dict[str, Any], template: LocalTemplate) -> TaskBudget:
    target = (state.get("Parameters") or {}).get("FunctionName") or state.get("Resource", "")
    function = template.function_by_arn_or_name(str(target))
    if function is None:
        raise TimingError(f"{name}: no function of the template behind {target!r}")
    retriers = state.get("Retry") or []
    return TaskBudget(
        state=name,
        function=function.logical_id,
        timeout=function.timeout,
        attempts=1 + sum(int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS)) for retrier in retriers),
        backoff=sum(retrier_backoff(retrier) for retrier in retriers),
    )


def _successors(state: dict[str, Any]) -> list[str]:
    names = [state.get("Next"), state.get("Default")]
    names += [choice.get("Next") for choice in state.get("Choices") or []]
    names += [catcher.get("Next") for catcher in state.get("Catch") or []]
    return [name for name in names if name]


def worst_path(
    definition: dict[str, Any], template: LocalTemplate, *, stop_after_first_task: bool = False
) -> tuple[float, list[TaskBudget]]:
    """The longest run from StartAt (seconds) and the Tasks on it."""
    states: dict[str, dict[str, Any]] = definition["States"]
    memo: dict[str, tuple[float, list[TaskBudget]]] = {}

    def longest(name: str, visiting: frozenset[str]) -> tuple[float, list[TaskBudget]]:
        if name in visiting:
            raise TimingError(f"the state machine loops through {name}: its worst case is unbounded")
        if name in memo:
            return memo[name]
        state = states[name]
        own: list[TaskBudget] = []
        if state.get("Type") == "Task":
            own = [task_budget(name, state, template)]
            if stop_after_first_task:
                memo[name] = (own[0].worst, own)
                return memo[name]
        best: tuple[float, list[TaskBudget]] = (0.0, [])
        for successor in _successors(state):
            found = longest(successor, visiting | {name})
            if found[0] > best[0]:
                best = found
        memo[name] = (sum(task.worst for task in own) + best[0], own + best[1])
        return memo[name]

    return longest(definition["StartAt"], frozenset())


# Step Functions' bounds for a retrier's numbers (whole seconds and counts; a rate of at least 1).
RETRIER_BOUNDS: dict[str, tuple[float, bool]] = {
    "IntervalSeconds": (1, True),
    "MaxAttempts": (0, True),
    "BackoffRate": (1.0, False),
    "MaxDelaySeconds": (1, True),
}


def check_retriers(definition: dict[str, Any]) -> None:
    """Raise TimingError naming the first retrier whose numbers Step Functions would refuse."""
    for name, state in definition["States"].items():
        for retrier in state.get("Retry") or []:
            for field, (least, whole) in RETRIER_BOUNDS.items():
                value = retrier.get(field)
                if value is None:
                    continue
                valid = isinstance(value, int | float) and not isinstance(value, bool) and value >= least
                if not valid or (whole and value != int(value)):
                    kind = "a whole number" if whole else "a number"
                    raise TimingError(
                        f"{name}: the retrier of {retrier.get('ErrorEquals')} has {field} {value!r}: "
                        f"it must be {kind} of at least {least:g}"
                    )


def _not_yet_written_retrier(definition: dict[str, Any]) -> dict[str, Any] | None:
    for state in definition["States"].values():
        for retrier in state.get("Retry") or []:
            if NOT_YET_WRITTEN in retrier.get("ErrorEquals", []):
                return dict(retrier)
    return None


def _int(template: LocalTemplate, name: str) -> int:
    try:
        return int(template.parameters[name])
    except (KeyError, ValueError):
        raise TimingError(f"parameter {name} must be a whole number of seconds") from None


def check_timing(template: LocalTemplate, state_machine: str = "JobStateMachine") -> None:
    """Raise TimingError naming the first timing rule ``template``'s parameters break."""
    process = _int(template, "ProcessTimeoutSeconds")
    workflow = _int(template, "WorkflowTimeoutSeconds")
    lease = _int(template, "LeaseSeconds")
    visibility = _int(template, "VisibilityTimeoutSeconds")
    grace = _int(template, "SubmitGraceSeconds")
    order = [
        (process < workflow, f"ProcessTimeoutSeconds ({process}) < WorkflowTimeoutSeconds ({workflow})"),
        (workflow <= lease, f"WorkflowTimeoutSeconds ({workflow}) <= LeaseSeconds ({lease})"),
        (lease < visibility, f"LeaseSeconds ({lease}) < VisibilityTimeoutSeconds ({visibility})"),
        (
            workflow <= PIPE_TARGET_LIMIT_SECONDS,
            f"WorkflowTimeoutSeconds ({workflow}) <= {PIPE_TARGET_LIMIT_SECONDS} (a Pipe's limit)",
        ),
    ]
    for holds, rule in order:
        if not holds:
            raise TimingError(f"timing rule broken: {rule}")

    definition = json.loads(template.state_machines[state_machine].definition)
    check_retriers(definition)
    declared = int(definition.get("TimeoutSeconds", 0))
    if declared != workflow:
        raise TimingError(
            f"timing rule broken: the state machine's TimeoutSeconds ({declared}) is "
            f"WorkflowTimeoutSeconds ({workflow})"
        )
    worst, tasks = worst_path(definition, template)
    if worst > workflow:
        steps = " + ".join(
            f"{task.state} {task.attempts}x{task.timeout}s+{task.backoff:g}s" for task in tasks
        )
        raise TimingError(
            f"timing rule broken: the state machine's worst case ({worst:g} s: {steps}) fits in "
            f"WorkflowTimeoutSeconds ({workflow}), so that RecordFailure always runs"
        )
    to_claim, _ = worst_path(definition, template, stop_after_first_task=True)
    if visibility <= lease + to_claim:
        raise TimingError(
            f"timing rule broken: VisibilityTimeoutSeconds ({visibility}) > LeaseSeconds ({lease}) "
            f"+ the worst time from a receive to the claim's write ({to_claim:g} s)"
        )

    if "QueueRetentionSeconds" in template.parameters:
        retention = _int(template, "QueueRetentionSeconds")
        receives = _int(template, "MaxReceiveCount")
        if retention < receives * visibility:
            raise TimingError(
                f"timing rule broken: QueueRetentionSeconds ({retention}) >= MaxReceiveCount "
                f"({receives}) x VisibilityTimeoutSeconds ({visibility}), so that a message is "
                "dead-lettered before it expires"
            )

    api = template.functions.get("ApiFunction")
    if api is not None and grace <= api.timeout:
        raise TimingError(
            f"timing rule broken: SubmitGraceSeconds ({grace}) > the API function's timeout "
            f"({api.timeout} s), since the API sends a job's message before it writes the job"
        )
    retrier = _not_yet_written_retrier(definition)
    if retrier is not None:
        span = retrier_backoff(retrier)
        if retrier.get("JitterStrategy", "NONE") != "NONE" or span < grace:
            raise TimingError(
                f"timing rule broken: SubmitGraceSeconds ({grace}) <= the claim's unjittered "
                f"{NOT_YET_WRITTEN} retries ({span:g} s), so that the last retry settles the message"
            )


def timing_summary(template: LocalTemplate, state_machine: str = "JobStateMachine") -> dict[str, float]:
    """The figures ``check_timing`` compares, for tests and docs/design.md#timing-order."""
    definition = json.loads(template.state_machines[state_machine].definition)
    worst, _ = worst_path(definition, template)
    to_claim, _ = worst_path(definition, template, stop_after_first_task=True)
    return {"worstCaseSeconds": worst, "receiveToClaimSeconds": to_claim}
