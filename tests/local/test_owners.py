"""Owner isolation on the local stack, in jwt and in iam mode, through the local gateway that
checks tokens and signatures as API Gateway does: every route with another owner's job id
answers as for a missing job and changes nothing, the listing hides it, admin sees it, and
Idempotency-Keys are per owner.

Each mode runs its own `cloudqueue dev` (moto's backends are per process: one stack each).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from botocore.credentials import Credentials

from cloudqueue.jobs import new_job_id
from cloudqueue_local.client.auth import BearerToken, SigV4
from cloudqueue_local.client.tokens import mint_token
from cloudqueue_local.emulator.iam_authorizer import LOCAL_USERS
from cloudqueue_local.template import REGION
from tests.auth_stacks import dev_stack

ACCOUNT = "123456789012"
READ_WRITE = ["cloudqueue/jobs.read", "cloudqueue/jobs.write"]
A_JOB = {"type": "text.transform", "payload": {"text": "alice's own"}}


@dataclass
class Stack:
    """A running stack in one AuthMode, and a client per caller."""

    mode: str
    url: str
    client: Callable[[str], httpx.Client]  # "alice" | "bob" | "admin" → a client signed as that caller
    owner: Callable[[str], str]  # the owner a caller's jobs get


def clients_for(mode: str, url: str) -> tuple[Callable[[str], httpx.Client], Callable[[str], str]]:
    if mode == "jwt":
        tokens = {
            "alice": mint_token(url, "alice", READ_WRITE),
            "bob": mint_token(url, "bob", READ_WRITE),
            "admin": mint_token(url, "root", ["cloudqueue/admin"]),
        }
        return (lambda who: httpx.Client(base_url=url, auth=BearerToken(tokens[who]), timeout=30)), (
            lambda who: who
        )
    users = {user.name: user for user in LOCAL_USERS}
    # IAM is not emulated: a known key may invoke any route, the admin ones too.
    as_user = {"alice": "alice", "bob": "bob", "admin": "alice"}

    def client(who: str) -> httpx.Client:
        user = users[as_user[who]]
        signer = SigV4(Credentials(user.access_key_id, user.secret_access_key), REGION)
        return httpx.Client(base_url=url, auth=signer, timeout=30)

    return client, lambda who: users[as_user[who]].arn(ACCOUNT)


@pytest.fixture(scope="module", params=["jwt", "iam"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    mode = request.param
    with dev_stack(mode, tmp_path_factory.mktemp(f"dev-{mode}") / "output.txt") as url:
        client, owner = clients_for(mode, url)
        yield Stack(mode, url, client, owner)


def finished(client: httpx.Client, path: str) -> dict:
    deadline = time.monotonic() + 60
    while (job := client.get(path).json())["status"] in ("QUEUED", "IN_PROGRESS"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def test_every_route_answers_another_owners_job_as_a_missing_one(stack: Stack) -> None:
    with stack.client("alice") as alice, stack.client("bob") as bob, stack.client("admin") as admin:
        # Given alice's finished job
        submitted = alice.post("/jobs", json=A_JOB)
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["jobId"]
        before = finished(alice, f"/jobs/{job_id}")
        missing = new_job_id()

        # When bob tries every route with its id, and with an id no job has
        for method, path in [
            ("GET", "/jobs/{}"),
            ("GET", "/jobs/{}/history"),
            ("DELETE", "/jobs/{}"),
            ("POST", "/jobs/{}/rerun"),
        ]:
            theirs = bob.request(method, path.format(job_id))
            nobodys = bob.request(method, path.format(missing))
            # Then both are the same 404, byte for byte but for the id
            assert theirs.status_code == nobodys.status_code == 404, (method, path, theirs.text)
            assert theirs.headers["content-type"] == nobodys.headers["content-type"]
            assert theirs.text.replace(job_id, "ID") == nobodys.text.replace(missing, "ID")
            # while alice, the owner, is answered for her job (cancel and rerun: its state's 409)
            assert alice.request(method, path.format(job_id)).status_code in (200, 409)

        # And the job is as it was; bob's listing never shows it, alice's and admin's do
        assert alice.get(f"/jobs/{job_id}").json() == before
        assert job_id not in [job["jobId"] for job in bob.get("/jobs", params={"limit": 100}).json()["jobs"]]
        assert job_id in [job["jobId"] for job in alice.get("/jobs", params={"limit": 100}).json()["jobs"]]
        every = admin.get("/admin/jobs", params={"limit": 100})
        assert every.status_code == 200, every.text
        assert job_id in [job["jobId"] for job in every.json()["jobs"]]
        hers = admin.get("/admin/jobs", params={"owner": stack.owner("alice"), "limit": 100}).json()["jobs"]
        assert job_id in [job["jobId"] for job in hers]
        bobs = admin.get("/admin/jobs", params={"owner": stack.owner("bob"), "limit": 100}).json()["jobs"]
        assert job_id not in [job["jobId"] for job in bobs]
        assert admin.get(f"/admin/jobs/{job_id}").json()["jobId"] == job_id
        assert admin.get(f"/admin/jobs/{job_id}/history").status_code == 200


def test_an_idempotency_key_is_per_owner(stack: Stack) -> None:
    key = {"Idempotency-Key": f"order-{stack.mode}-{os.getpid()}"}
    with stack.client("alice") as alice, stack.client("bob") as bob:
        first = alice.post("/jobs", json=A_JOB, headers=key)
        other = bob.post("/jobs", json=A_JOB, headers=key)
        again = alice.post("/jobs", json=A_JOB, headers=key)
    assert (first.status_code, other.status_code, again.status_code) == (202, 202, 200)
    assert first.json()["jobId"] != other.json()["jobId"]
    assert again.json()["jobId"] == first.json()["jobId"]
