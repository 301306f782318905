"""One Lambda execution environment: a process running AWS's runtime interface client.

Each environment is ``python -m awslambdaric <handler>`` (the runtime interface client that
AWS's own Python base images run), started in the function's code directory with the
variables Lambda sets, the function's own variables from the template, and an AWS endpoint.
It shares no module state with any other environment, as on Lambda: Powertools' resolver,
metrics and logger keep the current invocation in module state, which is safe exactly
because a process runs one invocation at a time.

Its runtime talks to a Runtime API endpoint of its own (``runtime_api``). What its process
prints (the function's logs) goes to the logger ``cloudqueue.local.functions.<LogicalId>``,
with the platform's ``START`` / ``END`` / ``REPORT`` lines, as CloudWatch Logs gets them, and,
when the runtime has a ``FunctionLogs``, to the environment's log stream in
``/aws/lambda/<FunctionName>`` (``function_logs``). The platform's lines are written only once
the process's output so far has been read (``_drain``), so that each lands after what the
function printed before it, as on Lambda.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO

from cloudqueue_local.emulator.awslambda.init_failure import InitFailure
from cloudqueue_local.emulator.awslambda.invocation import EXIT_ERROR
from cloudqueue_local.emulator.awslambda.logs import FunctionLogs, LogStream
from cloudqueue_local.emulator.awslambda.platform_logs import PlatformLog, Report
from cloudqueue_local.emulator.awslambda.runtime_api import (
    ERROR_TYPE_HEADER,
    INIT_ERROR,
    EnvironmentGone,
    RuntimeApiEndpoint,
    RuntimeRequest,
)
from cloudqueue_local.template import REGION, FunctionSpec

# Every environment's access key starts so: the AWS endpoint tells functions' calls by it.
ACCESS_KEY_PREFIX = "LOCALENV"

# How long a platform line waits at most for the process's output before it to be read.
DRAIN_SECONDS = 0.5

# Lambda gives a function's initialisation 10 s; past that it retries it within the
# invocation, against the function's timeout.
INIT_SECONDS = 10.0

# Variables of this machine that the AWS SDK needs to reach AWS itself with your
# credentials (``cloudqueue invoke --stack-name``); never passed to local environments.
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
)


@dataclass(frozen=True)
class RuntimeSettings:
    """What every environment of one runtime shares."""

    root: Path  # the project: each function's CodeUri is relative to it
    endpoint_url: str | None = None  # the local AWS endpoint; None: AWS, with your credentials
    region: str = REGION
    cpus: frozenset[int] | None = None  # CPU affinity of the environments' processes
    logs: FunctionLogs | None = None  # where the functions' log groups are written; None: nowhere


@dataclass(frozen=True)
class Answer:
    """What the runtime posted for one invocation."""

    payload: bytes
    error_type: str | None  # None: a result; else the runtime's Lambda-Runtime-Function-Error-Type


class ExecutionEnvironment:
    """One process, one invocation at a time; created cold, reused warm, killed when past its timeout."""

    def __init__(self, spec: FunctionSpec, settings: RuntimeSettings) -> None:
        self.spec = spec
        self.access_key = f"{ACCESS_KEY_PREFIX}{secrets.token_hex(6).upper()}"
        self.log = logging.getLogger(f"cloudqueue.local.functions.{spec.logical_id}")
        self.endpoint = RuntimeApiEndpoint()
        self.init_duration_ms: float | None = None
        self._reported = False  # the first REPORT line carries the init duration
        self._next: RuntimeRequest | None = None  # the runtime's pending GET /next
        self._started = time.perf_counter()
        self.log_stream = LogStream.for_function(spec.name)
        self.platform = PlatformLog(spec.logging)  # the platform's lines, as LoggingConfig asks
        self._logs = settings.logs
        self._output_read = threading.Condition()
        self._reading = False  # the reader holds bytes taken from the pipe and not yet logged
        self._output_fd = -1
        task_root = (settings.root / spec.code_uri).resolve()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed module
                [sys.executable, "-m", "awslambdaric", spec.handler],
                cwd=task_root,
                env=self.variables(settings, task_root),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches the stack, which stops these
            )
        except BaseException:
            self.endpoint.close()
            raise
        if settings.cpus:
            # Set before the interpreter starts any thread: every thread inherits it.
            os.sched_setaffinity(self.process.pid, settings.cpus)
        self.endpoint.watch(self.process.pid)
        assert self.process.stdout is not None
        self._output_fd = self.process.stdout.fileno()
        self._output = threading.Thread(
            target=self._forward_output,
            args=(self.process.stdout,),
            name=f"logs-{spec.logical_id}-{self.process.pid}",
            daemon=True,
        )
        self._output.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def variables(self, settings: RuntimeSettings, task_root: Path) -> dict[str, str]:
        """The environment variables of this environment's process, as Lambda sets them."""
        spec = self.spec
        variables = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_stream.group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream.name,
            "AWS_LAMBDA_RUNTIME_API": self.endpoint.address,
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            # No X-Ray daemon here: Powertools' Tracer would try to send to one.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        if settings.endpoint_url is not None:
            variables |= {
                "AWS_ENDPOINT_URL": settings.endpoint_url,
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
            }
        else:
            variables |= {key: os.environ[key] for key in _CREDENTIAL_VARIABLES if key in os.environ}
        return variables | self.platform.environment() | spec.environment

    # --- the runtime's side -------------------------------------------------------------

    def initialise(self, deadline: float) -> InitFailure | None:
        """Wait until the runtime asks for its first invocation (None), or fails to start.

        Raises ``TimeoutError`` and ``EnvironmentGone`` as ``RuntimeApiEndpoint.receive``.
        """
        while True:
            request = self.endpoint.receive(deadline)
            if request.is_next:
                self._next = request
                self.init_duration_ms = (time.perf_counter() - self._started) * 1000
                return None
            if request.method == "POST" and request.path == INIT_ERROR:
                self.endpoint.accepted(request)
                error_type = request.headers.get(ERROR_TYPE_HEADER) or "Runtime.Unknown"
                return InitFailure(request.body, error_type)
            self.endpoint.refuse(request, HTTPStatus.NOT_FOUND, "NotFound", "not served here")

    def ready(self, deadline: float) -> None:
        """Take the runtime's request for its next invocation (sent after its last answer)."""
        while self._next is None:
            request = self.endpoint.receive(deadline)
            if request.is_next:
                self._next = request
            else:
                self.endpoint.refuse(request, HTTPStatus.FORBIDDEN, "InvalidStateTransition", "no invocation")

    def invoke(self, request_id: str, payload: bytes, deadline: float, *, crash: bool = False) -> Answer:
        """Hand the runtime one invocation; its answer, or ``TimeoutError`` at ``deadline``.

        ``crash`` (chaos, or a test's fault): the process is killed as the event is handed to it,
        so this raises ``EnvironmentGone`` as for any sandbox that dies mid-invocation."""
        self.ready(deadline)
        assert self._next is not None
        next_request, self._next = self._next, None
        remaining = max(0.0, deadline - time.monotonic())
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + remaining) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": self.spec.arn,
            "Lambda-Runtime-Trace-Id": _trace_id(),
        }
        if crash:
            # Stopped first, so that its answer can never come back before it dies, however
            # the machine schedules this thread: the event reaches a process that then dies.
            self.process.send_signal(signal.SIGSTOP)
        self.endpoint.answer(next_request, HTTPStatus.OK, payload, headers)
        if crash:
            self.process.kill()
        while True:
            request = self.endpoint.receive(deadline)
            posted = request.invocation_result()
            if posted is None:
                self.endpoint.refuse(
                    request, HTTPStatus.FORBIDDEN, "InvalidStateTransition", "invoke pending"
                )
                continue
            posted_id, kind = posted
            if posted_id != request_id:
                self.endpoint.refuse(
                    request, HTTPStatus.BAD_REQUEST, "InvalidRequestID", "unknown request id"
                )
                continue
            self.endpoint.accepted(request)
            if kind == "response":
                return Answer(request.body, None)
            return Answer(request.body, request.headers.get(ERROR_TYPE_HEADER) or "Unhandled")

    # --- the platform's side ------------------------------------------------------------

    def exit_reason(self) -> str:
        """How the process ended, as Lambda words it in ``Runtime.ExitError``."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "exit status unknown"
        if code >= 0:
            return f"exit status {code}"
        try:
            name = signal.Signals(-code).name.removeprefix("SIG").lower()
        except ValueError:
            name = str(-code)
        return f"signal: {'killed' if name == 'kill' else name}"

    def kill(self) -> None:
        """Stop the process now (a handler past its timeout is not asked to stop)."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.log.warning("environment %s did not stop after SIGKILL", self.pid)
        self.endpoint.close()
        if self._logs is not None:
            self._logs.forget(self.log_stream)

    def start(self, request_id: str) -> None:
        """Lambda's ``START`` line, before the invocation is handed to the runtime."""
        for line in self.platform.start(request_id):
            self._platform_line(line)

    def crashed(self, request_id: str, reason: str) -> None:
        """The platform's lines for an environment that died mid-invocation, as Lambda logs them."""
        for line in self.platform.crashed(request_id, reason, EXIT_ERROR):
            self._platform_line(line)

    def report(
        self, request_id: str, duration_ms: float, status: str | None = None, error_type: str | None = None
    ) -> None:
        """Lambda's ``END`` and ``REPORT`` lines (``Init Duration`` on an environment's first;
        ``Status`` and ``Error Type`` when the platform ended the invocation)."""
        first, self._reported = not self._reported, True
        if not self.platform.writes_invocation_events or (
            self._logs is None and not self.log.isEnabledFor(logging.INFO)
        ):
            return
        report = Report(
            request_id,
            duration_ms,
            self.spec.memory,
            self.max_memory_mb(),
            self.init_duration_ms if first else None,
            status,
            error_type,
        )
        for line in self.platform.report(report):
            self._platform_line(line)

    def max_memory_mb(self) -> int:
        """The process's peak resident memory so far (VmHWM), as REPORT's Max Memory Used."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    def _line(self, text: str) -> None:
        self.log.info("%s", text)
        if self._logs is not None:
            self._logs.put(self.log_stream, text)

    def _platform_line(self, text: str) -> None:
        self._drain()
        self._line(text)

    def _drain(self) -> None:
        """Wait (briefly) until what the process has printed so far has been logged."""
        deadline = time.monotonic() + DRAIN_SECONDS
        with self._output_read:
            while self._reading or _unread_bytes(self._output_fd) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._output_read.wait(min(remaining, 0.01))

    def _forward_output(self, stream: IO[bytes]) -> None:
        # Reads the pipe itself (not line by line from a buffer), so that ``_drain`` can tell
        # unread output (in the pipe) and output being logged (``_reading``) from none.
        fd = stream.fileno()
        ready = select.poll()
        ready.register(fd, select.POLLIN)
        pending = b""
        while True:
            ready.poll()
            with self._output_read:
                self._reading = True
            chunk = os.read(fd, 65536)
            *lines, pending = (pending + chunk).split(b"\n")
            if not chunk and pending:
                lines, pending = [pending], b""
            for line in lines:
                text = line.decode("utf-8", errors="replace").rstrip("\r")
                if self.platform.keeps(text):  # JSON format: Lambda drops lines below the level
                    self._line(text)
            with self._output_read:
                self._reading = False
                self._output_read.notify_all()
            if not chunk:
                break
        with self._output_read:  # under the lock: ``_drain`` never asks a reused descriptor
            self._output_fd = -1
            stream.close()


def _unread_bytes(fd: int) -> int:
    """Bytes written to the pipe ``fd`` and not read yet (0 once the process's output ended:
    the reader marks its closed pipe -1)."""
    if fd < 0:
        return 0
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
    except (OSError, ValueError):  # closed meanwhile: nothing more will come
        return 0


def _trace_id() -> str:
    epoch = f"{int(time.time()):08x}"
    return f"Root=1-{epoch}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


__all__ = [
    "ACCESS_KEY_PREFIX",
    "INIT_SECONDS",
    "Answer",
    "EnvironmentGone",
    "ExecutionEnvironment",
    "RuntimeSettings",
]
