"""The client's models against the API's OpenAPI document, built by the API function itself
(``cloudqueue.handlers.api.openapi_json``, what ``GET /openapi.json`` answers): every field the
server's schemas have is in the client's model under the same name with a compatible type, and
every status is known. A job the server answers reads back, through the client, as it was sent
(what the CLI prints)."""

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
from cloudqueue.api_models import JobView
from cloudqueue.handlers.api import openapi_json
from cloudqueue.models import JobFailure, JobRun, JobStatus
from tests.fakes import T0, make_job

# The server's schema name → the client's model.
PAIRS: dict[str, type[BaseModel]] = {
    "JobView": client_models.Job,
    "JobPage": client_models.JobPage,
    "JobFailure": client_models.JobFailure,
    "JobRun": client_models.JobRun,
    "JobTypeInfo": client_models.JobType,
    "JobTypeList": client_models.JobTypeList,
}
SAME_MODEL = {server: model.__name__ for server, model in PAIRS.items()} | {"JobStatus": "JobStatus"}


@cache
def server_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(openapi_json())["components"]["schemas"]
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
        "progress": [{"step": 1}],  # a field a later API adds
    }

    job = client_models.Job.model_validate(sent)

    assert job.model_extra == {"progress": [{"step": 1}]}
    assert job.to_json() == sent
