"""``cloudqueue``: run CloudQueue locally and talk to it, or to a deployed stack.

Every command that talks to the API takes ``--api-url`` (env ``CLOUDQUEUE_API_URL``,
default the local stack). Commands that talk to AWS services directly take ``--aws-url``
(env ``CLOUDQUEUE_AWS_URL``, default the local stack's AWS endpoint) or ``--stack-name``
for a deployed stack with your AWS credentials.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cloudqueue_local.client import aws as aws_access
from cloudqueue_local.client import hints
from cloudqueue_local.project import project_root
from cloudqueue_local.template import TemplateError, load_local_template

app = typer.Typer(
    help="CloudQueue: serverless job processing. Run it locally (`cloudqueue dev`) and use it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(
    help="Dead letters and poison messages: what the workflow gave up on.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")

# Tables keep whole ids when the output is a pipe or a file, not only on a wide terminal.
_WIDTH = None if sys.stdout.isatty() else 200
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH)

DEFAULT_API_URL = "http://127.0.0.1:3000"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar="CLOUDQUEUE_API_URL", help="Base URL of the CloudQueue API.")
]
AwsUrl = Annotated[
    str | None,
    typer.Option(
        "--aws-url",
        envvar="CLOUDQUEUE_AWS_URL",
        help="AWS endpoint (the local stack's: http://127.0.0.1:4566). Omit with --stack-name for AWS.",
    ),
]
StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name", envvar="CLOUDQUEUE_STACK_NAME", help="A deployed stack (uses your AWS credentials)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print raw JSON instead of tables.")]


class CliError(Exception):
    """Said to the user in one line, with a non-zero exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 1) -> NoReturn:
    raise CliError(message, code)


# --- talking to the API -----------------------------------------------------------------


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            if isinstance(error, httpx.ConnectError):
                fail(hints.unreachable("the API", self.base_url), 2)
            fail(f"the API at {self.base_url} did not answer ({error})", 2)
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "unexpected_response", "message": response.text[:300]}}
        if response.status_code >= 400:
            problem = body.get("error") if isinstance(body, dict) else None
            if isinstance(problem, dict):
                fail(f"{response.status_code} {problem.get('code')}: {problem.get('message')}")
            fail(f"{response.status_code}: {json.dumps(body)[:300]}")
        return body


def print_json(value: Any) -> None:
    out.print_json(json.dumps(value))


def job_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False)
    for column in ("jobId", "type", "status", "attempts", "createdAt", "finishedAt"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            job["jobId"],
            job["type"],
            _status(job["status"]),
            str(job["attempts"]),
            job["createdAt"],
            job.get("finishedAt") or "",
        )
    return table


def _status(status: str) -> str:
    colour = {"SUCCEEDED": "green", "FAILED": "red", "IN_PROGRESS": "cyan", "CANCELLED": "yellow"}.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def show_job(job: dict[str, Any]) -> None:
    out.print(
        f"[bold]{job['jobId']}[/bold]  {job['type']}  {_status(job['status'])}  attempts {job['attempts']}"
    )
    for field in ("createdAt", "startedAt", "finishedAt"):
        if job.get(field):
            out.print(f"  {field:<10} {job[field]}")
    if job.get("result") is not None:
        out.print("  result")
        print_json(job["result"])
    if job.get("error"):
        out.print(f"  [red]error {job['error']['type']}: {job['error']['message']}[/red]")
    for run in job.get("runs") or []:
        attempts = (
            f"attempts {run['firstAttempt']}-{run['lastAttempt']}"
            if run.get("firstAttempt")
            else "no attempt"
        )
        failure = (
            f": {escape(run['error']['type'])}: {escape(run['error']['message'])}" if run.get("error") else ""
        )
        out.print(f"  run {run['run']}  {_status(run['status'])}  {attempts}{failure}", highlight=False)


def parse_json_argument(raw: str, what: str) -> Any:
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_file():
            raise typer.BadParameter(f"no file {path}", param_hint=what)
        text = path.read_text()
    try:
        return json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"not valid JSON: {error}", param_hint=what) from None


# --- commands: the local stack ----------------------------------------------------------


@app.command()
def dev(  # noqa: PLR0915 - one option per line, each a few statements
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
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Override a template parameter: Name=Value (repeatable)."),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Chaos: fail that fraction of the functions' calls as AWS fails them, "
            "e.g. lambda=0.05,dynamodb=0.02,sqs=0.02.",
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
    from cloudqueue_local.devtools.console import JobEvents
    from cloudqueue_local.devtools.reload import print_to
    from cloudqueue_local.devtools.stack import LocalStack, StackOptions
    from cloudqueue_local.devtools.state import StateError, console_line
    from cloudqueue_local.emulator.faults import parse_fault_rates

    if faults is not None:
        try:
            parse_fault_rates(faults)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--faults") from None
    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("cloudqueue.local").setLevel(logging.INFO)

    overrides = _overrides(param)
    root = project_root()
    try:  # refuse a parameter set that breaks the timing order before anything starts
        load_local_template(root / "template.yaml", overrides)
    except TemplateError as error:
        fail(f"template.yaml: {error}", 2)
    started = time.perf_counter()
    try:
        stack = LocalStack(
            StackOptions(
                host=host,
                port=port,
                aws_port=aws_port,
                root=root,
                pollers=pollers,
                parameter_overrides=overrides,
                faults=faults,
                fault_seed=fault_seed,
                state_dir=state_dir,
                watch=watch,
            )
        )
        print_to(out)
        events = JobEvents(lambda line: out.print(line, markup=False, highlight=False))
        stack.runtime.observers.append(events.observe)
        stack.start()
    except TemplateError as error:
        fail(f"template.yaml: {error}", 2)
    except StateError as error:
        fail(f"--state-dir: {error}", 2)
    except OSError as error:
        fail(f"cannot listen on {host}:{port} or {aws_port}: {error.strerror or error}", 2)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    out.print(f"CloudQueue local stack ready in {time.perf_counter() - started:.1f}s")
    out.print(f"  UI   {stack.api_url}/")
    out.print(f"  API  {stack.api_url}")
    out.print(f"  AWS  {stack.aws_url}")
    out.print(f"       {hints.aws_cli_command(stack.aws_url)}", highlight=False, markup=False)
    if faults:
        out.print(f"  [yellow]chaos: {faults}[/yellow] of the functions' calls fail")
    if state_dir is not None:
        out.print(console_line(state_dir, stack.state_loaded), highlight=False, markup=False)
    out.print("Ctrl-C to stop.")
    while not stop.wait(0.5):
        pass
    out.print("stopping: no new work; letting executions in flight finish...")

    def ended() -> tuple[int, int]:
        return (
            sum(pipe.executions_succeeded for pipe in stack.pipes),
            sum(pipe.executions_failed for pipe in stack.pipes),
        )

    ended_before = ended()
    drained = stack.stop(drain_seconds=10)
    succeeded, failed = (now - before for now, before in zip(ended(), ended_before, strict=True))
    out.print(f"in flight when stopping: {succeeded} execution(s) succeeded, {failed} failed")
    out.print("stopped" if drained else "stopped (some executions were still running)")
    if faults:
        injected = ", ".join(f"{name} {count}" for name, count in sorted(stack.chaos.injected.items()))
        out.print(f"faults injected: {injected or 'none'}")


# --- commands: jobs ---------------------------------------------------------------------


@app.command()
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
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 300,
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """Submit a job; print its id at once."""
    body = {"type": job_type, "payload": parse_json_argument(payload, "PAYLOAD_JSON")}
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    api = Api(api_url)
    job = api.call("POST", "/jobs", json=body, headers=headers)
    answer(api, job, "submitted", wait=wait, timeout=timeout, as_json=as_json)


def answer(api: Api, job: dict[str, Any], done: str, *, wait: bool, timeout: float, as_json: bool) -> None:
    """Print the job's id at once, or with ``wait`` follow it to its end (exit 1 unless it SUCCEEDED)."""
    if not wait:
        print_json(job) if as_json else out.print(job["jobId"])
        return
    err.print(f"{done} {job['jobId']}")
    job = follow(api, job["jobId"], timeout)
    print_json(job) if as_json else show_job(job)
    if job["status"] != "SUCCEEDED":
        raise typer.Exit(1)


@app.command()
def rerun(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the job to its end; exit 1 if it FAILED again.")
    ] = False,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Retry-safe rerun key.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 300,
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """Rerun a FAILED job under the same id; the failed run stays in the job's runs."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    api = Api(api_url)
    job = api.call("POST", f"/jobs/{job_id}/rerun", headers=headers)
    answer(api, job, "rerun", wait=wait, timeout=timeout, as_json=as_json)


def follow(api: Api, job_id: str, timeout: float) -> dict[str, Any]:
    """Poll with backoff until the job is finished, showing each status change."""
    deadline = time.monotonic() + timeout
    delay, last = 0.05, None
    with err.status("waiting") as status:
        while True:
            job: dict[str, Any] = api.call("GET", f"/jobs/{job_id}")
            if job["status"] != last:
                last = job["status"]
                err.print(f"  {time.strftime('%H:%M:%S')} {last} (attempts {job['attempts']})")
                status.update(f"{last}...")
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                fail(f"job {job_id} is still {job['status']} after {timeout:.0f}s", 3)
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """Show one job."""
    job = Api(api_url).call("GET", f"/jobs/{job_id}")
    print_json(job) if as_json else show_job(job)


@app.command("list")
def list_jobs(
    job_status: Annotated[
        str | None, typer.Option("--status", help="QUEUED, IN_PROGRESS, SUCCEEDED, FAILED or CANCELLED.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    next_token: Annotated[str | None, typer.Option("--next-token")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """List jobs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if job_status:
        params["status"] = job_status.upper()
    if next_token:
        params["nextToken"] = next_token
    page = Api(api_url).call("GET", "/jobs", params=params)
    if as_json:
        print_json(page)
        return
    out.print(job_table(page["jobs"]))
    if page.get("nextToken"):
        out.print(f"more: --next-token {page['nextToken']}")


@app.command()
def history(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """Show every execution of a job: its steps, retries, errors and timings."""
    result = Api(api_url).call("GET", f"/jobs/{job_id}/history")
    if as_json:
        print_json(result)
        return
    out.print(
        f"[bold]{result['jobId']}[/bold] {_status(result['status'])}: "
        f"{len(result['executions'])} execution(s)"
    )
    for execution in result["executions"]:
        out.print(step_table(execution))


def step_table(execution: dict[str, Any]) -> Table:
    table = Table(
        title=f"{execution['name']}  {execution['status']}  {execution.get('durationMs') or '?'} ms"
    )
    for column in ("step", "type", "status", "attempts", "ms", "errors"):
        table.add_column(column)
    for step in execution["steps"]:
        errors = "; ".join(f"{f['error']}: {f['message']}" for f in step["failures"])
        table.add_row(
            step["name"],
            step["type"],
            _status(step["status"]),
            str(step["attempts"] or ""),
            "" if step["durationMs"] is None else str(step["durationMs"]),
            errors,
        )
    return table


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    api_url: ApiUrl = DEFAULT_API_URL,
    as_json: AsJson = False,
) -> None:
    """Cancel a job that is still QUEUED."""
    job = Api(api_url).call("DELETE", f"/jobs/{job_id}")
    print_json(job) if as_json else out.print(f"{job['jobId']} {_status(job['status'])}")


@app.command()
def types(api_url: ApiUrl = DEFAULT_API_URL, as_json: AsJson = False) -> None:
    """List the job types and an example payload of each."""
    result = Api(api_url).call("GET", "/job-types")
    if as_json:
        print_json(result)
        return
    table = Table()
    for column in ("type", "description", "example payload"):
        table.add_column(column)
    for job_type in result["jobTypes"]:
        table.add_row(job_type["name"], job_type["description"], json.dumps(job_type["example"]))
    out.print(table)


# --- commands: AWS-level tools ----------------------------------------------------------


@dlq_app.command("list")
def dlq_list(aws_url: AwsUrl = None, stack_name: StackName = None, as_json: AsJson = False) -> None:
    """Show the dead letters and the poison messages (names no job), without consuming them."""
    from cloudqueue_local.client import dead_letters

    messages = dead_letters.list_messages(dead_letters.queues(aws_url, stack_name))
    if as_json:
        print_json(messages)
        return
    table = Table(title=f"{len(messages)} message(s) kept")
    for column in ("queue", "messageId", "receives", "first bytes", "reason"):
        table.add_column(column)
    for message in messages:
        table.add_row(
            message["queue"],
            message["messageId"],
            str(message["receiveCount"]),
            message["firstBytes"],
            message["reason"],
        )
    out.print(table)


@dlq_app.command("delete")
def dlq_delete(
    message_id: Annotated[str, typer.Argument(metavar="ID", help="A messageId from `cloudqueue dlq list`.")],
    aws_url: AwsUrl = None,
    stack_name: StackName = None,
) -> None:
    """Delete one kept message (a dead letter or a poison message)."""
    from cloudqueue_local.client import dead_letters

    queue = dead_letters.delete_message(dead_letters.queues(aws_url, stack_name), message_id)
    if queue is None:
        fail(f"no message {message_id} in the dead-letter or poison-message queue")
    out.print(f"deleted {message_id} from the {queue} queue")


@dlq_app.command("purge")
def dlq_purge(aws_url: AwsUrl = None, stack_name: StackName = None) -> None:
    """Delete every poison message (those that name no job); jobs' dead letters stay."""
    from cloudqueue_local.client import dead_letters

    deleted = dead_letters.purge_poison(dead_letters.queues(aws_url, stack_name))
    out.print(f"deleted {deleted} poison message(s)")


@dlq_app.command("redrive")
def dlq_redrive(aws_url: AwsUrl = None, stack_name: StackName = None) -> None:
    """Move every dead-lettered message back to the job queue, to be run again."""
    target = aws_access.target(aws_url, stack_name)
    moved = aws_access.redrive_dead_letters(target)
    out.print(f"moved {moved} message(s) back to {target.job_queue_url}")


@app.command()
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
    from cloudqueue_local.client import logs as logs_command

    try:
        since_seconds = logs_command.parse_since(since)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--since") from None
    try:
        source = logs_command.source(logical_id, aws_url, stack_name)
        if not follow:
            for line in logs_command.read(source, since_seconds=since_seconds, job_id=job_id):
                typer.echo(line.render())  # as written, not through rich: a REPORT line's tabs stay
            return
        err.print(f"following {source.group} (Ctrl-C to stop)", highlight=False, markup=False)
        # Ctrl-C or SIGTERM ends it, even when started from a shell that ignores SIGINT for
        # background jobs (Python then leaves SIGINT ignored), as `dev` does with its own handler.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.default_int_handler)
        show = lambda line: typer.echo(line.render())  # noqa: E731
        logs_command.follow(source, since_seconds=since_seconds, job_id=job_id, show=show)
    except logs_command.LogsError as error:
        fail(str(error), error.code)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends --follow: not an error


@app.command()
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
    if (event is None) == (job_id is None):
        raise typer.BadParameter("give exactly one of --event FILE or --job-id ID")
    if from_output and job_id is None:
        raise typer.BadParameter("--from-output goes with --job-id", param_hint="--from-output")
    if stack_name is None or aws_url is not None:
        endpoint = aws_url or aws_access.DEFAULT_AWS_URL
        if not hints.is_listening(endpoint):
            fail(hints.unreachable("the AWS endpoint", endpoint), 2)
    if event is not None:
        if not event.is_file():
            raise typer.BadParameter(f"no file {event}", param_hint="--event")
        payload = parse_json_argument(f"@{event}", "--event")
    else:
        payload = step_event(logical_id, str(job_id), from_output or [], aws_url, stack_name)
    result = aws_access.invoke_locally(logical_id, payload, aws_url=aws_url, stack_name=stack_name)
    # As `sam local invoke`: the function's answer on stdout, an error too (so that it can feed
    # the next step's --from-output, as the state machine's Catch would), logs on stderr.
    answer = json.loads(result.payload.decode()) if result.function_error else result.json()
    print_json(answer)
    no_such_job = isinstance(answer, dict) and str(answer.get("reason", "")).startswith("no such job")
    if no_such_job and event is not None:  # the claim skipped a job that is not in the table
        err.print("the event names a job that is not in the table: `--job-id ID` builds it from a real job")
    if result.function_error:
        error = json.loads(result.payload.decode())
        err.print(
            f"[red]{logical_id} failed:[/red] {escape(str(error.get('errorType')))}: "
            f"{escape(str(error.get('errorMessage')))}",
            highlight=False,
        )
        # JobNotYetWritten: the name the claim gives a missing job under the recovery design.
        if error.get("errorType") in ("JobNotFound", "JobNotYetWritten") and event is not None:
            err.print(
                "the event names a job that is not in the table: `--job-id ID` builds it from a real job"
            )
        raise typer.Exit(1)


def step_event(
    logical_id: str, job_id: str, outputs: list[str], aws_url: str | None, stack_name: str | None
) -> dict[str, Any]:
    """The event the state machine would give ``logical_id`` for the job (see step_events)."""
    from cloudqueue_local.client import step_events

    answers = [
        parse_json_argument(sys.stdin.read() if source == "-" else f"@{source}", "--from-output")
        for source in outputs
    ]
    workflow = step_events.Workflow.read(
        project_root() / "statemachine" / "jobs.asl.json",
        aws_access.target(aws_url, stack_name).state_machine_arn,
    )
    try:
        return step_events.build_event(workflow, logical_id, aws_access.pipe_input_for(job_id), answers)
    except step_events.StepEventError as error:
        fail(str(error), 2)


@app.command()
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
        if not input_file.is_file():
            raise typer.BadParameter(f"no file {input_file}", param_hint="--input")
        execution_input = parse_json_argument(f"@{input_file}", "--input")
    else:
        execution_input = aws_access.pipe_input_for(str(job_id))
    result = aws_access.execute_once(execution_input, aws_url=aws_url, timeout=timeout)
    if as_json:
        print_json(result)
    else:
        table = Table(title=f"{result['executionArn']}  {result['status']}")
        for column in ("id", "event", "state", "+ms", "detail"):
            table.add_column(column)
        for row in result["events"]:
            table.add_row(
                str(row["id"]), row["type"], row.get("state") or "", str(row["elapsedMs"]), row["detail"]
            )
        out.print(table)
        if result.get("error"):
            out.print(f"[red]{result['error']}: {result.get('cause') or ''}[/red]")
    if result["status"] != "SUCCEEDED":
        raise typer.Exit(1)


@app.command()
def bench(
    scenario: Annotated[
        str,
        typer.Option(
            help="Scenarios, comma separated: backlog, latency, burst, mixed, imports, history "
            "(default: all but history)."
        ),
    ] = "backlog,latency,burst,mixed,imports",
    backlogs: Annotated[
        str, typer.Option(help="Backlog sizes for the throughput runs, comma separated.")
    ] = "1000",
    latency_jobs: Annotated[int, typer.Option(min=1, help="Jobs for the idle latency run.")] = 100,
    submits: Annotated[int, typer.Option(min=1, help="Requests for the POST /jobs burst.")] = 1000,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients (burst and mixed).")] = 32,
    jobs: Annotated[int, typer.Option(min=1, help="Jobs in the mixed scenario.")] = 2000,
    duplicates: Annotated[
        int, typer.Option(min=0, help="Duplicate messages injected in the mixed scenario.")
    ] = 200,
    deadline: Annotated[
        float, typer.Option(min=1, help="Seconds the mixed scenario may take to submit and end its jobs.")
    ] = 1800,
    history_executions: Annotated[
        int, typer.Option(min=1, help="Executions in the history scenario's log group.")
    ] = 100_000,
    pollers: Annotated[int, typer.Option(min=1, max=64, help="Pipe pollers.")] = 4,
    faults: Annotated[
        str | None, typer.Option(help="Inject faults, e.g. lambda=0.05,dynamodb=0.02,sqs=0.02 (as `dev`).")
    ] = None,
    worker_cpus: Annotated[
        str | None, typer.Option(help="CPUs the function environments may use, e.g. 0 or 0,1.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Override a template parameter: Name=Value (repeatable)."),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            help="Interpreter for the imports scenario (default: this one), e.g. a python3.12 venv with "
            "functions/requirements.txt and functions/ on PYTHONPATH."
        ),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the figures to this file.")] = None,
) -> None:
    """Measure this machine; exit 1 if the mixed scenario finds a job lost, run twice or wrong."""
    from cloudqueue_local.bench import runner as benchmark

    chosen = tuple(name.strip() for name in scenario.split(",") if name.strip())
    unknown = [name for name in chosen if name not in benchmark.SCENARIOS]
    if unknown or not chosen:
        raise typer.BadParameter(
            f"unknown scenario {', '.join(unknown) or scenario!r}; "
            f"choose from {', '.join(benchmark.SCENARIOS)}",
            param_hint="--scenario",
        )
    if python is not None:
        if "imports" not in chosen:
            raise typer.BadParameter("applies to the imports scenario only", param_hint="--python")
        problem = benchmark.interpreter_problem(python)
        if problem is not None:
            raise typer.BadParameter(problem, param_hint="--python")
    sizes = _numbers(backlogs, "--backlogs")
    cpus = frozenset(_numbers(worker_cpus, "--worker-cpus")) if worker_cpus is not None else None
    report = benchmark.main(
        scenarios=chosen,
        backlogs=sizes,
        latency_jobs=latency_jobs,
        submits=submits,
        clients=clients,
        options=benchmark.BenchOptions(
            pollers=pollers, faults=faults, worker_cpus=cpus, parameter_overrides=_overrides(param)
        ),
        mixed=benchmark.MixedOptions(
            jobs=jobs, clients=clients, duplicates=duplicates, deadline_seconds=deadline
        ),
        history_executions=history_executions,
        python=python,
        json_path=json_file,
        console=out,
    )
    if report.get("mixed", {}).get("failures"):
        raise typer.Exit(1)


def _overrides(param: list[str] | None) -> dict[str, str]:
    """``--param Name=Value`` options as template parameter overrides."""
    overrides: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not Name=Value", param_hint="--param")
        overrides[name] = value
    return overrides


def _numbers(text: str, hint: str) -> list[int]:
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of numbers", param_hint=hint
        ) from None


@app.command()
def cost(
    jobs_per_month: Annotated[float, typer.Option(min=1, help="Jobs a month.")] = 1_000_000,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="ExecutionLogLevel to price (ALL, ERROR, FATAL, OFF); default: ERROR and ALL side by side."
        ),
    ] = None,
    duration: Annotated[
        list[str] | None,
        typer.Option(
            help="A function's mean duration on AWS, Name=ms (repeatable); "
            "default: bench-results.json, then estimates."
        ),
    ] = None,
    reads_per_job: Annotated[float, typer.Option(min=0, help="GET /jobs/{id} requests per job.")] = 1.0,
    payload_chars: Annotated[int, typer.Option(min=1, help="Characters of a job's text payload.")] = 16,
    as_json: AsJson = False,
    as_markdown: Annotated[
        bool,
        typer.Option(
            "--markdown", help="Print docs/cost.md's figures as Markdown (with ten times the jobs beside)."
        ),
    ] = False,
) -> None:
    """The monthly AWS bill of the stack in template.yaml, line by line, and its capacity."""
    from cloudqueue_local.ops import cost as pricing

    levels = ("ALL", "ERROR", "FATAL", "OFF")
    if log_level is not None and log_level.upper() not in levels:
        raise typer.BadParameter(f"{log_level!r} is not one of {', '.join(levels)}", param_hint="--log-level")
    given: dict[str, float] = {}
    for entry in duration or []:
        name, _, value = entry.partition("=")
        try:
            given[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{entry!r} is not Name=milliseconds", param_hint="--duration") from None
    root = project_root()
    try:
        durations = pricing.durations_from(root, given)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--duration") from None
    usage = pricing.Usage(
        jobs_per_month=jobs_per_month,
        reads_per_job=reads_per_job,
        payload_chars=payload_chars,
        durations_ms=durations,
    )
    chosen = (log_level.upper(),) if log_level else ("ERROR", "ALL")
    bills = list(pricing.bills_by_level(root, usage, chosen))
    if as_json:
        print_json(
            bills[0].to_json()
            if len(bills) == 1
            else bills[0].to_json() | {"byLogLevel": {b.log_level: b.to_json() for b in bills}}
        )
        return
    prices = pricing.load_prices(root / "pricing" / "us-east-1.yaml")
    if as_markdown:
        tenfold = replace(usage, jobs_per_month=10 * jobs_per_month)
        print(pricing.markdown(bills, list(pricing.bills_by_level(root, tenfold, chosen)), prices), end="")
        return
    pricing.render(bills, prices, out)


def main() -> None:
    try:
        app()
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        sys.exit(error.code)
    except TemplateError as error:
        err.print(f"[red]error:[/red] template.yaml: {error}")
        sys.exit(2)
    except aws_access.AccessError as error:
        err.print(f"[red]error:[/red] {error}")
        sys.exit(1)
    except EndpointConnectionError as error:
        err.print(
            "[red]error:[/red] "
            + hints.unreachable("the AWS endpoint", str(error.kwargs.get("endpoint_url")))
        )
        sys.exit(2)
    except NoCredentialsError:
        err.print(
            "[red]error:[/red] no AWS credentials: use --aws-url for the local stack, or configure AWS access"
        )
        sys.exit(2)
    except (ClientError, BotoCoreError) as error:
        err.print(f"[red]error:[/red] AWS said: {error}")
        sys.exit(1)
