"""The whole of CloudQueue on one machine: ``cloudqueue dev``.

HTTP gateway ─► ApiFunction ─┐
                             │ (each function in its own environment processes,
         LocalPipe pollers   │  reaching AWS through the local AWS endpoint)
         (StreamPipe: the table's stream ─► EventsFunction ─► moto EventBridge ─► rules)
              │              ▼
              │     AWS endpoint (moto server) ─► moto DynamoDB, SQS, Logs, ...
              │                                         ▲
              │ (receive, run the Express state machine, delete: in-process)
              ▼
      moto's ASL interpreter ─► Lambda Invoke ─► LambdaRuntime ─► environments
              │
      execution history ─► moto CloudWatch Logs (the state machine's log group)
      functions' output ─► moto CloudWatch Logs (/aws/lambda/<FunctionName>, function_logs)

The stack's own plumbing (provisioning, the Pipe, the state machine) uses moto's backends
in-process; the functions, the AWS CLI and boto3 use the same backends over HTTP.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.core.config import DefaultConfig

from cloudqueue_local.devtools.reload import CodeReloader
from cloudqueue_local.devtools.state import Loaded, StateDir
from cloudqueue_local.devtools.state.secrets import secret_values
from cloudqueue_local.emulator.apigateway import HttpGateway, ServerThread
from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.logs import FunctionLogs
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.endpoint import AwsEndpoint
from cloudqueue_local.emulator.faults import Chaos
from cloudqueue_local.emulator.oidc import DEFAULT_SCOPES, KEY_FILE, LOCAL_CLIENT_ID, LocalIssuer
from cloudqueue_local.emulator.patches.direct_sqs import DirectSqs
from cloudqueue_local.emulator.patches.install import MotoPatches
from cloudqueue_local.emulator.pipes import LocalPipe
from cloudqueue_local.emulator.provision import provision, provision_secrets
from cloudqueue_local.emulator.queue_trigger import LocalQueueTrigger
from cloudqueue_local.emulator.scheduler import LocalSchedule
from cloudqueue_local.emulator.scheduler_service import LocalSchedulerService
from cloudqueue_local.emulator.stepfunctions import LocalStepFunctions
from cloudqueue_local.emulator.stream_pipe import StreamPipe
from cloudqueue_local.project import PROJECT_ROOT
from cloudqueue_local.template import ACCOUNT_ID, REGION, LocalTemplate, load_local_template

logger = logging.getLogger("cloudqueue.local")

MOTO_CONFIG: DefaultConfig = {
    "lambda": {"use_docker": False},
    "stepfunctions": {"execute_state_machine": True},
    "core": {"reset_boto3_session": True, "service_whitelist": None},
}

_one_stack = threading.Lock()


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 3000  # 0 picks a free port
    aws_port: int | None = 4566  # the AWS endpoint's port; None or 0: a free one
    root: Path = PROJECT_ROOT
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    pollers: int = 4
    serve_frontend: bool = True
    schedules: bool = True
    faults: str | None = None  # chaos: "lambda=0.05,dynamodb=0.02,sqs=0.02" (see chaos.py)
    worker_cpus: frozenset[int] | None = None  # CPU affinity of the function environments
    fault_seed: int | None = None  # the chaos generator's seed, for repeatable runs
    prewarm: bool = True  # one environment per function started ahead (lambda_runtime.prewarm)
    state_dir: Path | None = None  # keep the table, queues and logs there across restarts (devtools/state)
    watch: bool = False  # reload the functions' code when it changes (reload.py)
    issuer_port: int = 0  # AuthMode=jwt without a JwtIssuer: the local issuer's port (0: a free one)


class LocalStack:
    """Start, use, stop. One per process: moto's backends are process-wide."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.issuer: LocalIssuer | None = None
        self.template: LocalTemplate = self._load_template()
        self.region = REGION
        self.account = ACCOUNT_ID
        self.chaos = Chaos.from_spec(self.options.faults, self.options.fault_seed)
        self.function_logs = FunctionLogs(account=self.account, region=self.region)
        self.runtime = LambdaRuntime(
            self.template,
            RuntimeSettings(
                root=self.options.root,
                region=self.region,
                cpus=self.options.worker_cpus,
                logs=self.function_logs,
            ),
            chaos=self.chaos,
        )
        self.stepfunctions = LocalStepFunctions(account=self.account, region=self.region)
        self.patches = MotoPatches(self.runtime)
        self.state: StateDir | None = None
        if self.options.state_dir is not None:
            self.state = StateDir(
                self.options.state_dir,
                self.template,
                account=self.account,
                region=self.region,
                dynamodb_lock=self.patches.dynamodb.lock,
                dynamodb_writes=lambda: self.patches.dynamodb.writes,
            )
        self.pipes: list[LocalPipe] = []
        self.stream_pipes: list[StreamPipe] = []  # the table's stream → the event bus
        self.triggers: list[LocalQueueTrigger] = []
        self.schedules: list[LocalSchedule] = []
        # The Scheduler schedules the code makes (delayed jobs, recurring schedules), fired here.
        self.scheduler: LocalSchedulerService | None = None
        self.resources: dict[str, Any] = {}
        self.secrets: dict[str, str] = {}  # generated secrets' values, by logical id
        self.reloader: CodeReloader | None = None
        self._mock: Any = None
        self._http: ServerThread | None = None
        self._aws: AwsEndpoint | None = None
        self._saved_env: dict[str, str | None] = {}
        self._owns_lock = False
        self.started = False

    def _load_template(self) -> LocalTemplate:
        """The template with the stack's parameters. AuthMode=jwt with no JwtIssuer of the
        user's: the local issuer is made (its port bound, so its URL is known) and named as
        JwtIssuer, its client id as JwtAudience, before the template is read again with them."""
        path = self.options.root / "template.yaml"
        overrides = self.options.parameter_overrides
        template = load_local_template(path, overrides)
        if template.parameters.get("AuthMode") != "jwt" or overrides.get("JwtIssuer"):
            return template
        state_dir = self.options.state_dir
        self.issuer = LocalIssuer(
            self.options.host,
            self.options.issuer_port,
            key_file=state_dir / KEY_FILE if state_dir is not None else None,
        )
        audience = overrides.get("JwtAudience") or LOCAL_CLIENT_ID
        # The local issuer stands in for the Cognito user pool CreateUserPool would make.
        local = {"JwtIssuer": self.issuer.url, "JwtAudience": audience, "CreateUserPool": "false"}
        return load_local_template(path, overrides | local)

    # --- addresses ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self._http is not None
        return f"http://{self.options.host}:{self._http.port}"

    @property
    def aws_url(self) -> str:
        assert self._aws is not None
        return self._aws.url

    def frontend_config(self) -> dict[str, Any]:
        config = {"apiUrl": self.api_url, "environment": "local", "region": self.region}
        return config | {"auth": self.auth_config()}

    def auth_config(self) -> dict[str, Any]:
        """How the page signs in: config.json's ``auth`` (the shared contract of issue 18)."""
        mode = self.template.parameters.get("AuthMode", "none")
        if mode != "jwt":
            return {"mode": mode}
        parameters = self.template.parameters
        return {
            "mode": "jwt",
            "issuer": parameters["JwtIssuer"],
            "clientId": self.issuer.client_id if self.issuer is not None else parameters["JwtAudience"],
            "scopes": list(DEFAULT_SCOPES),  # what the page asks for; the sign-in may grant less
        }

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> LocalStack:
        if not _one_stack.acquire(blocking=False):
            raise RuntimeError("a local stack is already running in this process")
        self._owns_lock = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def state_loaded(self) -> Loaded | None:
        """What ``--state-dir`` restored at the start (None: no flag, or a new directory)."""
        return self.state.loaded if self.state is not None else None

    def _start(self) -> None:
        if self.state is not None:
            self.state.check()  # refuse a directory it cannot use before anything starts
        # For the stack's own boto3 clients, which moto answers in-process. The functions'
        # variables are their environments' own (environment.py), never set here.
        environment = {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
        }
        for key in [*environment, "AWS_ENDPOINT_URL", "AWS_PROFILE"]:
            self._saved_env[key] = os.environ.get(key)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(environment)

        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self.patches.install()
        self.resources = provision(self.template, region=self.region)
        self.secrets = secret_values(self.template, self.options.state_dir)
        provision_secrets(self.template, self.secrets, region=self.region)
        if self.state is not None:
            self.state.restore()  # before anything can reach the backends: nothing polls yet
        self.function_logs.start()

        if self.issuer is not None:
            self.issuer.start()
        self._aws = AwsEndpoint(self.options.host, self.options.aws_port or 0, self.chaos)
        self._aws.start()
        self.runtime.use_endpoint(self._aws.url)

        sqs = DirectSqs(self.account, self.region)
        for pipe in self.template.pipes.values():
            queue = self.template.queue_by_arn(pipe.source_arn)
            self.pipes.append(
                LocalPipe(
                    pipe, queue, self.stepfunctions, sqs, region=self.region, pollers=self.options.pollers
                )
            )
        self.stream_pipes = [
            StreamPipe(spec, self.runtime, account=self.account, region=self.region)
            for spec in self.template.stream_pipes.values()
        ]
        for trigger in self.template.queue_triggers:
            queue = self.template.queue_by_arn(trigger.queue_arn)
            self.triggers.append(LocalQueueTrigger(trigger, queue, self.runtime, sqs, region=self.region))
        if self.options.schedules:
            self.schedules = [
                LocalSchedule(spec, self.runtime, region=self.region, account=self.account)
                for spec in self.template.schedules
            ]
        if self.template.schedule_groups:
            self.scheduler = LocalSchedulerService(
                self.template,
                self.runtime,
                scheduler=boto3.client("scheduler", region_name=self.region),
                sqs=boto3.client("sqs", region_name=self.region),
            )

        gateway = HttpGateway(
            self.template,
            self.runtime,
            frontend_dir=self.options.root / "frontend" if self.options.serve_frontend else None,
            config=self.frontend_config,
        )
        self.gateway = gateway
        self._http = ServerThread(gateway, self.options.host, self.options.port)
        self._http.start()
        if self.options.watch:
            self.reloader = CodeReloader(self.runtime, self.options.root, prewarm=self.options.prewarm)
            self.reloader.start()
        for loop in self.loops:
            loop.start()
        if self.state is not None:
            self.state.start()
        if self.options.prewarm:
            self.runtime.prewarm()
        self.started = True

    def stop(self, drain_seconds: float = 10.0) -> bool:
        """Stop taking work, let executions in flight finish, and shut down. True if all ended in time."""
        for loop in self.loops:
            loop.signal_stop()  # all stop taking work at once, then each drains
        drained = True
        for loop in self.loops:
            drained = loop.stop(drain_seconds) and drained
        if self.reloader is not None:
            self.reloader.stop()
            self.reloader = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
        if self.issuer is not None:
            self.issuer.stop()
        self.runtime.close()
        self.function_logs.close()  # the last lines, while moto's backends are still there
        if self.state is not None:
            self.state.close()  # the last snapshot: nothing runs any more, and moto still has it all
        self.patches.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.started = False
        if self._owns_lock:
            self._owns_lock = False
            _one_stack.release()
        return drained

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- handy for tests and the CLI -------------------------------------------------------

    @property
    def loops(self) -> list[Any]:
        return [
            *self.pipes,
            *self.stream_pipes,
            *self.triggers,
            *self.schedules,
            *([self.scheduler] if self.scheduler else []),
        ]

    def pause(self) -> None:
        """Stop polling and scheduling (work in hand finishes): the caller drives deliveries."""
        for loop in self.loops:
            loop.pause()

    def resume(self) -> None:
        for loop in self.loops:
            loop.resume()

    def queue_url(self, logical_id: str) -> str:
        return str(self.resources["queues"][logical_id])

    def table_name(self) -> str:
        return next(iter(self.template.tables.values())).name
