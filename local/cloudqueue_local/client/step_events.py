"""The event a workflow function gets for a real job, built as the state machine builds it.

``cloudqueue invoke <Function> --job-id ID`` starts from what the Pipe would hand the state
machine for the job's message (an array of one SQS record), then walks
``statemachine/jobs.asl.json`` from ``StartAt``: Pass states apply their ``InputPath`` and
``Parameters``, Choice states their string rules, and each Task before the wanted function
takes the output the user ran it with (``--from-output``, in order), through its
``ResultSelector`` and ``ResultPath``, or, for a Lambda error, its matching ``Catch``. At the
wanted function's Task, the event is its ``Parameters.Payload`` resolved against the state.

So the events cannot drift from the ASL: change what ``ClaimJob`` passes and
``invoke ClaimFunction --job-id`` passes the same. Only what this workflow uses is supported
(paths like ``$.a.b`` and ``$[0]``, ``$$.Execution.Id``, ``$$.State.RetryCount``,
``StringEquals`` choices); anything else is a clear error, not a guess.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_MISSING = object()


class StepEventError(Exception):
    """The event cannot be built: said to the user in one line."""


@dataclass(frozen=True)
class Workflow:
    """The parts of the state machine a step event needs."""

    definition: dict[str, Any]
    state_machine_arn: str

    @classmethod
    def read(cls, path: Path, state_machine_arn: str) -> Workflow:
        """The definition file as written: ``${...Arn}`` kept (they name the functions), and
        the bare numeric substitutions (``"TimeoutSeconds": ${WorkflowTimeoutSeconds}``), which
        no step event uses, read as 0 so that the file parses."""
        text = re.sub(r"(:\s*)\$\{\w+\}", r"\g<1>0", path.read_text())
        return cls(json.loads(text), state_machine_arn)

    def function_of(self, state: dict[str, Any]) -> str | None:
        """The template logical id a Task invokes: ``${ClaimFunctionArn}`` → ``ClaimFunction``."""
        name = str((state.get("Parameters") or {}).get("FunctionName", ""))
        found = re.fullmatch(r"\$\{(\w+)Arn\}", name)
        return found.group(1) if found else None

    def functions(self) -> list[str]:
        states = self.definition["States"].values()
        return sorted({name for state in states if (name := self.function_of(state))})


def _path(document: Any, path: str, context: dict[str, Any]) -> Any:
    if path.startswith("$$"):
        document, path = context, path[1:]
    if not path.startswith("$"):
        raise StepEventError(f"unsupported path {path!r} in the state machine")
    value, rest = document, path[1:]
    while rest:
        token = _PATH_TOKEN.match(rest)
        if token is None:
            raise StepEventError(f"unsupported path {path!r} in the state machine")
        key, index = token.groups()
        if key is not None:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _MISSING
        if value is _MISSING:
            raise StepEventError(f"the state has nothing at {path}")
        rest = rest[token.end() :]
    return value


def resolve(template: Any, document: Any, context: dict[str, Any]) -> Any:
    """ASL ``Parameters``/``ResultSelector``: keys ending ``.$`` take the value at their path."""
    if isinstance(template, dict):
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = _path(document, str(value), context)
            else:
                resolved[key] = resolve(value, document, context)
        return resolved
    if isinstance(template, list):
        return [resolve(item, document, context) for item in template]
    return template


def _set(document: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None or result_path == "$":
        return result
    if not result_path.startswith("$."):
        raise StepEventError(f"unsupported ResultPath {result_path!r}")
    updated = copy.deepcopy(document) if isinstance(document, dict) else {}
    target = updated
    keys = result_path[2:].split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = result
    return updated


def _state_input(state: dict[str, Any], document: Any, context: dict[str, Any]) -> Any:
    selected = _path(document, state["InputPath"], context) if "InputPath" in state else document
    if "Parameters" in state:
        return resolve(state["Parameters"], selected, context)
    return selected


def _choose(state: dict[str, Any], document: Any, context: dict[str, Any]) -> str:
    for rule in state.get("Choices", []):
        if set(rule) != {"Variable", "StringEquals", "Next"}:
            raise StepEventError(f"unsupported Choice rule {json.dumps(rule)}")
        try:
            value = _path(document, rule["Variable"], context)
        except StepEventError:
            continue
        if value == rule["StringEquals"]:
            return str(rule["Next"])
    if "Default" not in state:
        raise StepEventError("no Choice rule matched and the state has no Default")
    return str(state["Default"])


def lambda_error(output: Any) -> tuple[str, str] | None:
    """(Error, Cause) as Step Functions reports a Lambda function error, if ``output`` is one."""
    if isinstance(output, dict) and "errorType" in output and "errorMessage" in output:
        return str(output["errorType"]), json.dumps(output)
    return None


def _after_task(state_name: str, state: dict[str, Any], document: Any, output: Any) -> tuple[str, Any]:
    failure = lambda_error(output)
    if failure is None:
        selected = (
            resolve(state["ResultSelector"], {"Payload": output}, {})
            if "ResultSelector" in state
            else {"Payload": output}
        )
        return str(state["Next"]), _set(document, state.get("ResultPath", "$"), selected)
    error, cause = failure
    for catch in state.get("Catch", []):
        if error in catch["ErrorEquals"] or "States.ALL" in catch["ErrorEquals"]:
            return str(catch["Next"]), _set(
                document, catch.get("ResultPath", "$"), {"Error": error, "Cause": cause}
            )
    raise StepEventError(
        f"{state_name} failed with {error}, which it does not catch: the execution fails there"
    )


def execution_arn(state_machine_arn: str) -> str:
    """An Express execution ARN for this state machine, as ``$$.Execution.Id`` gives it."""
    name = f"cli-{uuid.uuid4()}"
    return state_machine_arn.replace(":stateMachine:", ":express:") + f":{name}:{uuid.uuid4()}"


def build_event(
    workflow: Workflow,
    function: str,
    pipe_input: list[dict[str, Any]],
    outputs: list[Any],
    execution_id: str | None = None,
) -> dict[str, Any]:
    """The event ``function`` gets in an execution started with ``pipe_input``, after the
    Tasks before it answered ``outputs`` (in order)."""
    known = workflow.functions()
    if function not in known:
        raise StepEventError(f"{function} is not a step of the workflow; its steps run {', '.join(known)}")
    states = workflow.definition["States"]
    context = {
        "Execution": {"Id": execution_id or execution_arn(workflow.state_machine_arn)},
        "State": {"RetryCount": 0},
    }
    remaining = list(outputs)
    document: Any = pipe_input
    name = str(workflow.definition["StartAt"])
    while True:
        state = states[name]
        kind = state["Type"]
        if kind == "Pass":
            document = _set(document, state.get("ResultPath", "$"), _state_input(state, document, context))
            name = str(state["Next"])
        elif kind == "Choice":
            name = _choose(state, document, context)
        elif kind == "Task":
            event = _state_input(state, document, context)
            payload = event.get("Payload", event) if isinstance(event, dict) else event
            if workflow.function_of(state) == function:
                if remaining:
                    raise StepEventError(
                        f"{len(remaining)} --from-output more than the steps before {function} answered"
                    )
                return dict(payload)
            if not remaining:
                raise StepEventError(
                    f"{function} runs after {name} ({workflow.function_of(state)}): "
                    f"give {name}'s output with --from-output FILE"
                )
            name, document = _after_task(name, state, document, remaining.pop(0))
        else:
            raise StepEventError(
                f"the execution ends at {name} ({kind}) before it reaches {function}{_why(document)}"
            )


def _why(document: Any) -> str:
    claim = document.get("claim") if isinstance(document, dict) else None
    if isinstance(claim, dict) and claim.get("outcome") and claim.get("outcome") != "CLAIMED":
        return f": the claim was {claim['outcome']} ({claim.get('reason')})"
    return ""
