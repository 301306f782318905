"""``cloudqueue dev``: its options, then ``devtools.dev.run``, which runs the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import Params, fail, options_on, parameter_overrides


def dev(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and the UI (0: any free port).")] = 3000,
    aws_port: Annotated[
        int, typer.Option("--aws-port", help="Port of the AWS endpoint (0: any free).")
    ] = 4566,
    pollers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Concurrent Pipe pollers (0: no Pipe; step jobs by hand with `invoke --job-id`).",
        ),
    ] = 4,
    param: Params = None,
    events: Annotated[
        bool,
        typer.Option(
            "--events/--no-events",
            help="Job events on the event bus (the template's JobEvents=on); off by default, as deployed.",
        ),
    ] = False,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="Webhooks: a submit may carry callbackUrl (Webhooks=on); off by default, as deployed.",
        ),
    ] = False,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Chaos: fail that fraction of the functions' calls as AWS fails them, "
            "e.g. lambda=0.05,dynamodb=0.02,sqs=0.02; crash=0.02 kills that fraction of "
            "invocations' environments mid-run.",
        ),
    ] = None,
    fault_seed: Annotated[
        int | None, typer.Option("--fault-seed", help="Seed of the --faults draws (repeatable runs).")
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show the functions' logs, with Lambda's START/END/REPORT lines."
        ),
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Keep jobs, queued messages and logs in this directory across restarts "
            "(snapshots every 2 s and at the stop).",
        ),
    ] = None,
    issuer_port: Annotated[
        int,
        typer.Option("--issuer-port", help="AuthMode=jwt: the local OIDC issuer's port (0: any free one)."),
    ] = 3001,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch/--no-watch", help="Reload a function's code when a file under its CodeUri changes."
        ),
    ] = True,
) -> None:
    """Run the whole of CloudQueue on this machine, from template.yaml. Ctrl-C stops it.

    The console shows one line per job event; the functions' logs are in their log groups
    (`cloudqueue logs`), and here too with --verbose.
    """
    # Imported here: the stack, the emulator and the Lambda runtime are for this command only.
    from cloudqueue_local.devtools import dev as local_stack
    from cloudqueue_local.emulator.faults import parse_fault_rates

    if faults is not None:
        try:
            parse_fault_rates(faults)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--faults") from None
    options = local_stack.DevOptions(
        host=host,
        port=port,
        aws_port=aws_port,
        pollers=pollers,
        parameter_overrides=options_on(events=events, webhooks=webhooks) | parameter_overrides(param),
        faults=faults,
        fault_seed=fault_seed,
        verbose=verbose,
        state_dir=state_dir,
        watch=watch,
        issuer_port=issuer_port,
    )
    try:
        local_stack.run(options, render.out)
    except local_stack.DevError as error:
        fail(str(error), error.code)
