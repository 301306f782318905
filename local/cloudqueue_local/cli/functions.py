"""``cloudqueue invoke | execute``: one function run here (``devtools.invoke``), or the state
machine run once on the local stack (``client.executions``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import AsJson, AwsUrl, StackName, fail, json_file, parse_json_argument
from cloudqueue_local.client import aws as aws_access
from cloudqueue_local.client import executions
from cloudqueue_local.client.step_events import StepEventError


def invoke(
    logical_id: Annotated[str, typer.Argument(metavar="LOGICAL_ID", help="A function of template.yaml.")],
    event: Annotated[
        Path | None, typer.Option("--event", "-e", help="The event, a JSON file (see events/).")
    ] = None,
    job_id: Annotated[
        str | None,
        typer.Option("--job-id", help="Build the event from this job, as the state machine would."),
    ] = None,
    from_output: Annotated[
        list[str] | None,
        typer.Option(
            "--from-output",
            help="With --job-id: the output of a step before this one (a file, or - for stdin), "
            "in workflow order: the claim's, then the process step's.",
        ),
    ] = None,
    aws_url: AwsUrl = None,
    stack_name: StackName = None,
) -> None:
    """Run one function's handler here, like `sam local invoke` without Docker.

    Its AWS calls go to --aws-url (the local stack by default) or, with --stack-name, to the
    deployed stack with the function's deployed environment and your credentials.
    """
    # Imported here: the local Lambda runtime is for this command only.
    from cloudqueue_local.devtools.invoke import InvokeError, invoke_locally

    if (event is None) == (job_id is None):
        raise typer.BadParameter("give exactly one of --event FILE or --job-id ID")
    if from_output and job_id is None:
        raise typer.BadParameter("--from-output goes with --job-id", param_hint="--from-output")
    endpoint = aws_access.function_endpoint(aws_url, stack_name)
    if event is not None:
        payload = json_file(event, "--event")
    else:
        answers = [
            parse_json_argument(sys.stdin.read() if source == "-" else f"@{source}", "--from-output")
            for source in from_output or []
        ]
        try:
            payload = executions.step_event(logical_id, str(job_id), answers, aws_url, stack_name)
        except StepEventError as error:
            fail(str(error), 2)
    try:
        result = invoke_locally(logical_id, payload, endpoint_url=endpoint, stack_name=stack_name)
    except InvokeError as error:
        fail(str(error))
    failed = bool(result.function_error)
    render.show_invocation(logical_id, result.json(), failed=failed, from_event=event is not None)
    if failed:
        raise typer.Exit(1)


def execute(
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="The execution input, a JSON file (a Pipe's array of records)."),
    ] = None,
    job_id: Annotated[
        str | None, typer.Option("--job-id", help="Build the Pipe's input for this job.")
    ] = None,
    aws_url: AwsUrl = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the execution.")] = 300,
    as_json: AsJson = False,
) -> None:
    """Run the job state machine once on the local stack and print its history."""
    if (input_file is None) == (job_id is None):
        raise typer.BadParameter("give exactly one of --input FILE or --job-id ID")
    if input_file is not None:
        execution_input = json_file(input_file, "--input")
    else:
        execution_input = executions.pipe_input_for(str(job_id))
    result = executions.execute_once(execution_input, aws_url=aws_url, timeout=timeout)
    render.print_json(result) if as_json else render.show_execution(result)
    if result["status"] != "SUCCEEDED":
        raise typer.Exit(1)
