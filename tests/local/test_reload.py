"""Edits take effect without a restart (``reload.py``), as a deploy does on Lambda.

The first tests watch a small function of their own (in a temporary directory) in a runtime
of their own: no stack, so they say exactly which environments were retired. The last ones
run ``cloudqueue dev`` as a user does, in a subprocess (moto's backends allow one stack per
process, and the session's stack is one), on a temporary copy of the project, so that
editing its code never touches the tracked files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudqueue_local.devtools.reload import CodeReloader
from cloudqueue_local.emulator.awslambda.environment import RuntimeSettings
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.template import FunctionSpec, LocalTemplate
from tests.conftest import TEST_PARAMETERS
from tests.local.test_end_to_end import wait_for
from tests.local.test_lambda_runtime import process_exists

ROOT = Path(__file__).resolve().parents[2]

APP = """\
import os
import pathlib
import time

VERSION = {version}


def handler(event, context):
    gate = event.get("waitFor")
    if gate:  # an invocation held in flight until the test opens the gate
        pathlib.Path(gate + ".running").touch()
        while not pathlib.Path(gate).exists():
            time.sleep(0.01)
    return {{"version": VERSION, "pid": os.getpid()}}
"""


@dataclass
class Watched:
    runtime: LambdaRuntime
    reloader: CodeReloader
    code: Path
    template: Path

    def edit(self, source: str) -> None:
        """Write the function's module and wait until the reloader has acted on it."""
        before = self.reloader.reloads
        (self.code / "app.py").write_text(source)
        wait_for(lambda: self.reloader.reloads > before)

    def invoke(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.runtime.invoke("Edited", event or {})
        assert result.function_error is None, result.payload
        return dict(result.json())


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(APP.format(version=1))
    template = tmp_path / "template.yaml"
    template.write_text("Resources: {}\n")
    spec = FunctionSpec(
        logical_id="Edited",
        name="edited",
        arn="arn:aws:lambda:us-east-1:123456789012:function:edited",
        handler="app.handler",
        environment={},
        timeout=30,
        memory=128,
        code_uri="code",
        events={},
    )
    runtime = LambdaRuntime(
        LocalTemplate(path=template, parameters={}, functions={"Edited": spec}),
        RuntimeSettings(root=tmp_path),
    )
    reloader = CodeReloader(runtime, tmp_path)
    reloader.start()
    try:
        assert reloader.watching.wait(30), "the watcher never started"
        yield Watched(runtime, reloader, code, template)
    finally:
        reloader.stop()
        runtime.close()


def test_an_edit_retires_idle_environments_and_the_next_invocation_runs_the_new_code(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    before = watched.invoke()
    assert before["version"] == 1

    with caplog.at_level(logging.INFO, logger="cloudqueue.local.reload"):
        watched.edit(APP.format(version=2))
    after = watched.invoke()

    assert not process_exists(before["pid"])  # the idle environment was stopped at the edit
    assert (after["version"], after["pid"] != before["pid"]) == (2, True)
    assert "reloaded Edited (code/app.py changed)" in caplog.messages


def test_with_prewarm_an_edited_function_is_started_again_ahead_of_its_next_invocation(
    watched: Watched,
) -> None:
    watched.reloader.prewarm = True
    function = watched.runtime.functions["Edited"]
    before = watched.invoke()

    watched.edit(APP.format(version=2))
    wait_for(lambda: function.cold_starts == 2 and function.idle == 1)
    after = watched.invoke()

    assert (after["version"], after["pid"] != before["pid"]) == (2, True)
    assert function.cold_starts == 2  # the invocation found the environment started ahead


def test_an_invocation_in_flight_finishes_on_the_old_code_and_its_environment_is_then_discarded(
    watched: Watched, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    function = watched.runtime.functions["Edited"]
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(watched.invoke, {"waitFor": str(gate)})
        wait_for((tmp_path / "gate.running").exists)

        watched.edit(APP.format(version=2))
        gate.touch()
        old = in_flight.result(timeout=30)

    new = watched.invoke()
    assert old["version"] == 1  # it had started on the old code
    assert not process_exists(old["pid"])  # and its environment went away instead of back to the pool
    assert (new["version"], function.environments) == (2, 1)


def test_a_syntax_error_fails_invocations_as_lambda_reports_it_until_the_code_is_fixed(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    watched.invoke()
    broken = APP.format(version=2).replace("def handler(event, context):", "def handler(event, context)")
    line = broken.splitlines().index("def handler(event, context)") + 1

    with caplog.at_level(logging.WARNING, logger="cloudqueue.local"):
        watched.edit(broken)
        failed = watched.runtime.invoke("Edited", {})
    watched.edit(APP.format(version=3))
    fixed = watched.invoke()

    # What Lambda answers when the handler's module cannot be loaded: an init error.
    assert failed.function_error == "Unhandled"
    assert failed.json()["errorType"] == "Runtime.UserCodeSyntaxError"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        f"Edited failed to start: Runtime.UserCodeSyntaxError in code/app.py line {line}: "
        + failed.json()["errorMessage"]
    ]
    assert fixed["version"] == 3


def test_an_import_error_fails_as_an_import_module_error_naming_the_import(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    watched.invoke()
    (watched.code / "helper.py").write_text('"""A module the handler imports."""\n\nimport no_such_module\n')

    with caplog.at_level(logging.WARNING, logger="cloudqueue.local"):
        watched.edit(APP.format(version=2).replace("import time\n", "import time\n\nimport helper\n"))
        failed = watched.runtime.invoke("Edited", {})

    assert failed.function_error == "Unhandled"
    assert failed.json()["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'no_such_module'" in failed.json()["errorMessage"]
    assert any(
        "Runtime.ImportModuleError in code/helper.py line 3: " in message for message in caplog.messages
    )


def test_a_template_change_asks_for_a_restart_and_retires_nothing(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    before = watched.invoke()

    with caplog.at_level(logging.INFO, logger="cloudqueue.local.reload"):
        watched.template.write_text("Resources: {}\nOutputs: {}\n")
        wait_for(lambda: "template.yaml changed: restart cloudqueue dev to apply it" in caplog.messages)
    after = watched.invoke()

    assert after["pid"] == before["pid"]  # the same warm environment
    assert watched.reloader.reloads == 0


def test_files_python_writes_itself_reload_nothing(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    cache = watched.code / "__pycache__"
    cache.mkdir(exist_ok=True)

    with caplog.at_level(logging.INFO, logger="cloudqueue.local.reload"):
        (cache / "app.cpython-311.pyc").write_bytes(b"\0")
        (watched.code / "stale.pyc").write_bytes(b"\0")
        watched.edit(APP.format(version=2))

    # The compiled files were written first: had they counted, they would have reloaded first.
    assert watched.reloader.reloads == 1
    assert caplog.messages == ["reloaded Edited (code/app.py changed)"]


# --- cloudqueue dev, on a copy of the project ------------------------------------------------


class DevConsole:
    """``cloudqueue dev`` running on a copy of the project, and what it has printed so far."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.lines: list[str] = []
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        environment["CLOUDQUEUE_ROOT"] = str(project)
        params = [arg for name, value in TEST_PARAMETERS.items() for arg in ("--param", f"{name}={value}")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cloudqueue_local.cli", "dev", "--port", "0", "--aws-port", "0", *params],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=project,
            env=environment,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line(lambda line: line.startswith("Ctrl-C to stop"), timeout=120)
        api_line = next(line for line in self.lines if line.strip().startswith("API"))
        self.api = httpx.Client(base_url=api_line.split()[1], timeout=30)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, match: Any, timeout: float = 60, start: int = 0) -> str:
        def found() -> str | None:
            assert self.process.poll() is None, f"cloudqueue dev exited:\n{self.output[-3000:]}"
            return next((line for line in self.lines[start:] if match(line)), None)

        try:
            return str(wait_for(found, timeout))
        except AssertionError as error:
            raise AssertionError(f"{error}\ncloudqueue dev printed:\n{self.output[-3000:]}") from None

    def edit(self, relative: str, source: str) -> None:
        """Write a file of the copy and wait until the console says it reloaded it."""
        start = len(self.lines)
        (self.project / relative).write_text(source)
        self.wait_for_line(lambda line: "reloaded" in line and relative in line, start=start)

    def run_job(self, payload_text: str) -> dict[str, Any]:
        submitted = self.api.post("/jobs", json={"type": "text.transform", "payload": {"text": payload_text}})
        assert submitted.status_code == 202, submitted.text
        return self.wait_until_ended(submitted.json()["jobId"])

    def wait_until_ended(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            job = self.api.get(f"/jobs/{job_id}").json()
            return job if job["status"] in ("SUCCEEDED", "FAILED") else None

        return dict(wait_for(ended, timeout=timeout))

    def wait_for_execution(self, job_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
        """The job's first execution that ended with ``status``, from its history."""

        def ended() -> dict[str, Any] | None:
            history = self.api.get(f"/jobs/{job_id}/history").json()
            return next((run for run in history["executions"] if run["status"] == status), None)

        return dict(wait_for(ended, timeout=timeout))

    def stop(self) -> None:
        self.api.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevConsole]:
    project = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "template.yaml", project / "template.yaml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for directory in ("functions", "statemachine", "frontend"):
        shutil.copytree(ROOT / directory, project / directory, ignore=ignore)
    console = DevConsole(project)
    try:
        yield console
    finally:
        console.stop()


def watching(dev: DevConsole) -> None:
    """Wait until the watcher sees edits: touch a file of the copy's code until it is reloaded."""
    start = len(dev.lines)

    def reloaded() -> bool:
        (dev.project / "functions" / "watch-probe.txt").write_text(str(time.monotonic()))
        return any("watch-probe.txt changed" in line for line in dev.lines[start:])

    wait_for(reloaded, timeout=60, interval=0.5)


@pytest.mark.timeout(600)
def test_dev_runs_the_next_job_on_an_edited_job_type(dev: DevConsole) -> None:
    watching(dev)
    module = "functions/cloudqueue/jobtypes/text_transform.py"
    source = (dev.project / module).read_text()
    before = dev.run_job("hello")

    dev.edit(
        module,
        source.replace('"uppercase": payload.text.upper(),', '"uppercase": payload.text.upper() + "!",'),
    )
    after = dev.run_job("hello")

    assert (before["status"], before["result"]["uppercase"]) == ("SUCCEEDED", "HELLO")
    assert (after["status"], after["result"]["uppercase"]) == ("SUCCEEDED", "HELLO!")
    reloaded = next(line for line in dev.lines if module in line)
    assert re.search(r"reloaded ApiFunction, ClaimFunction, .*ProcessFunction", reloaded), reloaded


# A job whose process step failed to start comes back after the visibility timeout (past its
# lease): the test waits that long, with as much again for a busy machine.
REDELIVERED_WITHIN_S = 2 * int(TEST_PARAMETERS["VisibilityTimeoutSeconds"])


@pytest.mark.timeout(REDELIVERED_WITHIN_S + 300)
def test_dev_survives_a_syntax_error_in_a_handler_and_runs_jobs_again_once_it_is_fixed(
    dev: DevConsole,
) -> None:
    watching(dev)
    module = "functions/cloudqueue/handlers/process.py"
    source = (dev.project / module).read_text()
    broken = source + "\n\ndef unfinished(:\n"
    line = len(broken.splitlines())

    dev.edit(module, broken)
    submitted = dev.api.post("/jobs", json={"type": "text.transform", "payload": {"text": "while broken"}})
    assert submitted.status_code == 202, submitted.text
    during = submitted.json()["jobId"]
    failed_execution = dev.wait_for_execution(during, "FAILED")
    held = dev.api.get(f"/jobs/{during}").json()
    serving = dev.api.get("/job-types")
    dev.edit(module, source)
    after = dev.run_job("once fixed")
    recovered = dev.wait_until_ended(during, timeout=REDELIVERED_WITHIN_S)

    # The process step fails as Lambda fails an init error, named with its file and line.
    warning = dev.wait_for_line(lambda text: "ProcessFunction failed to start" in text)
    assert f"Runtime.UserCodeSyntaxError in {module} line {line}:" in warning
    # Code that cannot start is not the job's fault: the execution fails, the job keeps its
    # lease and is not FAILED, and its message comes back after the visibility timeout.
    assert failed_execution["error"]["error"] == "WorkerUnavailable", failed_execution
    process = next(step for step in failed_execution["steps"] if step["name"] == "ProcessJob")
    assert {failure["error"] for failure in process["failures"]} == {"Runtime.UserCodeSyntaxError"}
    assert held["status"] == "IN_PROGRESS", held
    # The stack kept serving; the fixed code runs the next job, and the held one once it is back.
    assert serving.status_code == 200
    assert after["status"] == "SUCCEEDED", after
    assert (recovered["status"], recovered["attempts"]) == ("SUCCEEDED", 2), recovered
    assert recovered["result"]["uppercase"].startswith("WHILE BROKEN")  # an earlier test adds "!"
