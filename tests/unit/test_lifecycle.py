"""The pure lifecycle rules: which status may follow which, and what a claim does."""

from __future__ import annotations

import pytest

from cloudqueue.errors import JobNotRerunnable
from cloudqueue.lifecycle import (
    TERMINAL_STATUSES,
    ClaimVerdict,
    DeadLetterVerdict,
    can_fail_dead_lettered,
    can_transition,
    check_rerunnable,
    decide_claim,
    decide_dead_letter,
    finished_run,
    is_terminal,
    lease_is_live,
)
from cloudqueue.models import JobRun, JobStatus
from tests.fakes import make_job

SCHEDULED = JobStatus.SCHEDULED
QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELLED = (
    JobStatus.QUEUED,
    JobStatus.IN_PROGRESS,
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)
NOW = 1_767_323_045.0

ALLOWED = {
    (QUEUED, IN_PROGRESS),  # claim
    (QUEUED, CANCELLED),  # cancel
    (QUEUED, FAILED),  # dead-lettered before anyone claimed it
    (IN_PROGRESS, IN_PROGRESS),  # re-claim after the lease expired
    (IN_PROGRESS, SUCCEEDED),
    (IN_PROGRESS, FAILED),
    (SCHEDULED, IN_PROGRESS),  # claimed once due
    (SCHEDULED, CANCELLED),  # cancel before its time
    (SCHEDULED, FAILED),  # dead-lettered
}


@pytest.mark.parametrize("current", list(JobStatus))
@pytest.mark.parametrize("new", list(JobStatus))
def test_only_the_documented_transitions_are_allowed(current, new):
    assert can_transition(current, new) == ((current, new) in ALLOWED)


@pytest.mark.parametrize("status", [SUCCEEDED, FAILED, CANCELLED])
def test_a_terminal_status_never_changes_again(status):
    assert is_terminal(status)
    assert not any(can_transition(status, new) for new in JobStatus)


def test_scheduled_queued_and_in_progress_are_not_terminal():
    assert not is_terminal(QUEUED)
    assert not is_terminal(IN_PROGRESS)
    assert frozenset(JobStatus) - TERMINAL_STATUSES == {SCHEDULED, QUEUED, IN_PROGRESS}


def test_a_job_cannot_succeed_without_being_claimed_first():
    assert not can_transition(QUEUED, SUCCEEDED)


def test_a_lease_is_live_until_the_moment_it_expires():
    job = make_job(status=IN_PROGRESS, lease_expires_at=NOW)

    assert lease_is_live(job, NOW - 0.001)
    assert not lease_is_live(job, NOW)
    assert not lease_is_live(make_job(status=IN_PROGRESS, lease_expires_at=None), NOW)


def test_a_queued_job_is_claimed():
    decision = decide_claim(make_job(status=QUEUED), NOW)

    assert decision.verdict is ClaimVerdict.CLAIM


@pytest.mark.parametrize("status", [SUCCEEDED, FAILED, CANCELLED])
def test_a_duplicate_delivery_of_a_finished_job_is_skipped(status):
    decision = decide_claim(make_job(status=status), NOW)

    assert decision.verdict is ClaimVerdict.SKIP
    assert status.value in decision.reason


def test_a_job_a_live_worker_holds_is_left_to_it():
    job = make_job(status=IN_PROGRESS, lease_token="t", lease_expires_at=NOW + 30)

    decision = decide_claim(job, NOW)

    assert decision.verdict is ClaimVerdict.LEASED


def test_a_job_whose_worker_died_is_claimed_again_once_its_lease_expired():
    job = make_job(status=IN_PROGRESS, lease_token="t", lease_expires_at=NOW - 1)

    decision = decide_claim(job, NOW)

    assert decision.verdict is ClaimVerdict.CLAIM
    assert "expired" in decision.reason


def test_a_finished_job_is_skipped_even_with_a_stale_lease_left_on_it():
    job = make_job(status=SUCCEEDED, lease_expires_at=NOW + 30)

    assert decide_claim(job, NOW).verdict is ClaimVerdict.SKIP


@pytest.mark.parametrize(
    ("status", "lease_expires_at", "may_fail"),
    [
        (QUEUED, None, True),
        (IN_PROGRESS, NOW - 1, True),
        (IN_PROGRESS, None, True),
        (IN_PROGRESS, NOW + 30, False),
        (SUCCEEDED, None, False),
        (FAILED, None, False),
        (CANCELLED, None, False),
    ],
)
def test_a_dead_lettered_job_is_failed_unless_finished_or_held_by_a_live_worker(
    status, lease_expires_at, may_fail
):
    job = make_job(status=status, lease_expires_at=lease_expires_at)

    assert can_fail_dead_lettered(job, NOW) is may_fail


def earlier_run(last_attempt: int | None) -> JobRun:
    """A finished run before a rerun; ``last_attempt`` None: it was never claimed."""
    first = None if last_attempt is None else 1
    return JobRun(run=1, status=FAILED, first_attempt=first, last_attempt=last_attempt)


@pytest.mark.parametrize(
    ("attempts", "redrives", "runs", "verdict"),
    [
        pytest.param(2, 0, [], DeadLetterVerdict.REDRIVE, id="fewer claims than receives: redriven"),
        pytest.param(3, 0, [], DeadLetterVerdict.FAIL, id="claimed as often as SQS receives: failed"),
        pytest.param(0, 2, [], DeadLetterVerdict.REDRIVE, id="fewer redrives than receives: redriven"),
        pytest.param(0, 3, [], DeadLetterVerdict.FAIL, id="redriven as often as SQS receives: failed"),
        pytest.param(
            4, 0, [earlier_run(3)], DeadLetterVerdict.REDRIVE, id="a rerun counts only its own claims"
        ),
        pytest.param(
            6, 0, [earlier_run(3)], DeadLetterVerdict.FAIL, id="a rerun claimed three times: failed"
        ),
        pytest.param(1, 0, [earlier_run(None)], DeadLetterVerdict.REDRIVE, id="after a run never claimed"),
    ],
)
def test_a_dead_lettered_job_is_redriven_until_this_runs_claims_or_its_redrives_reach_the_receive_count(
    attempts, redrives, runs, verdict
):
    job = make_job(status=QUEUED, attempts=attempts, redrives=redrives, runs=runs)

    assert decide_dead_letter(job, NOW, max_receive_count=3) is verdict


def test_a_dead_lettered_job_that_is_finished_is_consumed_and_one_a_live_worker_holds_is_kept():
    finished = make_job(status=SUCCEEDED, attempts=1)
    held = make_job(status=IN_PROGRESS, attempts=5, lease_expires_at=NOW + 30)

    assert decide_dead_letter(finished, NOW, max_receive_count=3) is DeadLetterVerdict.CONSUME
    assert decide_dead_letter(held, NOW, max_receive_count=3) is DeadLetterVerdict.KEEP


# --- rerun ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [QUEUED, IN_PROGRESS, SUCCEEDED, CANCELLED])
def test_only_a_failed_job_may_be_rerun(status):
    check_rerunnable(make_job(status=FAILED))

    with pytest.raises(JobNotRerunnable) as refused:
        check_rerunnable(make_job(status=status))

    assert refused.value.details == {"status": status.value}


def test_a_finished_run_names_only_its_own_attempts_and_executions():
    # Given a job on its second run: the first run took attempts 1-2 and execution "a"
    first = JobRun(run=1, status=FAILED, first_attempt=1, last_attempt=2, executions=["a"])
    job = make_job(status=FAILED, attempts=4, runs=[first], executions=["a", "b", "c"])

    # When the second run ends
    run = finished_run(job)

    # Then it is run 2, with attempts 3-4 and the executions the first run did not have
    assert (run.run, run.status, run.first_attempt, run.last_attempt) == (2, FAILED, 3, 4)
    assert run.executions == ["b", "c"]


def test_a_run_that_was_never_claimed_names_no_attempts():
    job = make_job(
        status=FAILED, attempts=2, runs=[JobRun(run=1, status=FAILED, first_attempt=1, last_attempt=2)]
    )

    run = finished_run(job)

    assert (run.run, run.first_attempt, run.last_attempt) == (2, None, None)


def test_a_first_run_claimed_once_names_its_one_attempt():
    # Given a job on its first run, claimed once, then FAILED
    job = make_job(status=FAILED, attempts=1, executions=["a"])

    run = finished_run(job)

    assert (run.run, run.first_attempt, run.last_attempt, run.executions) == (1, 1, 1, ["a"])


def test_a_run_after_one_that_was_never_claimed_counts_from_the_first_attempt():
    # Given a first run dead-lettered before any claim (no attempts), then a run claimed once
    never_claimed = JobRun(run=1, status=FAILED, first_attempt=None, last_attempt=None)
    job = make_job(status=FAILED, attempts=1, runs=[never_claimed], executions=["b"])

    run = finished_run(job)

    assert (run.run, run.first_attempt, run.last_attempt, run.executions) == (2, 1, 1, ["b"])


# --- delayed jobs ------------------------------------------------------------------------


def test_a_scheduled_job_is_deferred_until_its_time_and_claimed_from_it():
    from datetime import UTC, datetime

    due = datetime.fromtimestamp(NOW, UTC)
    job = make_job(status=SCHEDULED, run_at=due)

    assert decide_claim(job, NOW - 0.001).verdict is ClaimVerdict.DEFER
    assert decide_claim(job, NOW).verdict is ClaimVerdict.CLAIM
    assert decide_claim(job, NOW + 60).verdict is ClaimVerdict.CLAIM


def test_a_cancelled_scheduled_job_is_skipped_whenever_its_message_comes():
    from datetime import UTC, datetime

    job = make_job(status=CANCELLED, run_at=datetime.fromtimestamp(NOW + 3600, UTC))

    assert decide_claim(job, NOW).verdict is ClaimVerdict.SKIP
    assert decide_claim(job, NOW + 7200).verdict is ClaimVerdict.SKIP
