"""The client's models against the API's OpenAPI document, built by the API function itself
(``cloudqueue.handlers.api.openapi_json``, what ``GET /openapi.json`` answers): every field the
server's schemas have is in the client's model under the same name with a compatible type, and
every status is known; every route the client calls is one of the document's, with its method.
A job or a schedule the server answers reads back, through the client, as it was sent (what the
CLI prints)."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import cloudqueue_client as client_models
from cloudqueue.api_models import JobPage as ServerJobPage
from cloudqueue.api_models import JobView, ScheduleList, ScheduleView
from cloudqueue.handlers.api import openapi_json
from cloudqueue.models import JobFailure, JobRun, JobStatus, RecurringSchedule, ScheduledJob
from cloudqueue_client import _calls
from tests.fakes import T0, make_job

# The server's schema name → the client's model.
PAIRS: dict[str, type[BaseModel]] = {
    "JobView": client_models.Job,
    "JobPage": client_models.JobPage,
    "JobFailure": client_models.JobFailure,
    "JobRun": client_models.JobRun,
    "JobTypeInfo": client_models.JobType,
    "JobTypeList": client_models.JobTypeList,
    "BatchSubmitResult": client_models.BatchResultList,
    "BatchItemResult": client_models.BatchResult,
    "ErrorDetail": client_models.BatchItemError,
    "ScheduleView": client_models.Schedule,
    "ScheduledJob": client_models.ScheduledJob,
    "ScheduleList": client_models.ScheduleList,
}
SAME_MODEL = {server: model.__name__ for server, model in PAIRS.items()} | {"JobStatus": "JobStatus"}


@cache
def server_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi_json())
    return document


def server_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = server_document()["components"]["schemas"]
    return schemas


@cache
def client_schemas() -> dict[str, Any]:
    # Serialization mode: a timestamp is the string the API sends, as in the server's document.
    _, document = models_json_schema([(model, "serialization") for model in PAIRS.values()], by_alias=True)
    schemas: dict[str, Any] = document["$defs"]
    return schemas


def kinds(schema: dict[str, Any], translate: dict[str, str]) -> set[str]:
    """The JSON kinds a schema allows: ``string``, ``integer``, ``array[...]``, ``model:Name``,
    ``any``... (``translate`` maps the server's model names onto the client's)."""
    if "anyOf" in schema:
        return set().union(*(kinds(member, translate) for member in schema["anyOf"]))
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {f"model:{translate.get(name, name)}"}
    kind = schema.get("type")
    if kind is None:
        return {"any"}
    if kind == "array":
        return {f"array[{','.join(sorted(kinds(schema.get('items', {}), translate)))}]"}
    return {str(kind)}


def compatible(server: set[str], client: set[str]) -> bool:
    """Every value the server may send is one the client reads."""
    if "any" in client:
        return True
    return all(kind in client or (kind == "integer" and "number" in client) for kind in server)


@pytest.mark.parametrize("server_name", sorted(PAIRS))
def test_every_field_of_the_servers_schema_is_in_the_clients_model_with_a_compatible_type(
    server_name: str,
) -> None:
    server = server_schemas()[server_name]
    client = client_schemas()[PAIRS[server_name].__name__]

    missing = sorted(set(server["properties"]) - set(client["properties"]))
    assert missing == [], f"the client's {PAIRS[server_name].__name__} lacks {missing}"
    for field, schema in server["properties"].items():
        sent = kinds(schema, SAME_MODEL)
        read = kinds(client["properties"][field], {})
        assert compatible(sent, read), (
            f"{server_name}.{field}: the server sends {sent}, the client reads {read}"
        )
    # A field the server always sends may be required by the client; no other.
    assert set(client.get("required", [])) <= set(server.get("required", []))


def test_every_status_the_server_has_is_known_to_the_client() -> None:
    statuses = server_schemas()["JobStatus"]["enum"]

    assert set(statuses) <= {status.value for status in client_models.JobStatus}
    terminal = {status.value for status in client_models.TERMINAL_STATUSES}
    assert terminal == {"SUCCEEDED", "FAILED", "CANCELLED"}


def test_the_contract_check_catches_a_field_the_client_lacks_or_reads_wrongly() -> None:
    # The comparison itself, on a deliberately wrong pair: a missing field, a string read as int.
    server = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    client = {"properties": {"a": {"type": "integer"}}}

    assert set(server["properties"]) - set(client["properties"]) == {"b"}
    assert not compatible(kinds(server["properties"]["a"], {}), kinds(client["properties"]["a"], {}))
    assert compatible({"integer", "null"}, {"number", "null"})


def test_a_job_the_server_answers_reads_back_through_the_client_as_it_was_sent() -> None:
    # Given a job with every optional part the API shows: an earlier failed run, a result
    ended = T0 + timedelta(seconds=2)
    job = make_job(
        status=JobStatus.SUCCEEDED,
        attempts=2,
        started_at=T0 + timedelta(seconds=1),
        finished_at=ended,
        result={"upper": "HI"},
        executions=["arn:aws:states:us-east-1:123456789012:express:jobs:a:b"],
        idempotency_key="order-1",
        runs=[
            JobRun(
                run=1,
                status=JobStatus.FAILED,
                error=JobFailure(type="PermanentJobError", message="broken"),
                first_attempt=1,
                last_attempt=1,
                finished_at=T0,
            )
        ],
    )
    sent = json.loads(ServerJobPage(jobs=[JobView.of(job)], next_token="t").model_dump_json(by_alias=True))

    # When the client reads it
    page = client_models.JobPage.model_validate(sent)

    # Then its fields are typed, and dumped again they are the API's JSON, key for key
    [read] = page.jobs
    assert read.status is client_models.JobStatus.SUCCEEDED and read.finished_at == ended
    assert read.runs[0].error == client_models.JobFailure(type="PermanentJobError", message="broken")
    assert page.to_json() == sent


def test_a_field_the_client_does_not_know_yet_is_kept() -> None:
    sent = {
        "jobId": "j",
        "type": "t",
        "payload": {},
        "status": "QUEUED",
        "attempts": 0,
        "createdAt": "2026-12-06T12:00:00.000Z",
        "updatedAt": "2026-12-06T12:00:00.000Z",
        "retryPolicy": [{"step": 1}],  # a field a later API adds
    }

    job = client_models.Job.model_validate(sent)

    assert job.model_extra == {"retryPolicy": [{"step": 1}]}
    assert job.to_json() == sent


# Every request the client makes, with a placeholder for each path parameter.
CLIENT_CALLS = {
    "submit": _calls.submit("t", {}, None),
    "get": _calls.get("/jobs", "{jobId}"),
    "history": _calls.history("/jobs", "{jobId}"),
    "cancel": _calls.cancel("/jobs", "{jobId}"),
    "rerun": _calls.rerun("/jobs", "{jobId}", None),
    "page": _calls.page("/jobs", None, 20, None, None),
    "job_types": _calls.job_types(),
    "create_schedule": _calls.create_schedule("n", "rate(1 hour)", "t", {}, None),
    "list_schedules": _calls.list_schedules(),
    "get_schedule": _calls.schedule("GET", "{name}"),
    "delete_schedule": _calls.schedule("DELETE", "{name}"),
    "pause_schedule": _calls.schedule("POST", "{name}", "pause"),
    "resume_schedule": _calls.schedule("POST", "{name}", "resume"),
}


@pytest.mark.parametrize("method", sorted(CLIENT_CALLS))
def test_every_route_the_client_calls_is_one_of_the_apis_with_its_method(method: str) -> None:
    call = CLIENT_CALLS[method]
    # The placeholder went through the client's quoting: read it back as the document writes it.
    path = call.path.replace("%7B", "{").replace("%7D", "}")

    routes = server_document()["paths"]

    assert path in routes, f"{method}: {path} is not a route of the API"
    assert call.method.lower() in routes[path], f"{method}: the API has no {call.method} {path}"


def test_a_schedule_the_server_answers_reads_back_through_the_client_as_it_was_sent() -> None:
    made = RecurringSchedule(
        name="nightly",
        expression="cron(0 2 * * ? *)",
        timezone="Europe/Paris",
        state="DISABLED",
        job=ScheduledJob(type="text.transform", payload={"text": "n"}),
        owner="alice",
    )
    sent = json.loads(ScheduleList(schedules=[ScheduleView.of(made)]).model_dump_json(by_alias=True))

    listed = client_models.ScheduleList.model_validate(sent)

    [read] = listed.schedules
    assert read.paused
    assert read.job == client_models.ScheduledJob(type="text.transform", payload={"text": "n"})
    assert listed.to_json() == sent and "owner" not in read.to_json()
