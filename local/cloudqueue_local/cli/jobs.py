"""``cloudqueue submit | rerun | status | list | history | cancel | types``: the job commands,
each a call of the HTTP API (``client.api``) shown by ``render``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import (
    Admin,
    ApiUrl,
    AsJson,
    CallbackUrl,
    CliError,
    ConcurrencyKey,
    SigV4,
    Token,
    parse_json_argument,
)
from cloudqueue_local.client.api import DEFAULT_API_URL, Api
from cloudqueue_local.client.auth import AuthError, api_auth

JobId = Annotated[str, typer.Argument(metavar="ID")]


def connect(api_url: str, token: str | None, sigv4: bool, *, admin: bool = False) -> Api:
    """The API at ``api_url``, called with a bearer token, signed (SigV4), or neither."""
    try:
        auth = api_auth(api_url, token=token, sigv4=sigv4)
    except AuthError as error:
        raise CliError(str(error), 2) from None
    return Api(api_url, auth=auth, admin=admin)


Timeout = Annotated[float, typer.Option(help="Seconds --wait waits at most.")]


def submit(
    job_type: Annotated[str, typer.Argument(metavar="TYPE", help="A job type (see `cloudqueue types`).")],
    payload: Annotated[
        str, typer.Argument(metavar="PAYLOAD_JSON", help="The payload as JSON, or @file.json.")
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the job to its end; exit 1 if it FAILED.")
    ] = False,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Retry-safe submit key.")
    ] = None,
    delay: Annotated[
        int | None, typer.Option("--delay", help="Run it this many seconds from now (SCHEDULED until then).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Run it at this time: RFC 3339 with an offset, e.g. 2026-12-24T18:00:00+01:00."
        ),
    ] = None,
    key: ConcurrencyKey = None,
    callback_url: CallbackUrl = None,
    timeout: Timeout = 300,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Submit a job; print its id at once. With --delay or --at it starts then, never before."""
    if delay is not None and at is not None:
        raise CliError("give --delay or --at, not both", 2)
    body = parse_json_argument(payload, "PAYLOAD_JSON")
    with connect(api_url, token, sigv4) as api:
        job = api.submit(
            job_type,
            body,
            idempotency_key,
            key,
            callback_url=callback_url,
            delaySeconds=delay,
            runAt=at,
        )
        _answer(api, job, "submitted", wait=wait, timeout=timeout, as_json=as_json)


def rerun(
    job_id: JobId,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the job to its end; exit 1 if it FAILED again.")
    ] = False,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Retry-safe rerun key.")
    ] = None,
    timeout: Timeout = 300,
    admin: Admin = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Rerun a FAILED job under the same id; the failed run stays in the job's runs."""
    with connect(api_url, token, sigv4, admin=admin) as api:
        job = api.rerun(job_id, idempotency_key)
        _answer(api, job, "rerun", wait=wait, timeout=timeout, as_json=as_json)


def _answer(api: Api, job: dict[str, Any], done: str, *, wait: bool, timeout: float, as_json: bool) -> None:
    """Print the job's id at once, or with ``wait`` follow it to its end (exit 1 unless it SUCCEEDED)."""
    if not wait:
        render.print_json(job) if as_json else render.out.print(job["jobId"])
        return
    render.err.print(f"{done} {job['jobId']}")
    with render.err.status("waiting") as spinner:
        job = api.follow(job["jobId"], timeout, lambda seen: spinner.update(render.show_status_change(seen)))
    render.print_json(job) if as_json else render.show_job(job)
    if job["status"] != "SUCCEEDED":
        raise typer.Exit(1)


def status(
    job_id: JobId,
    admin: Admin = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Show one job."""
    with connect(api_url, token, sigv4, admin=admin) as api:
        job = api.job(job_id)
    render.print_json(job) if as_json else render.show_job(job)


def list_jobs(
    job_status: Annotated[
        str | None, typer.Option("--status", help="QUEUED, IN_PROGRESS, SUCCEEDED, FAILED or CANCELLED.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    next_token: Annotated[str | None, typer.Option("--next-token")] = None,
    every_owner: Annotated[
        bool, typer.Option("--all", help="Every owner's jobs (GET /admin/jobs: admin scope or policy).")
    ] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner's jobs (admin; implies --all).")
    ] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """List your jobs, newest first (--all: every owner's)."""
    with connect(api_url, token, sigv4, admin=every_owner or owner is not None) as api:
        page = api.jobs(job_status, limit, next_token, owner)
    if as_json:
        render.print_json(page)
        return
    render.out.print(render.job_table(page["jobs"]))
    if page.get("nextToken"):
        render.out.print(f"more: --next-token {page['nextToken']}")


def history(
    job_id: JobId,
    admin: Admin = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Show every execution of a job: its steps, retries, errors and timings."""
    with connect(api_url, token, sigv4, admin=admin) as api:
        result = api.history(job_id)
    render.print_json(result) if as_json else render.show_history(result)


def cancel(
    job_id: JobId,
    admin: Admin = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Cancel a job: a QUEUED one at once; a running one is asked to stop and ends CANCELLED."""
    with connect(api_url, token, sigv4, admin=admin) as api:
        job = api.cancel(job_id)
    if as_json:
        render.print_json(job)
        return
    if job["status"] == "IN_PROGRESS":
        render.out.print(
            f"{job['jobId']} is running: cancel requested (202). Its code stops at its next check "
            "and the job ends CANCELLED; its result is discarded."
        )
        return
    render.out.print(f"{job['jobId']} {render.status_text(job['status'])}")


def types(
    api_url: ApiUrl = DEFAULT_API_URL, token: Token = None, sigv4: SigV4 = False, as_json: AsJson = False
) -> None:
    """List the job types and an example payload of each."""
    with connect(api_url, token, sigv4) as api:
        result = api.job_types()
    render.print_json(result) if as_json else render.out.print(render.types_table(result))
