"""ApiFunction: the HTTP API (API Gateway HTTP API, payload format 2.0): its routes and entry point.

The error answers are in ``http_errors``, the guard on raw bodies in ``http_body``, who is
calling in ``callers``. Each ``/jobs`` route acts on the caller's own jobs; its ``/admin/jobs``
twin (the same function) on every owner's.
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from cloudqueue import jobs, rerun
from cloudqueue.api_models import (
    JobPage,
    JobTypeInfo,
    JobTypeList,
    JobView,
    SubmitJobRequest,
    callback_url_of,
    concurrency_key_of,
    due_time,
    payload_of,
    timing_of,
    type_of,
)
from cloudqueue.callbacks import Resolver
from cloudqueue.callers import Caller
from cloudqueue.handlers import metric_names
from cloudqueue.handlers.api_ports import (
    Ports,
    default_log,
    default_workflow,
    delayed_sends_of,
    handed_in,
    queue_of,
    settings,
    store_of,
)
from cloudqueue.handlers.batch_routes import router as batch_router
from cloudqueue.handlers.callback_urls import checked_callback_url
from cloudqueue.handlers.callers import caller_of
from cloudqueue.handlers.http_body import parse_json_body, refuse_body
from cloudqueue.handlers.http_errors import ERROR_RESPONSES, answer_errors
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.handlers.schedule_routes import router as schedule_router
from cloudqueue.jobtypes import JOB_TYPES
from cloudqueue.models import JobStatus, utc_now
from cloudqueue.ports import DelayedSends, ExecutionLog, JobQueue, JobStore, RecurringSchedules, Workflow

# No Powertools Tracer on the per-job path: importing the X-Ray SDK costs about as much as
# importing boto3 (measured by `cloudqueue bench`), paid on every cold start. The function's
# Active tracing and the state machine's tracing still put each invocation in the trace.
logger = service_logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)

app = APIGatewayHttpResolver(
    enable_validation=True,
    json_body_deserializer=parse_json_body,
    cors=CORSConfig(allow_origin="*", allow_headers=["Content-Type", "Idempotency-Key"], max_age=600),
)
answer_errors(app)
app.include_router(schedule_router)
app.include_router(batch_router)


# A route builds only the adapters it uses, on first use: a submit never loads the log's client.
def current_store() -> JobStore:
    return store_of(app.context)


def current_queue() -> JobQueue:
    return queue_of(app.context)


def current_delayed_sends() -> DelayedSends:
    return delayed_sends_of(app.context)


def current_log() -> ExecutionLog:
    """The execution log this invocation uses: the one handed in, else the real one."""
    return handed_in(app.context).log or default_log()


def current_workflow() -> Workflow:
    """The workflow this invocation uses: the one handed in, else the real one."""
    return handed_in(app.context).workflow or default_workflow()


def current_caller() -> Caller:
    """Who this request acts as (``handlers.callers``)."""
    return caller_of(app.current_event)


def json_response(
    status: int, model: BaseModel | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    body = model.model_dump_json(by_alias=True) if isinstance(model, BaseModel) else json.dumps(model)
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


# --- routes -----------------------------------------------------------------------------

# Each route's answers for its OpenAPI document: its 200 as well as its errors (a route given
# `responses` documents only those).
JSON_JOB: dict[str, Any] = {"application/json": {"model": JobView}}
JOB_RESPONSES: dict[int, Any] = {200: {"description": "The job", "content": JSON_JOB}, **ERROR_RESPONSES}
PAGE_RESPONSES: dict[int, Any] = {
    200: {"description": "A page of jobs", "content": {"application/json": {"model": JobPage}}},
    **ERROR_RESPONSES,
}
HISTORY_RESPONSES: dict[int, Any] = {
    200: {"description": "Every execution of the job, with its steps and events"},
    **ERROR_RESPONSES,
}


@app.post(
    "/jobs",
    summary="Submit a job",
    description="Enqueues the job and stores it QUEUED (SCHEDULED with `delaySeconds` or `runAt`: "
    "it starts at its time, never before) and answers at once with its id.",
    responses={
        202: {"description": "Accepted", "content": {"application/json": {"model": JobView}}},
        200: {"description": "An idempotent replay: the job this key made", "content": JSON_JOB},
        **ERROR_RESPONSES,
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
    now = utc_now()
    run_at = due_time(request, now)
    config = settings()
    job, created = jobs.submit_job(
        type_of(request),
        payload_of(request),
        store=current_store(),
        queue=current_queue(),
        now=now,
        retention_days=config.retention_days,
        idempotency_key=idempotency_key,
        owner=current_caller().owner,
        callback_url=checked_callback_url(callback_url_of(request), config, handed_in(app.context).resolver),
        run_at=run_at,
        delayed_sends=current_delayed_sends() if run_at is not None else None,
        sqs_delay_limit_seconds=config.sqs_delay_limit_seconds,
        timing=timing_of(request),
        concurrency_key=concurrency_key_of(request),
        concurrency_limit=JOB_TYPES[type_of(request)].concurrency_limit,
    )
    headers = {"Location": f"/jobs/{job.job_id}"}
    if created:
        logger.info("job submitted", extra={"jobId": job.job_id, "type": job.type})
        return json_response(HTTPStatus.ACCEPTED, JobView.of(job, utc_now()), headers)
    headers["Idempotent-Replayed"] = "true"
    return json_response(HTTPStatus.OK, JobView.of(job, utc_now()), headers)


StatusFilter = Annotated[JobStatus | None, Query(description="Only jobs with this status.")]
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageToken = Annotated[str | None, Query(alias="nextToken", max_length=1024)]
JobIdPath = Annotated[str, Path(alias="jobId", max_length=64)]
ADMIN = "Admin: any owner's job. "


@app.get("/jobs", summary="List your jobs, newest first", responses=PAGE_RESPONSES)
def list_jobs(status: StatusFilter = None, limit: PageLimit = 20, next_token: PageToken = None) -> JobPage:
    caller = current_caller()
    return jobs.list_jobs(
        status, limit, next_token, store=current_store(), owner=caller.listed_owner, now=utc_now()
    )


@app.get("/admin/jobs", summary="Admin: list every owner's jobs, newest first", responses=PAGE_RESPONSES)
def list_all_jobs(
    status: StatusFilter = None,
    limit: PageLimit = 20,
    next_token: PageToken = None,
    owner: Annotated[
        str | None, Query(min_length=1, max_length=2048, description="Only this owner's jobs.")
    ] = None,
) -> JobPage:
    caller = current_caller()
    # Only a request the gateway matched as an admin route may name another owner, or none.
    listed = owner if caller.admin else caller.owner
    return jobs.list_jobs(status, limit, next_token, store=current_store(), owner=listed, now=utc_now())


@app.get("/admin/jobs/<jobId>", summary=ADMIN + "read one job", responses=JOB_RESPONSES)
@app.get("/jobs/<jobId>", summary="Read one of your jobs", responses=JOB_RESPONSES)
def get_job(job_id: JobIdPath) -> JobView:
    return JobView.of(jobs.get_job(job_id, store=current_store(), caller=current_caller()), utc_now())


@app.get("/admin/jobs/<jobId>/history", summary=ADMIN + "its executions", responses=HISTORY_RESPONSES)
@app.get(
    "/jobs/<jobId>/history", summary="The job's executions, steps and events", responses=HISTORY_RESPONSES
)
def get_job_history(job_id: JobIdPath) -> dict[str, Any]:
    history = jobs.job_history(job_id, store=current_store(), log=current_log(), caller=current_caller())
    config = settings()
    if config.console_links:
        for execution in history["executions"]:
            execution["consoleUrl"] = console_url(execution["executionArn"], config.region)
    return history


CANCEL_RESPONSES: dict[int, Any] = {
    200: {"description": "It was QUEUED or SCHEDULED: CANCELLED now, it never runs", "content": JSON_JOB},
    202: {
        "description": "It is running: marked; its code stops and it ends CANCELLED",
        "content": {"application/json": {"model": JobView}},
    },
    **ERROR_RESPONSES,
}


@app.delete("/admin/jobs/<jobId>", summary=ADMIN + "cancel it", responses=CANCEL_RESPONSES)
@app.delete(
    "/jobs/<jobId>",
    summary="Cancel a job that is QUEUED, SCHEDULED or running",
    description="A QUEUED or SCHEDULED job is CANCELLED at once (200), and never runs. A running "
    "job is marked (202): its code sees `cancelled()`, and the job ends CANCELLED whatever it "
    "returns. A job that finished first keeps its outcome (409).",
    responses=CANCEL_RESPONSES,
)
def cancel_job(job_id: JobIdPath) -> Response[Any]:
    job = jobs.cancel_job(
        job_id,
        store=current_store(),
        now=utc_now(),
        caller=current_caller(),
        delayed_sends=current_delayed_sends(),
    )
    running = job.status is JobStatus.IN_PROGRESS
    return json_response(HTTPStatus.ACCEPTED if running else HTTPStatus.OK, JobView.of(job, utc_now()), {})


RERUN_KEY = Header(
    alias="idempotency-key",
    min_length=1,
    max_length=255,
    description="Retrying with the same key answers the same job (200), without a second run.",
)


RERUN_RESPONSES: dict[int, Any] = {
    202: {"description": "Queued again", "content": {"application/json": {"model": JobView}}},
    200: {"description": "An idempotent replay: the job as it is", "content": JSON_JOB},
    **ERROR_RESPONSES,
}


@app.post("/admin/jobs/<jobId>/rerun", summary=ADMIN + "rerun it if FAILED", responses=RERUN_RESPONSES)
@app.post(
    "/jobs/<jobId>/rerun",
    summary="Rerun a FAILED job",
    description="Puts a FAILED job back to QUEUED under the same jobId and enqueues it; the run that "
    "failed stays in the job's `runs`, and `attempts` goes on counting.",
    responses=RERUN_RESPONSES,
)
def rerun_job(job_id: JobIdPath, idempotency_key: Annotated[str | None, RERUN_KEY] = None) -> Response[Any]:
    job, created = rerun.rerun_job(
        job_id,
        store=current_store(),
        queue=current_queue(),
        now=utc_now(),
        caller=current_caller(),
        idempotency_key=idempotency_key,
    )
    if created:
        logger.info("job rerun", extra={"jobId": job.job_id, "run": len(job.runs) + 1})
    return json_response(
        HTTPStatus.ACCEPTED if created else HTTPStatus.OK,
        JobView.of(job, utc_now()),
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


@app.get(
    "/workflow",
    summary="The job workflow's state machine definition (ASL), for drawing it",
    description="`historyLevel` is the state machine's logging level: at `ALL` every execution's "
    "history is recorded; at `ERROR` or `FATAL` only failed executions' errors; at `OFF` nothing, "
    "so a client need not poll `/jobs/{jobId}/history` for it.",
)
def get_workflow() -> dict[str, Any]:
    source = current_workflow()
    described = source.describe()
    return {
        "stateMachineArn": source.state_machine_arn,
        "definition": described.definition,
        "historyLevel": described.history_level,
    }


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


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    store: JobStore | None = None,
    queue: JobQueue | None = None,
    log: ExecutionLog | None = None,
    workflow: Workflow | None = None,
    resolver: Resolver | None = None,
    delayed_sends: DelayedSends | None = None,
    schedules: RecurringSchedules | None = None,
) -> dict[str, Any]:
    # Answered before the resolver parses (and validates) a body it should never read.
    refused = refuse_body(event, settings().max_body_bytes)
    if refused is not None:
        return refused
    # The resolver clears its context after each event: these ports are this invocation's.
    ports = Ports(
        store=store, queue=queue, log=log, workflow=workflow, resolver=resolver, delayed_sends=delayed_sends
    )
    app.append_context(ports=ports, schedules=schedules)  # type: ignore[no-untyped-call]
    return app.resolve(event, context)
