"""``cloudqueue logs``: a function's log group read with ``client.logs``, like ``sam logs``."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import AwsUrl, StackName, fail

if TYPE_CHECKING:
    from cloudqueue_local.client.logs import Line


def logs(
    logical_id: Annotated[str, typer.Argument(metavar="LOGICAL_ID", help="A function of template.yaml.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing new lines; Ctrl-C ends.")
    ] = False,
    job_id: Annotated[
        str | None,
        typer.Option("--job-id", help="Only the invocations (START..REPORT) that logged this job."),
    ] = None,
    since: Annotated[str, typer.Option(help="How far back: 30s, 10m, 2h, 1d.")] = "10m",
    aws_url: AwsUrl = None,
    stack_name: StackName = None,
) -> None:
    """A function's logs from /aws/lambda/<FunctionName>, like `sam logs`."""
    # Imported here: it names log groups as the local Lambda runtime does, which no other
    # command needs to load.
    from cloudqueue_local.client import logs as function_logs

    try:
        since_seconds = function_logs.parse_since(since)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--since") from None
    try:
        source = function_logs.source(logical_id, aws_url, stack_name)
        if not follow:
            for line in function_logs.read(source, since_seconds=since_seconds, job_id=job_id):
                _show(line)
            return
        render.err.print(f"following {source.group} (Ctrl-C to stop)", highlight=False, markup=False)
        # Ctrl-C or SIGTERM ends it, even when started from a shell that ignores SIGINT for
        # background jobs (Python then leaves SIGINT ignored), as `dev` does with its own handler.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.default_int_handler)
        function_logs.follow(source, since_seconds=since_seconds, job_id=job_id, show=_show)
    except function_logs.LogsError as error:
        fail(str(error), error.code)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends --follow: not an error


def _show(line: Line) -> None:
    typer.echo(line.render())  # as written, not through rich: a REPORT line's tabs stay
