"""``cloudqueue dev``: the local stack's life in a terminal.

It refuses a parameter set that breaks the timing order before anything starts; starts the
stack from template.yaml; shows one console line per job event (``console.JobEvents``) and,
with ``verbose``, the functions' logs; prints where the UI, the API and the AWS endpoint are;
then runs until SIGINT or SIGTERM, and stops as a Pipe stops: no new work, executions in
flight given ``DRAIN_SECONDS`` to end, and a count of how they ended.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from cloudqueue_local.devtools.console import JobEvents
from cloudqueue_local.devtools.reload import print_to
from cloudqueue_local.devtools.stack import LocalStack, StackOptions
from cloudqueue_local.devtools.state import StateError, console_line
from cloudqueue_local.emulator.iam_authorizer import LOCAL_USERS
from cloudqueue_local.project import project_root
from cloudqueue_local.template import REGION, TemplateError, load_local_template

DRAIN_SECONDS = 10.0
# How often the main thread looks up from waiting for a signal (Python runs signal handlers
# in the main thread only, between bytecodes, so it must not block for ever).
_WAKE_SECONDS = 0.5

# The local stack accepts any credentials; the AWS CLI refuses to run without some, and
# without a region. As an inline prefix they work on a machine with no AWS configuration and
# change nothing in the user's shell or ~/.aws.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}


class DevError(Exception):
    """The stack cannot start: said to the user in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DevOptions:
    """What ``cloudqueue dev`` was asked for (its options, parsed)."""

    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 4566
    pollers: int = 4
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    faults: str | None = None
    fault_seed: int | None = None
    verbose: bool = False
    state_dir: Path | None = None
    watch: bool = True
    # AuthMode=jwt: the local issuer's port, fixed so that its URL (the tokens' iss) survives a restart.
    issuer_port: int = 3001


def aws_cli_command(aws_url: str, command: str = "sqs list-queues") -> str:
    """An AWS CLI command line that works against the local stack as printed (the README's)."""
    prefix = " ".join(f"{name}={value}" for name, value in LOCAL_AWS_ENV.items())
    return f"{prefix} aws --endpoint-url {aws_url} {command}"


def run(options: DevOptions, out: Console) -> None:
    """Start the stack, print to ``out`` until SIGINT or SIGTERM, then stop it; a
    :class:`DevError` if it cannot start."""
    if options.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("cloudqueue.local").setLevel(logging.INFO)
    root = project_root()
    try:  # refuse a parameter set that breaks the timing order before anything starts
        load_local_template(root / "template.yaml", options.parameter_overrides)
    except TemplateError as error:
        raise DevError(f"template.yaml: {error}") from None
    started = time.perf_counter()
    stack = _start(options, root, out)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    out.print(f"CloudQueue local stack ready in {time.perf_counter() - started:.1f}s")
    out.print(f"  UI   {stack.api_url}/")
    out.print(f"  API  {stack.api_url}")
    out.print(f"  AWS  {stack.aws_url}")
    out.print(f"       {aws_cli_command(stack.aws_url)}", highlight=False, markup=False)
    for line in auth_lines(stack):
        out.print(line, highlight=False, markup=False)
    if options.faults:
        out.print(f"  [yellow]chaos: {options.faults}[/yellow] of the functions' calls fail")
    if options.state_dir is not None:
        out.print(console_line(options.state_dir, stack.state_loaded), highlight=False, markup=False)
    out.print("Ctrl-C to stop.")
    while not stop.wait(_WAKE_SECONDS):
        pass
    _stop(stack, options, out)


def auth_lines(stack: LocalStack) -> list[str]:
    """What a user needs to call the API in the stack's AuthMode: the issuer and a token
    command (jwt), or the local users' access keys (iam)."""
    mode = stack.template.parameters.get("AuthMode", "none")
    if mode == "jwt":
        return [
            f"  AUTH jwt: issuer {stack.template.parameters['JwtIssuer']}",
            f"       cloudqueue token --url {stack.api_url} --sub alice",
        ]
    if mode == "iam":
        return ["  AUTH iam: SigV4 (execute-api) with a local user's keys:"] + [
            f"       {user.name}: AWS_ACCESS_KEY_ID={user.access_key_id} "
            f"AWS_SECRET_ACCESS_KEY={user.secret_access_key} ({user.arn(stack.account)})"
            for user in LOCAL_USERS
        ]
    return []


def _start(options: DevOptions, root: Path, out: Console) -> LocalStack:
    try:
        stack = LocalStack(
            StackOptions(
                host=options.host,
                port=options.port,
                aws_port=options.aws_port,
                root=root,
                pollers=options.pollers,
                parameter_overrides=options.parameter_overrides,
                faults=options.faults,
                fault_seed=options.fault_seed,
                state_dir=options.state_dir,
                watch=options.watch,
                issuer_port=options.issuer_port,
            )
        )
        print_to(out)
        events = JobEvents(lambda line: out.print(line, markup=False, highlight=False))
        stack.runtime.observers.append(events.observe)
        stack.start()
    except TemplateError as error:
        raise DevError(f"template.yaml: {error}") from None
    except StateError as error:
        raise DevError(f"--state-dir: {error}") from None
    except OSError as error:
        ports = f"{options.host}:{options.port} or {options.aws_port}"
        raise DevError(f"cannot listen on {ports}: {error.strerror or error}") from None
    return stack


def _ended(stack: LocalStack) -> tuple[int, int]:
    """Executions the stack's Pipes saw succeed and fail, so far."""
    return (
        sum(pipe.executions_succeeded for pipe in stack.pipes),
        sum(pipe.executions_failed for pipe in stack.pipes),
    )


def _stop(stack: LocalStack, options: DevOptions, out: Console) -> None:
    out.print("stopping: no new work; letting executions in flight finish...")
    ended_before = _ended(stack)
    drained = stack.stop(drain_seconds=DRAIN_SECONDS)
    succeeded, failed = (now - before for now, before in zip(_ended(stack), ended_before, strict=True))
    out.print(f"in flight when stopping: {succeeded} execution(s) succeeded, {failed} failed")
    out.print("stopped" if drained else "stopped (some executions were still running)")
    if options.faults:
        injected = ", ".join(f"{name} {count}" for name, count in sorted(stack.chaos.injected.items()))
        out.print(f"faults injected: {injected or 'none'}")
