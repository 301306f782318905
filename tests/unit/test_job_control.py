"""The job context's control: the cancel mark read at most twice a second, progress written at
most once a second (the latest wins), and every progress write fenced by the lease token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.dynamodb.marks import DynamoJobMarks
from cloudqueue.control import LeasedJobControl, MarkReading
from cloudqueue.jobtypes import JobContext
from cloudqueue.jobtypes.demo import SleepPayload, run_sleep
from cloudqueue.models import JobStatus
from tests.fakes import T0, later, make_job
from tests.unit.test_dynamodb_store import create_jobs_table


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeMarks:
    """The table as the control sees it: a mark, a lease holder, and the progress writes."""

    def __init__(self, holder: str = "mine") -> None:
        self.holder = holder
        self.cancel_requested = False
        self.reads = 0
        self.writes: list[tuple[float, str | None]] = []

    def read_marks(self, job_id: str, lease_token: str) -> MarkReading:
        self.reads += 1
        return MarkReading(cancel_requested=self.cancel_requested, leased=lease_token == self.holder)

    def write_progress(
        self, job_id: str, lease_token: str, *, fraction: float, message: str | None, at: float
    ) -> bool:
        if lease_token != self.holder:
            return False
        self.writes.append((fraction, message))
        return True


def control_of(marks: FakeMarks, clock: FakeClock, token: str = "mine") -> LeasedJobControl:
    return LeasedJobControl("job-1", token, marks, clock=clock, wall_clock=clock)


def test_the_cancel_mark_is_read_at_most_every_half_second_and_then_sticks():
    marks, clock = FakeMarks(), FakeClock()
    control = control_of(marks, clock)

    assert not control.cancelled()
    marks.cancel_requested = True
    clock.advance(0.4)
    assert not control.cancelled()  # cached: not read again yet
    assert marks.reads == 1
    clock.advance(0.1)
    assert control.cancelled()
    marks.cancel_requested = False
    clock.advance(5)
    assert control.cancelled()  # once cancelled, always: no further reads
    assert marks.reads == 2


def test_a_worker_that_lost_its_lease_reads_as_cancelled():
    marks, clock = FakeMarks(holder="another"), FakeClock()

    assert control_of(marks, clock).cancelled()


def test_progress_is_written_at_most_once_a_second_and_the_latest_report_wins():
    marks, clock = FakeMarks(), FakeClock()
    control = control_of(marks, clock)

    control.report_progress(0.1, "first")
    for step in range(2, 10):  # eight reports within the next 0.8 s: none written
        clock.advance(0.1)
        control.report_progress(step / 10, f"report {step}")
    assert marks.writes == [(0.1, "first")]
    clock.advance(0.2)  # a second after the first write: the next report is written
    control.report_progress(0.95, "latest")
    assert marks.writes == [(0.1, "first"), (0.95, "latest")]
    control.flush()  # nothing unwritten: nothing more
    assert len(marks.writes) == 2


def test_an_unwritten_report_is_written_by_a_flush():
    marks, clock = FakeMarks(), FakeClock()
    control = control_of(marks, clock)
    control.report_progress(0.1)
    clock.advance(0.5)
    control.report_progress(0.6, "kept")

    control.flush()

    assert marks.writes[-1] == (0.6, "kept")


@pytest.mark.parametrize(("given", "written"), [(-1, 0.0), (1.5, 1.0), (0.25, 0.25)])
def test_a_fraction_is_clamped_to_between_0_and_1(given, written):
    marks, clock = FakeMarks(), FakeClock()

    control_of(marks, clock).report_progress(given)

    assert marks.writes == [(written, None)]


def test_a_nan_fraction_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        control_of(FakeMarks(), FakeClock()).report_progress(float("nan"))


def test_a_stale_workers_progress_is_refused_and_it_then_reads_as_cancelled():
    marks, clock = FakeMarks(holder="new-holder"), FakeClock()
    control = control_of(marks, clock, token="stale")

    control.report_progress(0.5)

    assert marks.writes == []
    assert control.cancelled()
    assert marks.reads == 0  # the refusal alone says so


def test_demo_sleep_stops_when_cancelled():
    marks, clock = FakeMarks(), FakeClock()
    marks.cancel_requested = True
    context = JobContext(job_id="job-1", attempt=1, retry_count=0, control=control_of(marks, clock))

    result = run_sleep(SleepPayload(seconds=20), context)

    assert result["cancelled"] is True
    assert result["sleptSeconds"] < 1


# --- the DynamoDB adapter (moto) --------------------------------------------------------

TABLE = "cloudqueue-marks"


@pytest.fixture
def table() -> Iterator[tuple[DynamoJobStore, DynamoJobMarks]]:
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        create_jobs_table(client, TABLE)
        yield DynamoJobStore(TABLE, client=client, clock=lambda: T0), DynamoJobMarks(TABLE, client=client)
        client.delete_table(TableName=TABLE)  # moto's backends may outlive mock_aws (a local stack)


def running(store: DynamoJobStore, token: str = "holder") -> str:
    job = make_job(status=JobStatus.IN_PROGRESS, lease_token=token, lease_expires_at=T0.timestamp() + 60)
    store.create_job(job)
    return job.job_id


def test_the_lease_holders_progress_is_stored_and_read_back(table):
    store, marks = table
    job_id = running(store)

    assert marks.write_progress(job_id, "holder", fraction=0.5, message="half", at=T0.timestamp())

    progress = store.get_job(job_id).progress
    assert (progress.fraction, progress.message, progress.at) == (0.5, "half", T0)


def test_a_stale_tokens_progress_write_is_refused_by_the_table(table):
    store, marks = table
    job_id = running(store, token="new-holder")

    assert not marks.write_progress(job_id, "stale", fraction=0.5, message=None, at=T0.timestamp())
    assert store.get_job(job_id).progress is None


def test_progress_on_a_finished_job_is_refused(table):
    store, marks = table
    job_id = running(store)
    store.finish_job(job_id, lease_token="holder", status=JobStatus.SUCCEEDED, result={}, error=None, now=T0)

    assert not marks.write_progress(job_id, "holder", fraction=1.0, message=None, at=T0.timestamp())


def test_the_mark_and_the_lease_are_read_from_the_table(table):
    store, marks = table
    job_id = running(store)
    assert marks.read_marks(job_id, "holder") == MarkReading(cancel_requested=False, leased=True)

    store.cancel_job(job_id, later(1))

    assert marks.read_marks(job_id, "holder") == MarkReading(cancel_requested=True, leased=True)
    assert marks.read_marks(job_id, "stale") == MarkReading(cancel_requested=True, leased=False)
