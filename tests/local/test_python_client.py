"""The Python client against a real local stack: submit, wait, list, cancel and rerun, over
HTTP through the local API Gateway, the queue, the Pipe and the state machine; and with a token
against `cloudqueue dev` in AuthMode jwt."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudqueue_client import Client, Conflict, Forbidden, JobStatus, NotFound, Unauthorized
from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_auth_local_stack import free_port, minted
from tests.local.test_state_dir import Dev


@pytest.fixture
def client(local_stack: LocalStack) -> Client:
    return Client(local_stack.api_url, timeout=30)


def test_a_submitted_job_is_waited_for_and_found_in_the_listing(client: Client) -> None:
    with client:
        # Given three jobs run to their end
        jobs = [client.submit("text.transform", {"text": f"client {index}"}) for index in range(3)]
        ended = [client.wait(job.job_id, timeout=120) for job in jobs]

        # When every job is listed two to a page
        listed = [job.job_id for job in client.list(JobStatus.SUCCEEDED, page_size=2)]

    # Then each ended SUCCEEDED with its result, and the listing, following its pages, has them
    assert [job.status for job in ended] == [JobStatus.SUCCEEDED] * 3
    assert ended[0].result is not None and ended[0].result["uppercase"] == "CLIENT 0"
    assert ended[0].idempotency_key == jobs[0].idempotency_key  # the key the client made
    assert {job.job_id for job in jobs} <= set(listed)


def test_a_queued_job_is_cancelled_and_a_failed_one_rerun(client: Client, local_stack: LocalStack) -> None:
    with client:
        local_stack.pause()  # nothing takes the job while it is cancelled
        try:
            queued = client.submit("text.transform", {"text": "changed my mind"})
            cancelled = client.cancel(queued.job_id)
            with pytest.raises(Conflict) as again:
                client.cancel(queued.job_id)
        finally:
            local_stack.resume()

        failed = client.wait(client.submit("demo.fail", {"reason": "still broken"}).job_id, timeout=120)
        rerun = client.rerun(failed.job_id)
        failed_again = client.wait(failed.job_id, timeout=120)
        with pytest.raises(NotFound):
            client.get("0190a000-0000-7000-8000-000000000000")

    assert cancelled.status is JobStatus.CANCELLED and again.value.code == "job_not_cancellable"
    assert failed.status is JobStatus.FAILED and failed.error is not None
    assert rerun.status is JobStatus.QUEUED and rerun.job_id == failed.job_id
    assert failed_again.status is JobStatus.FAILED and failed_again.attempts == 2
    assert [run.status for run in failed_again.runs] == [JobStatus.FAILED]


@pytest.mark.timeout(600)  # a stack of its own, started on a machine that may be busy
def test_a_token_reaches_a_jwt_stack_and_the_gateways_refusals_are_typed(tmp_path: Path) -> None:
    # Given `cloudqueue dev` with AuthMode=jwt, and tokens from its issuer
    dev = Dev("--param=AuthMode=jwt", "--issuer-port", str(free_port()), "--state-dir", str(tmp_path))
    try:
        url = dev.api_url()
        writer = minted(url, "--sub", "alice")
        reader = minted(url, "--sub", "alice", "--scope", "cloudqueue/jobs.read")

        # When the client calls with each, and with none
        with Client(url, token=writer) as alice:
            ended = alice.wait(alice.submit("text.transform", {"text": "signed in"}).job_id, timeout=120)
        with Client(url) as nobody, pytest.raises(Unauthorized) as no_token:
            nobody.get(ended.job_id)
        with Client(url, token=reader) as read_only:
            seen = read_only.get(ended.job_id)
            with pytest.raises(Forbidden) as no_scope:
                read_only.submit("text.transform", {"text": "not allowed"})
    finally:
        dev.stop()

    # Then the token's job ran, a read-only token reads it, and the refusals are the gateway's
    assert ended.status is JobStatus.SUCCEEDED and seen.job_id == ended.job_id
    assert (no_token.value.status, no_token.value.message) == (401, "Unauthorized")
    assert (no_scope.value.status, no_scope.value.message) == (403, "Forbidden")
