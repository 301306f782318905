"""The cost model's bytes of execution history per job, checked against a real execution's log."""

from __future__ import annotations

import json
from pathlib import Path

from cloudqueue_local.ops import cost
from tests.workflow.conftest import WorkflowHarness

ROOT = Path(__file__).resolve().parents[2]


def test_the_estimated_history_bytes_at_all_are_within_a_factor_of_two_of_a_logged_execution(
    workflow: WorkflowHarness,
) -> None:
    # Given one job run through the state machine, its history logged as on AWS (level ALL, with data)
    workflow.new_job("text.transform", {"text": "hello cloudqueue"})
    run = workflow.deliver()
    assert run.status == "SUCCEEDED"
    logged = sum(len(json.dumps(event)) + cost.EVENT_METADATA_BYTES for event in run.events)

    # When the cost model estimates the same execution at ALL
    estimate = cost.execution_log_bytes(cost.Stack.read(ROOT / "template.yaml"), "ALL", failure_rate=0.0)

    # Then its events are counted right and its bytes are near what was logged
    assert cost.happy_path_events(cost.Stack.read(ROOT / "template.yaml").definition())[0] == len(run.events)
    assert logged / 2 <= estimate <= logged * 2, (estimate, logged)
