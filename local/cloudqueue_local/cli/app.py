"""``cloudqueue``: run CloudQueue locally and talk to it, or to a deployed stack.

Every command that talks to the API takes ``--api-url`` (env ``CLOUDQUEUE_API_URL``,
default the local stack). Commands that talk to AWS services directly take ``--aws-url``
(env ``CLOUDQUEUE_AWS_URL``, default the local stack's AWS endpoint) or ``--stack-name``
for a deployed stack with your AWS credentials.

This module is the table of contents: the Typer app, its commands in the order ``--help``
lists them (one module per group), and ``main``, which says each room's errors in one line
with their exit status. The commands parse options and call a room that does the work.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from cloudqueue_local.cli import auth, batch, dev, dlq, functions, jobs, logs, schedules, tools
from cloudqueue_local.cli.options import CliError
from cloudqueue_local.cli.render import err
from cloudqueue_local.client import hints
from cloudqueue_local.client.api import ApiError
from cloudqueue_local.client.aws import AccessError
from cloudqueue_local.template import TemplateError

app = typer.Typer(
    help="CloudQueue: serverless job processing. Run it locally (`cloudqueue dev`) and use it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dlq.app, name="dlq")
app.add_typer(schedules.app, name="schedules")
app.command()(dev.dev)
app.command()(jobs.submit)
app.command("submit-batch")(batch.submit_batch)
app.command()(jobs.rerun)
app.command()(jobs.status)
app.command("list")(jobs.list_jobs)
app.command()(jobs.history)
app.command()(jobs.cancel)
app.command()(jobs.types)
app.command()(logs.logs)
app.command()(functions.invoke)
app.command()(functions.execute)
app.command()(tools.bench)
app.command()(tools.cost)
app.command()(auth.token)
app.command("webhook-secret")(dlq.webhook_secret)


def main() -> None:
    """The ``cloudqueue`` console script."""
    try:
        app()
    except (CliError, ApiError, AccessError) as error:
        _exit(str(error), error.code)
    except TemplateError as error:
        _exit(f"template.yaml: {error}", 2)
    except EndpointConnectionError as error:
        _exit(hints.unreachable("the AWS endpoint", str(error.kwargs.get("endpoint_url"))), 2)
    except NoCredentialsError:
        _exit("no AWS credentials: use --aws-url for the local stack, or configure AWS access", 2)
    except (ClientError, BotoCoreError) as error:
        _exit(f"AWS said: {error}", 1)


def _exit(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    sys.exit(code)
