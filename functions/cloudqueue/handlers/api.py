"""ApiFunction: the HTTP API (API Gateway HTTP API, payload format 2.0)."""

from __future__ import annotations

import base64
import json
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from cloudqueue import jobs, rerun
from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.logs import CloudWatchExecutionLog
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.adapters.stepfunctions import StepFunctionsWorkflow
from cloudqueue.api_models import (
    ErrorBody,
    ErrorDetail,
    JobPage,
    JobTypeInfo,
    JobTypeList,
    JobView,
    SubmitJobRequest,
    payload_of,
    type_of,
)
from cloudqueue.errors import ApiError
from cloudqueue.jobtypes import JOB_TYPES, demo
from cloudqueue.models import JobStatus, utc_now
from cloudqueue.ports import ExecutionLog, JobQueue, JobStore, Workflow
from cloudqueue.settings import ApiSettings

# No Powertools Tracer on the per-job path: importing the X-Ray SDK costs about as much as
# importing boto3 (measured by `cloudqueue bench`), paid on every cold start. The function's
# Active tracing and the state machine's tracing still put each invocation in the trace.
logger = Logger()
metrics = Metrics(namespace="CloudQueue")


def parse_json_body(text: str) -> Any:
    """``json.loads`` that reports every unreadable body as a JSONDecodeError, which the resolver
    answers 400: a number too long for ``int`` or nesting too deep raise other errors (then 500)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(f"unreadable JSON ({type(error).__name__})", text, 0) from None
    # The resolver takes a list's first element for the value (as it does for form fields), so
    # a body [job, other] would submit the first job: a tuple is validated, and refused, whole.
    return tuple(parsed) if isinstance(parsed, list) else parsed


app = APIGatewayHttpResolver(
    enable_validation=True,
    json_body_deserializer=parse_json_body,
    cors=CORSConfig(allow_origin="*", allow_headers=["Content-Type", "Idempotency-Key"], max_age=600),
)

_ERRORS: dict[int, OpenAPIResponse] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for code, text in {
        400: "Malformed request",
        404: "No such job",
        409: "Conflict with the job's state or an earlier request",
        413: "Request body too large",
        422: "Request does not match the schema",
        503: "The job could not be queued, or the table is busy; retry",
    }.items()
}


class Ports:
    """The adapters the routes use. Tests and the local stack replace them with ``use``."""

    store: JobStore | None = None
    queue: JobQueue | None = None
    log: ExecutionLog | None = None
    workflow: Workflow | None = None


@cache
def settings() -> ApiSettings:
    config = ApiSettings.from_env()
    demo.limit_sleep_to(config.process_timeout_seconds)  # demo.sleep's limit follows the timeout
    return config


def store() -> JobStore:
    if Ports.store is None:
        config = settings()
        Ports.store = DynamoJobStore.from_settings(config)
    return Ports.store


def queue() -> JobQueue:
    if Ports.queue is None:
        Ports.queue = SqsJobQueue(settings().queue_url)
    return Ports.queue


def execution_log() -> ExecutionLog:
    if Ports.log is None:
        Ports.log = CloudWatchExecutionLog(settings().execution_log_group)
    return Ports.log


def workflow() -> Workflow:
    if Ports.workflow is None:
        Ports.workflow = StepFunctionsWorkflow(settings().state_machine_arn)
    return Ports.workflow


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[Any]:
    # Messages echo what the client sent (a path, an id); a lone surrogate in it cannot be
    # encoded as JSON and would turn the answer into a 500.
    message = message.encode("utf-8", errors="replace").decode("utf-8")
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return Response(
        status_code=status,
        content_type="application/json",
        body=body.model_dump_json(by_alias=True, exclude_none=True),
    )


def json_response(
    status: int, model: BaseModel | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    body = model.model_dump_json(by_alias=True) if isinstance(model, BaseModel) else json.dumps(model)
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


# --- errors -----------------------------------------------------------------------------


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]
def handle_api_error(error: ApiError) -> Response[Any]:
    return error_response(error.status, error.code, error.message, error.details)


def _where(location: tuple[Any, ...]) -> str:
    # pydantic names the union member in the location ("body", "text.transform", "payload", ...).
    parts = (
        [str(part) for part in location[1:] if part not in JOB_TYPES]
        if location[:1] == ("body",)
        else [str(part) for part in location]
    )
    return ".".join(parts) or "body"


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    """The status, code and one readable sentence for pydantic's validation errors."""
    kinds = {error.get("type") for error in errors}
    if "json_invalid" in kinds:
        return 400, "malformed_json", "the request body is not valid JSON"
    known = ", ".join(sorted(JOB_TYPES))
    for error in errors:
        if error.get("type") == "union_tag_invalid":
            tag = (error.get("ctx") or {}).get("tag")
            return 422, "unknown_job_type", f"unknown job type {tag!r}; known types: {known}"
        if error.get("type") == "union_tag_not_found":
            return 422, "missing_job_type", f"the body needs a 'type': one of {known}"
    sentences = [
        f"{_where(tuple(error.get('loc', ())))}: {error.get('msg', 'invalid')}" for error in errors[:5]
    ]
    return 422, "validation_error", "; ".join(sentences)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def handle_validation_error(error: RequestValidationError) -> Response[Any]:
    status, code, message = describe_validation_errors(list(error.errors()))
    details = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
        for item in error.errors()
    ]
    return error_response(status, code, message, details)


@app.not_found
def handle_not_found(error: NotFoundError) -> Response[Any]:
    return error_response(
        404, "route_not_found", f"no route {app.current_event.http_method} {app.current_event.path}"
    )


# --- routes -----------------------------------------------------------------------------


@app.post(
    "/jobs",
    summary="Submit a job",
    description="Stores the job QUEUED, enqueues it and answers at once with its id.",
    responses={
        202: {"description": "Accepted", "content": {"application/json": {"model": JobView}}},
        **_ERRORS,
    },
)
def submit(
    request: Annotated[SubmitJobRequest, Body(embed=False)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            min_length=1,
            max_length=255,
            description="Retrying with the same key and body returns the same job.",
        ),
    ] = None,
) -> Response[Any]:
    job, created = jobs.submit_job(
        type_of(request),
        payload_of(request),
        store=store(),
        queue=queue(),
        now=utc_now(),
        retention_days=settings().retention_days,
        idempotency_key=idempotency_key,
    )
    headers = {"Location": f"/jobs/{job.job_id}"}
    if created:
        metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
        logger.info("job submitted", extra={"jobId": job.job_id, "type": job.type})
        return json_response(HTTPStatus.ACCEPTED, JobView.of(job), headers)
    headers["Idempotent-Replayed"] = "true"
    return json_response(HTTPStatus.OK, JobView.of(job), headers)


@app.get("/jobs", summary="List jobs, newest first", responses=_ERRORS)
def list_jobs(
    status: Annotated[JobStatus | None, Query(description="Only jobs with this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=1024)] = None,
) -> JobPage:
    return jobs.list_jobs(status, limit, next_token, store=store())


@app.get("/jobs/<jobId>", summary="Read one job", responses=_ERRORS)
def get_job(job_id: Annotated[str, Path(alias="jobId", max_length=64)]) -> JobView:
    return JobView.of(jobs.get_job(job_id, store=store()))


@app.get("/jobs/<jobId>/history", summary="The job's executions, steps and events", responses=_ERRORS)
def get_job_history(job_id: Annotated[str, Path(alias="jobId", max_length=64)]) -> dict[str, Any]:
    history = jobs.job_history(job_id, store=store(), log=execution_log())
    config = settings()
    if config.console_links:
        for execution in history["executions"]:
            execution["consoleUrl"] = console_url(execution["executionArn"], config.region)
    return history


@app.delete("/jobs/<jobId>", summary="Cancel a job that is still QUEUED", responses=_ERRORS)
def cancel_job(job_id: Annotated[str, Path(alias="jobId", max_length=64)]) -> JobView:
    job = jobs.cancel_job(job_id, store=store(), now=utc_now())
    metrics.add_metric(name="JobsCancelled", unit=MetricUnit.Count, value=1)
    return JobView.of(job)


RERUN_KEY = Header(
    alias="idempotency-key",
    min_length=1,
    max_length=255,
    description="Retrying with the same key answers the same job (200), without a second run.",
)


@app.post(
    "/jobs/<jobId>/rerun",
    summary="Rerun a FAILED job",
    description="Puts a FAILED job back to QUEUED under the same jobId and enqueues it; the run that "
    "failed stays in the job's `runs`, and `attempts` goes on counting.",
    responses={
        202: {"description": "Queued again", "content": {"application/json": {"model": JobView}}},
        **_ERRORS,
    },
)
def rerun_job(
    job_id: Annotated[str, Path(alias="jobId", max_length=64)],
    idempotency_key: Annotated[str | None, RERUN_KEY] = None,
) -> Response[Any]:
    job, created = rerun.rerun_job(
        job_id, store=store(), queue=queue(), now=utc_now(), idempotency_key=idempotency_key
    )
    if created:
        metrics.add_metric(name="JobsRerun", unit=MetricUnit.Count, value=1)
        logger.info("job rerun", extra={"jobId": job.job_id, "run": len(job.runs) + 1})
    return json_response(
        HTTPStatus.ACCEPTED if created else HTTPStatus.OK,
        JobView.of(job),
        {"Location": f"/jobs/{job.job_id}"} | ({} if created else {"Idempotent-Replayed": "true"}),
    )


@app.get("/job-types", summary="The job types and the JSON Schema of each payload")
def list_job_types() -> JobTypeList:
    return JobTypeList(
        job_types=[
            JobTypeInfo(
                name=job_type.name,
                description=job_type.description,
                example=job_type.example,
                payload_schema=job_type.payload_schema(),
            )
            for job_type in JOB_TYPES.values()
        ]
    )


@app.get("/workflow", summary="The job workflow's state machine definition (ASL), for drawing it")
def get_workflow() -> dict[str, Any]:
    source = workflow()
    return {"stateMachineArn": source.state_machine_arn, "definition": source.definition()}


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


@cache
def openapi_json() -> str:
    return app.get_openapi_json_schema(
        title="CloudQueue",
        version="1.0.0",
        description="Submit jobs, follow them to SUCCEEDED or FAILED, and see how they got there.",
    )


def console_url(execution_arn: str, region: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/express-executions/details/{execution_arn}"
    )


# --- the Lambda entry point --------------------------------------------------------------


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return len(base64.b64decode(body, validate=False))
        except ValueError:
            return len(body)
    return len(body.encode())


# `curl -d '{...}'` and a plain `fetch(url, {body})` label a JSON body as a form or as text.
# Such a body is read as JSON when it is JSON (an object or an array); anything else under
# these types, and every other non-JSON type, is 415. The API takes no credentials (no cookies),
# so accepting these "simple" content types lets no other site do anything curl cannot.
_JSON_WHEN_JSON = ("application/x-www-form-urlencoded", "text/plain")


def _is_json_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip()
    return media_type in ("", "application/json") or media_type.endswith("+json")


def _unreadable_body(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """Why a request's body cannot be read as JSON text, checked before the resolver reads it:
    the resolver raises (and so answers 500) on bodies that are not UTF-8 or not base64, and on
    form bodies it cannot parse. A JSON body labelled as a form or as text is relabelled JSON
    (in ``event``) for the resolver."""
    body = event.get("body")
    if not body:
        return None
    headers = event.get("headers") or {}
    names = [name for name in headers if str(name).lower() == "content-type"]
    content_type = str(headers[names[0]]).strip().lower() if names else ""
    try:
        if event.get("isBase64Encoded"):
            text = base64.b64decode(str(body).encode(), validate=True).decode()
        else:
            text = str(body)
            text.encode()
    except ValueError:  # binascii.Error, UnicodeError
        if not _is_json_type(content_type):
            return _unsupported(content_type)
        return 400, "malformed_json", "the request body is not UTF-8 JSON text"
    if _is_json_type(content_type):
        return None
    if content_type.partition(";")[0].strip() in _JSON_WHEN_JSON and text.lstrip()[:1] in ("{", "["):
        for name in names:
            headers[name] = "application/json"
        return None
    return _unsupported(content_type)


def _unsupported(content_type: str) -> tuple[int, str, str]:
    return (
        415,
        "unsupported_media_type",
        f"the request body must be JSON (Content-Type: application/json), not {content_type[:100]}",
    )


def _early_answer(status: int, code: str, message: str) -> dict[str, Any]:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": body.model_dump_json(by_alias=True, exclude_none=True),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    limit = settings().max_body_bytes
    # Answered before the resolver parses (and validates) a body it should never read.
    if _body_size(event) > limit:
        return _early_answer(413, "request_too_large", f"the request body is larger than {limit} bytes")
    unreadable = _unreadable_body(event)
    if unreadable is not None:
        return _early_answer(*unreadable)
    return app.resolve(event, context)
