"""``cloudqueue schedules create | list | get | delete | pause | resume``: your recurring
schedules, each a call of the HTTP API's ``/schedules`` routes through the Python client
(``client.api``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cloudqueue_local.cli import render
from cloudqueue_local.cli.jobs import connect
from cloudqueue_local.cli.options import (
    ApiUrl,
    AsJson,
    CallbackUrl,
    ConcurrencyKey,
    SigV4,
    Token,
    parse_json_argument,
)
from cloudqueue_local.client.api import DEFAULT_API_URL

app = typer.Typer(help="Recurring schedules: each firing submits one job.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name (yours only).")]


def _show(schedule: dict[str, Any], as_json: bool) -> None:
    if as_json:
        render.print_json(schedule)
        return
    table = Table(show_lines=False)
    for column in ("name", "expression", "timezone", "state", "job"):
        table.add_column(column)
    for each in schedule.get("schedules", [schedule]):
        job = each["job"]
        table.add_row(each["name"], each["expression"], each["timezone"], each["state"], job["type"])
    render.out.print(table)


@app.command("create")
def create(
    name: Name,
    expression: Annotated[
        str, typer.Argument(metavar="EXPRESSION", help="rate(5 minutes) or cron(0 2 * * ? *).")
    ],
    job_type: Annotated[str, typer.Argument(metavar="TYPE", help="The job type each firing submits.")],
    payload: Annotated[
        str, typer.Argument(metavar="PAYLOAD_JSON", help="Its payload as JSON, or @file.json.")
    ],
    timezone: Annotated[str, typer.Option("--timezone", help="An IANA time zone for cron().")] = "UTC",
    key: ConcurrencyKey = None,
    callback_url: CallbackUrl = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Create a recurring schedule; each firing submits one job marked with its name."""
    job_payload = parse_json_argument(payload, "PAYLOAD_JSON")
    with connect(api_url, token, sigv4) as api:
        made = api.create_schedule(
            name, expression, job_type, job_payload, timezone, concurrency_key=key, callback_url=callback_url
        )
    _show(made, as_json)


@app.command("list")
def list_schedules(
    api_url: ApiUrl = DEFAULT_API_URL, token: Token = None, sigv4: SigV4 = False, as_json: AsJson = False
) -> None:
    """List your recurring schedules."""
    with connect(api_url, token, sigv4) as api:
        _show(api.schedules(), as_json)


@app.command("get")
def get(
    name: Name,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Show one schedule."""
    with connect(api_url, token, sigv4) as api:
        _show(api.schedule(name), as_json)


@app.command("delete")
def delete(name: Name, api_url: ApiUrl = DEFAULT_API_URL, token: Token = None, sigv4: SigV4 = False) -> None:
    """Delete a schedule (jobs it made stay)."""
    with connect(api_url, token, sigv4) as api:
        api.delete_schedule(name)
    render.out.print(f"deleted schedule {name}")


@app.command("pause")
def pause(
    name: Name,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Pause a schedule: it fires no more until resumed."""
    with connect(api_url, token, sigv4) as api:
        _show(api.pause_schedule(name), as_json)


@app.command("resume")
def resume(
    name: Name,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Resume a paused schedule."""
    with connect(api_url, token, sigv4) as api:
        _show(api.resume_schedule(name), as_json)
