"""The HTTP API, driven through its Lambda handler with API Gateway HTTP API v2 events and fakes."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from cloudqueue.errors import StoreBusy
from cloudqueue.handlers import api
from cloudqueue.jobtypes import JOB_TYPES
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
    later,
    make_job,
)

MAX_BODY_BYTES = 16_384  # above 4,300 digits: the longest number int() reads
A_JOB = {"type": "text.transform", "payload": {"text": "hello cloudqueue"}}


@dataclass
class Ports:
    store: FakeJobStore
    queue: FakeJobQueue
    log: FakeExecutionLog
    workflow: FakeWorkflow


# The fakes the `ports` fixture made for the running test, handed to every `call`.
handed_in: Ports | None = None


@pytest.fixture
def ports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ports]:
    global handed_in  # noqa: PLW0603  # the running test's fakes, for `call`
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    monkeypatch.setenv("MAX_BODY_BYTES", str(MAX_BODY_BYTES))
    monkeypatch.delenv("CONSOLE_LINKS", raising=False)  # a local stack in this session may have set it
    api.settings.cache_clear()
    handed_in = Ports(FakeJobStore(), FakeJobQueue(), FakeExecutionLog(), FakeWorkflow())
    yield handed_in
    handed_in = None
    api.settings.cache_clear()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def call(method: str = "GET", path: str = "/jobs", **event: Any) -> Answer:
    assert handed_in is not None, "use the `ports` fixture"
    response = api.handler(
        http_event(method, path, **event),
        FakeLambdaContext(),
        store=handed_in.store,
        queue=handed_in.queue,
        log=handed_in.log,
        workflow=handed_in.workflow,
    )
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    return Answer(response["statusCode"], headers, json.loads(raw) if raw else None)


def assert_error(answer: Answer, status: int, code: str) -> str:
    """The answer is ``status`` with the error body every error has; returns its message."""
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.body) == {"error"}
    assert {"code", "message"} <= set(answer.body["error"])
    assert answer.body["error"]["code"] == code
    assert isinstance(answer.body["error"]["message"], str)
    assert answer.body["error"]["message"]
    return answer.body["error"]["message"]


# --- submit -------------------------------------------------------------------------------


def test_submitting_a_job_answers_202_with_its_location(ports):
    # When a client submits a job
    answer = call("POST", "/jobs", body=A_JOB)

    # Then it is accepted at once, QUEUED, stored and enqueued, and the answer says where to find it
    assert answer.status == 202
    new_id = answer.body["jobId"]
    assert answer.headers["location"] == f"/jobs/{new_id}"
    assert answer.body["status"] == "QUEUED"
    assert answer.body["payload"] == A_JOB["payload"]
    assert ports.store.get_job(new_id).status is JobStatus.QUEUED
    assert ports.queue.sent == [new_id]
    assert "leaseToken" not in answer.body
    assert "payloadHash" not in answer.body


def test_a_replayed_submit_answers_200_with_the_same_job_and_says_so(ports):
    first = call("POST", "/jobs", body=A_JOB, headers={"Idempotency-Key": "order-42"})

    again = call("POST", "/jobs", body=A_JOB, headers={"Idempotency-Key": "order-42"})

    assert first.status == 202
    assert "idempotent-replayed" not in first.headers
    assert again.status == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body["jobId"] == first.body["jobId"]
    assert again.headers["location"] == first.headers["location"]
    assert ports.queue.sent == [first.body["jobId"]]


def test_reusing_an_idempotency_key_with_another_body_answers_409(ports):
    call("POST", "/jobs", body=A_JOB, headers={"Idempotency-Key": "order-42"})

    answer = call(
        "POST",
        "/jobs",
        body={"type": "text.transform", "payload": {"text": "other"}},
        headers={"Idempotency-Key": "order-42"},
    )

    assert_error(answer, 409, "idempotency_key_reused")
    assert len(ports.store.jobs) == 1


def test_a_submit_the_queue_refuses_answers_503_and_keeps_nothing(ports):
    ports.queue.fail = True

    answer = call("POST", "/jobs", body=A_JOB)

    assert_error(answer, 503, "enqueue_failed")
    assert ports.store.jobs == {}


@pytest.mark.parametrize("body", ['{"type": "text.transform", ', "{'single': 'quotes'}", "hello", "{]"])
def test_malformed_json_answers_400(ports, body):
    answer = call("POST", "/jobs", body=body)

    assert_error(answer, 400, "malformed_json")


@pytest.mark.parametrize(
    "case",
    [
        {"body": "[" * 2000 + "]" * 2000},  # deeper than json.loads can recurse
        {"body": '{"type": "demo.flaky", "payload": {"failTimes": ' + "1" * 5000 + "}}"},  # int() refuses it
        {"body": b'{"type": "text.transform", "payload": {"text": "\xff"}}'},  # not UTF-8
        {"body": "not base64 at all!", "base64_encoded": True},
    ],
    ids=["deep-nesting", "5000-digit-number", "not-utf8", "not-base64"],
)
def test_a_body_that_cannot_be_read_as_json_text_answers_400(ports, case):
    answer = call("POST", "/jobs", **case)

    assert_error(answer, 400, "malformed_json")


def test_an_array_of_jobs_is_refused_whole_not_read_as_its_first_job(ports):
    answer = call("POST", "/jobs", body=[A_JOB, {"type": "demo.fail", "payload": {}}])

    assert_error(answer, 422, "validation_error")
    assert ports.store.jobs == {}
    assert ports.queue.sent == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "text.transform", "payload": {"text": 5}}, "payload.text"),
        ({"type": "text.transform", "payload": {"text": ""}}, "payload.text"),
        ({"type": "text.transform", "payload": {"text": "ok", "colour": "red"}}, "payload.colour"),
        ({"type": "text.transform"}, "payload"),
        ({"type": "demo.flaky", "payload": {"failTimes": 99}}, "payload.failTimes"),
        ({"type": "demo.sleep", "payload": {"seconds": 1e-200}}, "payload.seconds"),
        (
            {"type": "demo.sleep", "payload": {"seconds": 3600}},
            "payload.seconds",
        ),  # past ProcessTimeoutSeconds
        ({**A_JOB, "priority": "high"}, "priority"),
    ],
)
def test_a_schema_violation_answers_422_naming_the_field(ports, body, field):
    answer = call("POST", "/jobs", body=body)

    message = assert_error(answer, 422, "validation_error")
    assert message.startswith(f"{field}:")
    assert ports.store.jobs == {}


def test_an_unknown_job_type_answers_422_naming_the_known_types(ports):
    answer = call("POST", "/jobs", body={"type": "image.resize", "payload": {}})

    message = assert_error(answer, 422, "unknown_job_type")
    assert "'image.resize'" in message
    assert all(name in message for name in JOB_TYPES)


def test_a_body_without_a_type_answers_422_naming_the_known_types(ports):
    answer = call("POST", "/jobs", body={"payload": {"text": "hi"}})

    message = assert_error(answer, 422, "missing_job_type")
    assert all(name in message for name in JOB_TYPES)


def test_a_body_above_the_limit_answers_413_without_being_read(ports):
    # Given a body one byte above the limit (valid JSON apart from its size)
    body = json.dumps({"type": "text.transform", "payload": {"text": "x"}})
    body = body[:-2] + " " * (MAX_BODY_BYTES + 1 - len(body)) + body[-2:]
    assert len(body.encode()) == MAX_BODY_BYTES + 1

    # When it is submitted
    answer = call("POST", "/jobs", body=body)

    # Then it is refused as too large, and nothing was stored
    message = assert_error(answer, 413, "request_too_large")
    assert str(MAX_BODY_BYTES) in message
    assert ports.store.jobs == {}


def test_a_body_at_the_limit_is_read(ports):
    body = json.dumps(A_JOB)
    body = body[:-1] + " " * (MAX_BODY_BYTES - len(body)) + body[-1:]

    answer = call("POST", "/jobs", body=body)

    assert answer.status == 202


def test_a_base64_encoded_body_is_measured_after_decoding(ports):
    small = json.dumps(A_JOB).encode()
    large = json.dumps({"type": "text.transform", "payload": {"text": "é" * MAX_BODY_BYTES}}).encode()

    assert call("POST", "/jobs", body=small).status == 202
    assert_error(call("POST", "/jobs", body=large), 413, "request_too_large")


def test_a_body_that_is_not_json_content_answers_415(ports):
    answer = call(
        "POST",
        "/jobs",
        body="type=text.transform",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_error(answer, 415, "unsupported_media_type")


# --- read, list, cancel, history ----------------------------------------------------------


def test_reading_a_job_answers_it_without_its_lease_token(ports):
    job = ports.store.put(
        make_job(status=JobStatus.IN_PROGRESS, lease_token="secret", lease_expires_at=1.5e9)
    )

    answer = call("GET", f"/jobs/{job.job_id}")

    assert answer.status == 200
    assert answer.body["jobId"] == job.job_id
    assert answer.body["status"] == "IN_PROGRESS"
    assert "secret" not in json.dumps(answer.body)


@pytest.mark.parametrize("path", [f"/jobs/{job_id(404)}", "/jobs/not-a-job", f"/jobs/{job_id(404)}/history"])
def test_an_unknown_job_answers_404(ports, path):
    assert_error(call("GET", path), 404, "job_not_found")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nothing"), ("PUT", "/jobs"), ("PATCH", "/jobs/x"), ("GET", "/")]
)
def test_an_unknown_route_answers_404(ports, method, path):
    message = assert_error(call(method, path), 404, "route_not_found")
    assert path in message


def test_listing_filters_by_status_newest_first(ports):
    for n in range(6):
        ports.store.put(make_job(job_id=job_id(n), status=JobStatus.QUEUED if n % 2 else JobStatus.FAILED))

    answer = call("GET", "/jobs", query={"status": "QUEUED"})

    assert answer.status == 200
    assert [job["jobId"] for job in answer.body["jobs"]] == [job_id(5), job_id(3), job_id(1)]
    assert answer.body["nextToken"] is None


def test_a_listing_the_table_leaves_half_read_answers_503_store_busy(ports, monkeypatch):
    # Given a table that keeps leaving part of a listing's jobs unread (throttled)
    def busy(*args: Any, **kwargs: Any) -> None:
        raise StoreBusy("the jobs table left 3 of 10 jobs unread; retry")

    monkeypatch.setattr(ports.store, "list_jobs", busy)

    # When a client lists jobs  Then it is told to retry, not given a short page or a 500
    message = assert_error(call("GET", "/jobs"), 503, "store_busy")
    assert "retry" in message


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_a_limit_outside_1_to_100_answers_422(ports, limit):
    message = assert_error(call("GET", "/jobs", query={"limit": limit}), 422, "validation_error")

    assert message.startswith("query.limit:")


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limits_at_the_bounds_are_accepted(ports, limit):
    assert call("GET", "/jobs", query={"limit": limit}).status == 200


def test_next_token_walks_every_page(ports):
    # Given 7 jobs
    for n in range(7):
        ports.store.put(make_job(job_id=job_id(n)))

    # When a client follows nextToken with pages of 3
    seen, token, pages = [], None, 0
    while True:
        query = {"limit": "3"} | ({"nextToken": token} if token else {})
        answer = call("GET", "/jobs", query=query)
        assert answer.status == 200
        seen += [job["jobId"] for job in answer.body["jobs"]]
        pages += 1
        token = answer.body["nextToken"]
        if token is None:
            break

    # Then it sees every job once, newest first, in 3 pages
    assert seen == [job_id(n) for n in reversed(range(7))]
    assert pages == 3


def test_a_bad_next_token_answers_400(ports):
    assert_error(call("GET", "/jobs", query={"nextToken": "garbage"}), 400, "invalid_next_token")


def test_a_next_token_for_another_status_answers_400(ports):
    for n in range(3):
        ports.store.put(make_job(job_id=job_id(n)))
    token = call("GET", "/jobs", query={"limit": "1", "status": "QUEUED"}).body["nextToken"]

    answer = call("GET", "/jobs", query={"limit": "1", "status": "FAILED", "nextToken": token})

    assert_error(answer, 400, "invalid_next_token")


def test_an_unknown_status_filter_answers_422(ports):
    assert_error(call("GET", "/jobs", query={"status": "RUNNING"}), 422, "validation_error")


def test_cancelling_a_queued_job_answers_200_then_409(ports):
    # Given a QUEUED job
    job = ports.store.put(make_job())

    # When it is cancelled twice
    first = call("DELETE", f"/jobs/{job.job_id}")
    second = call("DELETE", f"/jobs/{job.job_id}")

    # Then the first cancel wins and the second is too late
    assert first.status == 200
    assert first.body["status"] == "CANCELLED"
    assert_error(second, 409, "job_not_cancellable")
    assert second.body["error"]["details"] == {"status": "CANCELLED"}


def test_cancelling_a_running_job_answers_202_with_the_mark_then_finalize_ends_it_cancelled(ports):
    # Given a job a worker holds
    job = ports.store.put(
        make_job(status=JobStatus.IN_PROGRESS, attempts=1, lease_token="holder", lease_expires_at=4e9)
    )

    # When it is cancelled (twice: the mark is idempotent)
    first = call("DELETE", f"/jobs/{job.job_id}")
    second = call("DELETE", f"/jobs/{job.job_id}")

    # Then each answer is 202 with the job still running and marked
    assert (first.status, second.status) == (202, 202)
    assert first.body["status"] == "IN_PROGRESS" and first.body["cancelRequestedAt"]
    assert second.body["cancelRequestedAt"] == first.body["cancelRequestedAt"]
    assert "leaseToken" not in first.body
    # And the worker's finalize, whatever its code returned, writes CANCELLED
    finished = ports.store.finish_job(
        job.job_id,
        lease_token="holder",
        status=JobStatus.SUCCEEDED,
        result={"x": 1},
        error=None,
        now=later(5),
    )
    assert finished.status is JobStatus.CANCELLED and finished.result is None
    assert call("GET", f"/jobs/{job.job_id}").body["status"] == "CANCELLED"


def test_cancelling_a_finished_job_answers_409_and_keeps_its_outcome(ports):
    job = ports.store.put(make_job(status=JobStatus.SUCCEEDED, result={"ok": True}))
    before = ports.store.snapshot()

    answer = call("DELETE", f"/jobs/{job.job_id}")

    assert_error(answer, 409, "job_not_cancellable")
    assert answer.body["error"]["details"] == {"status": "SUCCEEDED"}
    assert ports.store.snapshot() == before


def test_a_concurrency_key_is_recorded_with_its_types_limit_and_shown(ports):
    answer = call(
        "POST", "/jobs", body={"type": "demo.sleep", "payload": {"seconds": 1}, "concurrencyKey": "t-1"}
    )

    assert answer.status == 202
    assert answer.body["concurrencyKey"] == "t-1" and "concurrencyLimit" not in answer.body
    stored = ports.store.get_job(answer.body["jobId"])
    assert (stored.concurrency_key, stored.concurrency_limit) == ("t-1", 2)


@pytest.mark.parametrize("key", ["", "k" * 129, 7])
def test_a_bad_concurrency_key_answers_422_and_queues_nothing(ports, key):
    answer = call(
        "POST", "/jobs", body={"type": "demo.sleep", "payload": {"seconds": 1}, "concurrencyKey": key}
    )

    assert_error(answer, 422, "validation_error")
    assert "concurrencyKey" in answer.body["error"]["message"]
    assert ports.queue.sent == [] and ports.store.jobs == {}


def test_cancelling_an_unknown_job_answers_404(ports):
    assert_error(call("DELETE", f"/jobs/{job_id(404)}"), 404, "job_not_found")


def test_history_lists_each_execution_with_steps_and_events(ports):
    # Given a job seen by one execution whose log holds its events
    arn = execution_arn("run-1")
    job = ports.store.put(make_job(status=JobStatus.SUCCEEDED, executions=[arn]))
    ports.log.events[arn] = [
        {
            "id": "1",
            "type": "ExecutionStarted",
            "event_timestamp": "1767323045000",
            "details": {},
            "execution_arn": arn,
        },
        {
            "id": "2",
            "type": "TaskStateEntered",
            "event_timestamp": "1767323045001",
            "details": {"name": "ClaimJob"},
        },
        {
            "id": "3",
            "type": "TaskStateExited",
            "event_timestamp": "1767323045041",
            "details": {"name": "ClaimJob"},
        },
        {"id": "4", "type": "ExecutionSucceeded", "event_timestamp": "1767323045050", "details": {}},
    ]

    # When its history is asked for
    answer = call("GET", f"/jobs/{job.job_id}/history")

    # Then it is the job's status and one execution, with its steps and its events
    assert answer.status == 200
    assert (answer.body["jobId"], answer.body["status"]) == (job.job_id, "SUCCEEDED")
    (execution,) = answer.body["executions"]
    assert execution["executionArn"] == arn
    assert execution["status"] == "SUCCEEDED"
    assert execution["durationMs"] == 50
    assert [(step["name"], step["status"], step["durationMs"]) for step in execution["steps"]] == [
        ("ClaimJob", "SUCCEEDED", 40)
    ]
    assert [event["type"] for event in execution["events"]] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert "consoleUrl" not in execution


def test_history_links_to_the_console_when_asked_to(ports, monkeypatch):
    monkeypatch.setenv("CONSOLE_LINKS", "true")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    api.settings.cache_clear()
    arn = execution_arn("run-1")
    job = ports.store.put(make_job(executions=[arn]))

    (execution,) = call("GET", f"/jobs/{job.job_id}/history").body["executions"]

    assert execution["consoleUrl"].startswith("https://eu-west-1.console.aws.amazon.com/states/")
    assert execution["consoleUrl"].endswith(arn)


# --- documents ----------------------------------------------------------------------------


def test_job_types_lists_every_registered_type_with_its_json_schema(ports):
    answer = call("GET", "/job-types")

    assert answer.status == 200
    listed = {each["name"]: each for each in answer.body["jobTypes"]}
    assert set(listed) == set(JOB_TYPES)
    for name, job_type in JOB_TYPES.items():
        assert listed[name]["description"] == job_type.description
        assert listed[name]["payloadSchema"] == job_type.payload_schema()
        # The example the UI offers passes the schema the API publishes.
        jsonschema.validate(listed[name]["example"], listed[name]["payloadSchema"])


def test_openapi_document_is_openapi_3_with_the_jobs_paths(ports):
    answer = call("GET", "/openapi.json")

    assert answer.status == 200
    assert answer.body["openapi"].startswith("3.")
    paths = answer.body["paths"]
    assert {"/jobs", "/jobs/{jobId}", "/jobs/{jobId}/history", "/job-types"} <= set(paths)
    assert {"get", "post"} <= set(paths["/jobs"])
    assert {"get", "delete"} <= set(paths["/jobs/{jobId}"])
    submit = paths["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(submit["discriminator"]["mapping"]) == set(JOB_TYPES)
    assert "202" in paths["/jobs"]["post"]["responses"]
    assert {"202", "409", "503"} <= set(paths["/jobs/{jobId}/rerun"]["post"]["responses"])


@pytest.mark.parametrize("level", ["ALL", "ERROR", "OFF"])
def test_workflow_answers_the_definition_and_what_the_history_records(ports, level):
    # Given a state machine logging at ``level``
    ports.workflow.history_level = level

    answer = call("GET", "/workflow")

    # Then a client learns, in the read it makes anyway, whether to poll the history
    assert answer.status == 200
    assert answer.body == {
        "stateMachineArn": ports.workflow.state_machine_arn,
        "definition": ports.workflow.asl,
        "historyLevel": level,
    }


# --- hostile input ------------------------------------------------------------------------


def _junk(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of a random kind, nested a little."""
    kinds = ["int", "huge", "float", "str", "bool", "null", "list", "dict"]
    kind = rng.choice(kinds if depth < 3 else kinds[:6])
    if kind == "int":
        return rng.randint(-(2**70), 2**70)
    if kind == "huge":
        return int("9" * rng.randint(20, 300))
    if kind == "float":
        return rng.choice([1e308, -1e308, 1e-300, 5e-324, 0.1, -0.0])
    if kind == "str":
        return "".join(chr(rng.choice([0, 9, 34, 92, 0x7F, 0xE9, 0x2028, 0xFFFF, 0x1F600])) for _ in range(5))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["type", "payload", "text", "failTimes", "x"]): _junk(rng, depth + 1) for _ in range(3)
    }


def hostile_submissions(seed: int = 20260102, count: int = 150) -> list[dict[str, Any]]:
    """Keyword arguments for ``call`` that no valid submission looks like."""
    rng = random.Random(seed)
    names = sorted(JOB_TYPES)
    fixed: list[dict[str, Any]] = [
        {"body": None},
        {"body": ""},
        {"body": "   "},
        {"body": "[]"},
        {"body": [A_JOB, A_JOB]},
        {"body": "null"},
        {"body": "0"},
        {"body": '"text.transform"'},
        {"body": "9" * 5000},
        {"body": '{"type": "text.transform", "payload": {"text": 1' + "0" * 5000 + "}}"},
        {"body": "1e999999"},
        {"body": "[" * 2000 + "]" * 2000},
        {"body": '{"a":' * 1000 + "1" + "}" * 1000},
        {"body": b"\xff\xfe\x00\x80 not utf-8"},
        {"body": b'{"type": "text.transform", "payload": {"text": "\xc3\x28"}}'},
        {"body": "!!!! not base64 !!!!", "base64_encoded": True},
        {"body": '{"type": "\\ud800", "payload": {}}'},
        {"body": '{"type": "text.transform", "payload": {"text": "\\udfff"}}'},
        {"body": '{"type": "demo.sleep", "payload": {"seconds": NaN}}'},
        {"body": '{"type": "demo.sleep", "payload": {"seconds": Infinity}}'},
        {"body": {"type": None, "payload": None}},
        {"body": {"type": ["text.transform"], "payload": {"text": "x"}}},
        {"body": {"type": "text.transform", "payload": [{"text": "x"}]}},
        {"body": {"type": "text.transform", "payload": "text=x"}},
        {"body": {"type": "text.transform", "payload": {"text": "x" * 10_001}}},
        {"body": A_JOB, "headers": {"Idempotency-Key": ""}},
        {"body": A_JOB, "headers": {"Idempotency-Key": "k" * 256}},
        {"body": A_JOB, "headers": {"Idempotency-Key": "\ud800"}},
        {"body": A_JOB, "headers": {"Content-Type": "application/xml"}},
        {"body": A_JOB, "headers": {"Content-Type": "multipart/form-data"}},
        {"body": A_JOB, "headers": {"Content-Type": "multipart/form-data; boundary=xyz"}},
        {"body": "a=1&b=2", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ]
    generated: list[dict[str, Any]] = []
    for _ in range(count):
        shape = rng.randrange(5)
        if shape == 0:
            generated.append({"body": rng.randbytes(rng.randint(1, 200))})
        elif shape == 1:
            generated.append({"body": rng.randbytes(rng.randint(1, 200)).decode("latin-1")})
        elif shape == 2:
            generated.append(
                {
                    "body": {
                        "type": rng.choice(names),
                        "payload": {"text": _junk(rng), "failTimes": _junk(rng)},
                    }
                }
            )
        elif shape == 3:
            generated.append({"body": {"type": _junk(rng), "payload": _junk(rng)}})
        else:
            generated.append({"body": json.dumps(_junk(rng))})
    return fixed + generated


def hostile_reads(seed: int = 7, count: int = 60) -> list[tuple[str, str, dict[str, Any]]]:
    rng = random.Random(seed)
    garbage = [
        "",
        " ",
        "0",
        "-1",
        "1e9",
        "9" * 5000,
        "\ud800",
        "%00",
        "../../etc/passwd",
        "null",
        "[]",
        "'",
        "\x00",
    ]
    reads: list[tuple[str, str, dict[str, Any]]] = (
        [("GET", "/jobs", {"query": {"limit": value}}) for value in garbage]
        + [("GET", "/jobs", {"query": {"status": value}}) for value in garbage]
        + [("GET", "/jobs", {"query": {"nextToken": value}}) for value in garbage]
    )
    reads += [
        ("GET", "/jobs/\ud800", {}),
        ("DELETE", "/jobs/a\udfffb", {}),
        ("GET", "/\ud800", {}),
        ("POST", "/jobs/\ud800/rerun", {}),
    ]
    for _ in range(count):
        segment = "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 80))).replace("/", "_")
        method = rng.choice(["GET", "DELETE", "POST"])
        suffix = {"GET": rng.choice(["", "/history"]), "DELETE": "", "POST": "/rerun"}[method]
        reads.append((method, f"/jobs/{segment}{suffix}", {}))
    return reads


def test_hostile_submissions_never_answer_5xx_and_never_change_the_store(ports):
    # Given a store holding one job
    ports.store.put(make_job(job_id=job_id(1)))
    before = ports.store.snapshot()

    for case in hostile_submissions():
        # When a hostile body is submitted
        answer = call("POST", "/jobs", **case)

        # Then it is refused with a 4xx and the error body, and nothing was stored or sent
        assert 400 <= answer.status < 500, (case, answer.status, answer.body)
        assert_error(answer, answer.status, answer.body["error"]["code"])
        assert ports.store.snapshot() == before, case
        assert ports.queue.sent == [], case


def test_hostile_reads_and_cancels_never_answer_5xx_and_never_change_the_store(ports):
    ports.store.put(make_job(job_id=job_id(1)))
    before = ports.store.snapshot()

    for method, path, extra in hostile_reads():
        answer = call(method, path, **extra)

        assert answer.status < 500, (method, path, extra, answer.body)
        if answer.status >= 400:
            assert_error(answer, answer.status, answer.body["error"]["code"])
        assert ports.store.snapshot() == before, (method, path, extra)


# --- rerun ---------------------------------------------------------------------------------


def failed_job(**overrides: Any) -> Any:
    return make_job(
        status=JobStatus.FAILED,
        attempts=2,
        error={"type": "PermanentJobError", "message": "nope"},
        executions=[execution_arn("run-1")],
        **overrides,
    )


def test_rerunning_a_failed_job_answers_202_queues_it_again_and_keeps_the_failed_run(ports):
    job = ports.store.put(failed_job())

    response = call("POST", f"/jobs/{job.job_id}/rerun")

    assert response.status == 202
    assert response.headers["location"] == f"/jobs/{job.job_id}"
    body = response.body
    assert body["jobId"] == job.job_id and body["status"] == "QUEUED" and body["error"] is None
    assert body["attempts"] == 2
    assert body["runs"] == [
        {
            "run": 1,
            "status": "FAILED",
            "error": {"type": "PermanentJobError", "message": "nope"},
            "result": None,
            "firstAttempt": 1,
            "lastAttempt": 2,
            "startedAt": None,
            "finishedAt": None,
            "executions": [execution_arn("run-1")],
        }
    ]
    assert ports.queue.sent == [job.job_id]
    stored = ports.store.jobs[job.job_id]
    assert stored.pending_since is None and stored.pending_shard is None  # sent: marker removed
    assert "pendingSince" not in body


@pytest.mark.parametrize("status", ["QUEUED", "IN_PROGRESS", "SUCCEEDED", "CANCELLED"])
def test_rerunning_a_job_that_is_not_failed_answers_409_and_changes_nothing(ports, status):
    job = ports.store.put(make_job(status=JobStatus(status)))
    before = ports.store.snapshot()

    response = call("POST", f"/jobs/{job.job_id}/rerun")

    assert response.status == 409
    assert response.body["error"]["code"] == "job_not_rerunnable"
    assert ports.store.snapshot() == before and ports.queue.sent == []


@pytest.mark.parametrize("path", [f"/jobs/{job_id(9)}/rerun", "/jobs/not-a-job/rerun"])
def test_rerunning_an_unknown_job_answers_404(ports, path):
    assert call("POST", path).status == 404


def test_a_rerun_the_queue_refuses_answers_503_and_leaves_the_job_failed_as_it_was(ports):
    job = ports.store.put(failed_job())
    before = ports.store.snapshot()
    ports.queue.fail = True

    response = call("POST", f"/jobs/{job.job_id}/rerun", headers={"Idempotency-Key": "r-1"})

    assert response.status == 503
    after = ports.store.snapshot()
    assert after["jobs"][job.job_id]["status"] == "FAILED"
    assert after["jobs"][job.job_id]["runs"] == [] and after["jobs"][job.job_id]["error"]["message"] == "nope"
    assert after["keys"] == before["keys"]  # the key is free again: a retry reruns


def test_a_replayed_rerun_answers_200_without_a_second_run(ports):
    job = ports.store.put(failed_job())
    first = call("POST", f"/jobs/{job.job_id}/rerun", headers={"Idempotency-Key": "r-1"})

    again = call("POST", f"/jobs/{job.job_id}/rerun", headers={"Idempotency-Key": "r-1"})

    assert first.status == 202
    assert again.status == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.body["jobId"] == job.job_id
    assert ports.queue.sent == [job.job_id]


def test_a_submit_key_reused_for_a_rerun_answers_409(ports):
    job = ports.store.put(failed_job())
    call("POST", "/jobs", body=A_JOB, headers={"Idempotency-Key": "k"})

    response = call("POST", f"/jobs/{job.job_id}/rerun", headers={"Idempotency-Key": "k"})

    assert response.status == 409
    assert response.body["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8"])
def test_a_json_body_sent_as_a_form_or_text_is_read_as_json(ports, content_type):
    # `curl -d '{...}'` sends application/x-www-form-urlencoded
    answer = call("POST", "/jobs", body=json.dumps(A_JOB), headers={"Content-Type": content_type})

    assert answer.status == 202, answer.body
    assert ports.queue.sent == [answer.body["jobId"]]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "type=text.transform&payload=x"),
        ("text/plain", "hello"),
        ("multipart/form-data; boundary=x", '{"type": "text.transform"}'),
        ("application/xml", "<job/>"),
        ("text/plain", base64.b64encode(b"\xff\xfe").decode()),
    ],
)
def test_a_body_that_is_not_json_under_another_type_answers_415_and_changes_nothing(
    ports, content_type, body
):
    before = ports.store.snapshot()

    answer = call("POST", "/jobs", body=body, headers={"Content-Type": content_type})

    assert "Content-Type: application/json" in assert_error(answer, 415, "unsupported_media_type")
    assert ports.store.snapshot() == before


def test_a_json_looking_form_body_that_is_not_json_answers_400(ports):
    answer = call(
        "POST", "/jobs", body="{type: x}", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert_error(answer, 400, "malformed_json")
