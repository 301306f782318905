"""``cloudqueue cost``'s capacity: the jobs/s each limit allows, the binding one, the path to 10,000."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudqueue_local.ops import cost
from tests.unit.test_cost import stack_with

USAGE = cost.Usage(reads_per_job=1)  # a client that reads each job once: two requests a job
DURATIONS = cost.DEFAULT_DURATIONS_MS


def test_a_fresh_accounts_lambda_concurrency_is_shown_but_does_not_bind(tmp_path: Path) -> None:
    limits = cost.capacity(stack_with(tmp_path), USAGE, DURATIONS)

    # Then it comes last, flagged, at a hundredth of the default quota's jobs/s
    fresh = limits[-1]
    assert fresh.fresh_account and not any(limit.fresh_account for limit in limits[:-1])
    (default,) = [limit for limit in limits if limit.what.startswith("Lambda concurrency")]
    assert fresh.jobs_per_second == pytest.approx(default.jobs_per_second / 100)
    assert 90 < fresh.jobs_per_second < 120
    # And the others are sorted, the binding one first
    rates = [limit.jobs_per_second for limit in limits[:-1]]
    assert rates == sorted(rates)


def test_the_listing_index_limit_follows_its_shards_and_whether_its_key_moves(tmp_path: Path) -> None:
    def index_limit(stack: cost.Stack) -> cost.Limit:
        (found,) = [
            each for each in cost.capacity(stack, USAGE, DURATIONS) if each.what.startswith("listing index")
        ]
        return found

    # Given four shards, then eight  Then the partitions allow twice the jobs
    four, eight = (
        index_limit(stack_with(tmp_path / "a")),
        index_limit(stack_with(tmp_path / "b", ListShards="8")),
    )
    assert eight.jobs_per_second == pytest.approx(2 * four.jobs_per_second)
    # And the Listing index's key, written once by the submit, takes one write a job on its shards
    assert "its key moves" not in four.what
    assert four.per_job == pytest.approx(1 / 1000)
    # And a template that still calls the parameter StatusShards is read the same way
    renamed_dir = tmp_path / "c"
    stack_with(renamed_dir)  # the folders beside the template
    template = renamed_dir / "template.yaml"
    template.write_text(template.read_text().replace("ListShards", "StatusShards"))
    renamed = cost.Stack.read(template)
    assert "StatusShards" in index_limit(renamed).what
    assert "StatusShards" in index_limit(renamed).raise_by


def test_the_path_to_ten_thousand_jobs_a_second_names_each_limit_below_it_and_its_value() -> None:
    # Given limits at 250 and 20,000 jobs/s, and a fresh account's
    low = cost.Limit("stage", 250, "ApiThrottleRate", quota=500, per_job=2)
    high = cost.Limit("account", 20_000, "Lambda concurrency", quota=1000, per_job=0.05)
    fresh = cost.Limit("fresh", 100, "ask AWS", quota=10, per_job=0.1, fresh_account=True)

    # Then the path raises the low one to what 10,000 jobs/s need, and names neither of the others
    assert cost.path_to([low, high, fresh]) == ["ApiThrottleRate: 500 -> 20,000"]


def test_a_new_table_binds_by_its_writes_per_job(tmp_path: Path) -> None:
    # Given the stage throttle raised out of the way
    stack = stack_with(tmp_path, ApiThrottleRate="20000")
    limits = cost.capacity(stack, USAGE, DURATIONS)

    # Then the binding limit is a new on-demand table's or index's 4,000 writes/s, shared by the
    # writes each job makes there
    binding = limits[0]
    assert binding.what.startswith("new on-demand")
    assert binding.jobs_per_second == pytest.approx(4000 / binding.per_job)
    assert binding.per_job in (3, 5)


def test_the_pipes_ramp_to_a_thousand_jobs_a_second_is_stated(tmp_path: Path) -> None:
    (pipe,) = [
        each for each in cost.capacity(stack_with(tmp_path), USAGE, DURATIONS) if each.what.startswith("Pipe")
    ]
    # 1,000 jobs/s of ~120 ms executions is ~120 at once: from 5, +60 a minute, about two minutes
    assert "1,000 jobs/s" in pipe.note
    minutes = float(pipe.note.split("after ")[1].split(" min")[0])
    assert minutes == pytest.approx((1000 * pipe.per_job - 5) / 60, abs=0.05)
