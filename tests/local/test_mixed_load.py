"""The mixed-load scenario of ``cloudqueue bench`` at a smaller size: every job right, once.

It runs as a user runs it, ``cloudqueue bench --scenario mixed --json FILE``, in a subprocess
that starts a local stack of its own: its counts (jobs, executions, messages left) are then
this run's alone, whatever the session's shared stack holds. The bench waits for its jobs
with a deadline; no figure here is a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOBS = 300
CLIENTS = 16
DUPLICATES = 30


def run_bench(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``cloudqueue bench --scenario mixed OPTIONS --json FILE`` in a subprocess; its mixed figures."""
    figures_file = tmp_path / "mixed.json"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    command = [sys.executable, "-m", "cloudqueue_local.cli", "bench", "--scenario", "mixed", *options]
    result = subprocess.run(
        [*command, "--deadline", "900", "--json", str(figures_file)],
        capture_output=True,
        text=True,
        timeout=1400,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    assert figures_file.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(figures_file.read_text())["mixed"]


@pytest.mark.timeout(1500)
def test_mixed_load_with_duplicates_runs_every_job_once_with_the_right_result(tmp_path: Path) -> None:
    # Given 300 mixed jobs (text, flaky, failing; some keyed and replayed) from 16 clients,
    # and 30 duplicate messages sent for accepted jobs while they wait, run and after they end
    # When the scenario runs on a stack of its own
    result, mixed = run_bench(
        tmp_path, "--jobs", str(JOBS), "--clients", str(CLIENTS), "--duplicates", str(DUPLICATES)
    )
    summary = json.dumps({key: mixed[key] for key in ("failures", "samples")}, indent=1)

    # Then every accepted job ended once, with what its type must give, and nothing is left over
    assert mixed["accepted"] == JOBS, summary
    assert mixed["duplicates_injected"] > 0, summary
    assert mixed["lost"] == 0, summary
    assert mixed["claimed_twice"] == 0, summary
    assert mixed["wrong"] == 0, summary
    assert mixed["non_2xx"] == 0, summary
    assert mixed["replay_mismatch"] == 0, summary
    assert mixed["extra_executions"] <= mixed["duplicates_injected"], summary
    assert (mixed["queue_left"], mixed["dlq_left"]) == (0, 0), summary
    assert mixed["timed_out"] == 0, summary
    # and the bench says so with its exit status, as a user's script would read it
    assert result.returncode == 0, summary


@pytest.mark.timeout(1500)
def test_mixed_load_while_environments_die_loses_and_fails_nothing(tmp_path: Path) -> None:
    # Given 100 mixed jobs with duplicates, while a workflow environment is killed every
    # second and 2 % of invocations crash their environment (chaos). With the local defaults a
    # step is tried 3 times, so crashes alone fail a job's step with a chance of 0.02 ** 3
    # (8 in a million): a job FAILED here is a fault of the stack, not of the dice.
    # When the scenario runs
    result, mixed = run_bench(
        tmp_path,
        "--jobs", "100",
        "--clients", "8",
        "--duplicates", "10",
        "--kill-every", "1",
        "--faults", "crash=0.02",
    )  # fmt: skip
    summary = json.dumps({key: mixed[key] for key in ("failures", "samples", "crashes")}, indent=1)

    # Then environments did die, and still no job is lost, run twice, wrong or FAILED for it,
    # no execution waited out its timeout, and every dead environment freed its slot
    crashes = mixed["crashes"]
    assert sum(crashes["killed"].values()) + crashes["crash_faults"] > 0, summary
    assert sum(crashes["invocations_crashed"].values()) > 0, summary
    assert (mixed["lost"], mixed["claimed_twice"], mixed["wrong"]) == (0, 0, 0), summary
    assert crashes["failed_by_crash"] == 0, summary
    assert mixed["timed_out"] == 0, summary
    assert crashes["most_slots_held_by_dead"] == 0, summary
    assert (mixed["queue_left"], mixed["dlq_left"]) == (0, 0), summary
    assert result.returncode == 0, summary
