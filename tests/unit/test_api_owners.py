"""Owners through the HTTP API's handler: each caller sees only its jobs, another owner's job
is answered byte for byte as a missing one, admin routes see every job, and Idempotency-Keys
are per owner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cloudqueue.handlers import api
from cloudqueue.models import JobStatus
from tests.fakes import (
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakeWorkflow,
    execution_arn,
    http_event,
    job_id,
    make_job,
)

A_JOB = {"type": "text.transform", "payload": {"text": "hello"}}
ALICE = {
    "jwt": {"claims": {"sub": "alice", "scope": "cloudqueue/jobs.read cloudqueue/jobs.write"}, "scopes": []}
}
BOB = {"jwt": {"claims": {"sub": "bob"}, "scopes": []}}
ROOT = {"jwt": {"claims": {"sub": "root"}, "scopes": ["cloudqueue/admin"]}}
BOB_IAM = {"iam": {"userArn": "arn:aws:iam::123456789012:user/bob", "accountId": "123456789012"}}


class World:
    def __init__(self) -> None:
        self.store = FakeJobStore()
        self.queue = FakeJobQueue()
        self.log = FakeExecutionLog()

    def call(
        self, method: str, path: str, route: str, authorizer: dict[str, Any] | None, **event: Any
    ) -> dict[str, Any]:
        """The raw Lambda answer to ``method path``, which the gateway matched as ``route``."""
        raw = http_event(method, path, **event)
        raw["routeKey"] = raw["requestContext"]["routeKey"] = f"{method} {route}"
        if authorizer is not None:
            raw["requestContext"]["authorizer"] = authorizer
        params = route_params(route, path)
        if params:
            raw["pathParameters"] = params
        return api.handler(
            raw,
            FakeLambdaContext(),
            store=self.store,
            queue=self.queue,
            log=self.log,
            workflow=FakeWorkflow(),
        )


def route_params(route: str, path: str) -> dict[str, str]:
    return {
        name[1:-1]: value
        for name, value in zip(route.split("/"), path.split("/"), strict=False)
        if name.startswith("{")
    }


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    monkeypatch.delenv("CONSOLE_LINKS", raising=False)
    api.settings.cache_clear()
    yield World()
    api.settings.cache_clear()


def failed(owner: str, n: int = 1) -> Any:
    return make_job(
        job_id=job_id(n),
        owner=owner,
        status=JobStatus.FAILED,
        attempts=1,
        error={"type": "PermanentJobError", "message": "nope"},
        executions=[execution_arn("run-1")],
    )


# Every route that names one job: (method, route), each answered for the caller's own jobs only.
ONE_JOB_ROUTES = [
    ("GET", "/jobs/{jobId}"),
    ("GET", "/jobs/{jobId}/history"),
    ("DELETE", "/jobs/{jobId}"),
    ("POST", "/jobs/{jobId}/rerun"),
]


@pytest.mark.parametrize(("method", "route"), ONE_JOB_ROUTES)
@pytest.mark.parametrize("stranger", [BOB, BOB_IAM, None], ids=["jwt", "iam", "anonymous"])
def test_another_owners_job_is_answered_byte_for_byte_as_a_missing_one_and_stays_as_it_was(
    world, method, route, stranger
):
    alices = world.store.put(failed("alice", 1))
    missing = job_id(2)
    before = world.store.snapshot()

    theirs = world.call(method, route.replace("{jobId}", alices.job_id), route, stranger)
    nobodys = world.call(method, route.replace("{jobId}", missing), route, stranger)

    assert theirs["statusCode"] == nobodys["statusCode"] == 404
    assert theirs["headers"] == nobodys["headers"]
    assert theirs["body"].replace(alices.job_id, "ID") == nobodys["body"].replace(missing, "ID")
    assert json.loads(theirs["body"])["error"]["code"] == "job_not_found"
    assert world.store.snapshot() == before and world.queue.sent == []


@pytest.mark.parametrize(("method", "route"), ONE_JOB_ROUTES)
def test_the_owner_reaches_its_job_on_every_route(world, method, route):
    mine = world.store.put(failed("alice", 1))
    answer = world.call(method, route.replace("{jobId}", mine.job_id), route, ALICE)
    # A FAILED job: read (200), history (200), cancel refused for its state (409), rerun (202).
    assert answer["statusCode"] == {"GET": 200, "DELETE": 409, "POST": 202}[method]


@pytest.mark.parametrize(("method", "route"), ONE_JOB_ROUTES)
def test_the_admin_twin_of_each_route_reaches_any_owners_job(world, method, route):
    alices = world.store.put(failed("alice", 1))
    admin_route = "/admin" + route
    answer = world.call(method, admin_route.replace("{jobId}", alices.job_id), admin_route, ROOT)
    assert answer["statusCode"] == {"GET": 200, "DELETE": 409, "POST": 202}[method]
    if method == "POST":
        assert world.queue.sent == [alices.job_id]
        assert world.store.jobs[alices.job_id].owner == "alice"  # an admin's rerun keeps the owner


def listed(answer: dict[str, Any]) -> list[str]:
    assert answer["statusCode"] == 200, answer["body"]
    return [job["jobId"] for job in json.loads(answer["body"])["jobs"]]


def test_listing_shows_only_the_callers_jobs_and_the_admin_listing_every_owners(world):
    alices = world.store.put(make_job(job_id=job_id(1), owner="alice"))
    bobs = world.store.put(make_job(job_id=job_id(2), owner="bob"))

    assert listed(world.call("GET", "/jobs", "/jobs", ALICE)) == [alices.job_id]
    assert listed(world.call("GET", "/jobs", "/jobs", BOB)) == [bobs.job_id]
    assert listed(world.call("GET", "/jobs", "/jobs", None)) == []  # anonymous owns neither
    assert listed(world.call("GET", "/admin/jobs", "/admin/jobs", ROOT)) == [bobs.job_id, alices.job_id]
    only_bob = world.call("GET", "/admin/jobs", "/admin/jobs", ROOT, query={"owner": "bob"})
    assert listed(only_bob) == [bobs.job_id]
    every = json.loads(world.call("GET", "/admin/jobs", "/admin/jobs", ROOT)["body"])["jobs"]
    assert [job["owner"] for job in every] == ["bob", "alice"]  # whose each job is


def test_the_owner_filter_is_the_admins_alone(world):
    world.store.put(make_job(job_id=job_id(1), owner="alice"))
    # The /admin/jobs handler reached by a request the gateway did not match as an admin route
    # (say a catch-all): the caller's own jobs, whatever owner it names.
    answer = world.call("GET", "/admin/jobs", "/jobs", BOB, query={"owner": "alice"})
    assert listed(answer) == []


def test_a_submitted_job_is_owned_by_its_submitter(world):
    answer = world.call("POST", "/jobs", "/jobs", ALICE, body=A_JOB)
    assert answer["statusCode"] == 202
    assert world.store.jobs[json.loads(answer["body"])["jobId"]].owner == "alice"
    anonymous = world.call("POST", "/jobs", "/jobs", None, body=A_JOB)
    assert world.store.jobs[json.loads(anonymous["body"])["jobId"]].owner == "anonymous"


def test_an_idempotency_key_is_per_owner(world):
    key = {"Idempotency-Key": "order-42"}
    alices = world.call("POST", "/jobs", "/jobs", ALICE, body=A_JOB, headers=key)
    bobs = world.call("POST", "/jobs", "/jobs", BOB, body=A_JOB, headers=key)
    again = world.call("POST", "/jobs", "/jobs", ALICE, body=A_JOB, headers=key)
    other_body = world.call(
        "POST", "/jobs", "/jobs", BOB, body={**A_JOB, "payload": {"text": "x"}}, headers=key
    )

    assert (alices["statusCode"], bobs["statusCode"], again["statusCode"]) == (202, 202, 200)
    alice_id, bob_id = (json.loads(answer["body"])["jobId"] for answer in (alices, bobs))
    assert alice_id != bob_id
    assert json.loads(again["body"])["jobId"] == alice_id
    assert other_body["statusCode"] == 409  # bob's own key, reused with another body
    assert {job.owner for job in world.store.jobs.values()} == {"alice", "bob"}
    assert len(world.queue.sent) == 2


def test_a_rerun_key_is_per_owner_too(world):
    alices, bobs = world.store.put(failed("alice", 1)), world.store.put(failed("bob", 2))
    key = {"Idempotency-Key": "retry-1"}
    first = world.call("POST", f"/jobs/{alices.job_id}/rerun", "/jobs/{jobId}/rerun", ALICE, headers=key)
    second = world.call("POST", f"/jobs/{bobs.job_id}/rerun", "/jobs/{jobId}/rerun", BOB, headers=key)
    assert (first["statusCode"], second["statusCode"]) == (202, 202)
    assert world.queue.sent == [alices.job_id, bobs.job_id]


def test_a_token_without_a_subject_is_refused_and_changes_nothing(world):
    answer = world.call("POST", "/jobs", "/jobs", {"jwt": {"claims": {"iss": "x"}, "scopes": []}}, body=A_JOB)
    assert answer["statusCode"] == 403
    assert json.loads(answer["body"])["error"]["code"] == "no_owner"
    assert world.store.jobs == {} and world.queue.sent == []
