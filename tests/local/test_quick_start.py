"""The README's tour and the CLI page's walk-through, run as printed: parsed out of README.md and
docs/cli.md, so that the suite fails when the docs and the code drift apart.

The only change made to a printed command is the ports: the tests' stacks listen on free
ports, so ``:3000`` and ``:4566`` are replaced by theirs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloudqueue_local.devtools.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLI_PAGE = ROOT / "docs" / "cli.md"


def shell_block_after(page: Path, marker: str) -> list[str]:
    """The command lines of the first ```sh block after ``marker`` in ``page``."""
    text = page.read_text()
    start = text.index(marker)
    block = re.search(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert block is not None, f"no ```sh block after {marker!r} in {page.name}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def on_ports(command: str, api_url: str, aws_url: str) -> str:
    command = re.sub(r"(https?://)?(localhost|127\.0\.0\.1):3000", api_url, command)
    return re.sub(r"(https?://)?(localhost|127\.0\.0\.1):4566", aws_url, command)


def aws_cli() -> str:
    for candidate in (ROOT / ".venv-sam" / "bin" / "aws", shutil.which("aws")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("the AWS CLI is missing: `make sam-venv` installs it into .venv-sam")


def run(command: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, cwd=cwd, timeout=180, check=False
    )


QUICK_START = shell_block_after(README, "## A 30-second tour")
FLAKY_TOUR = shell_block_after(README, "Watch a job fail, retry and succeed")
CONTROLS_TOUR = shell_block_after(README, "## Time, control, and telling the world")


def quick_start_line(program: str) -> str:
    [line] = [line for line in QUICK_START if re.search(rf"(^|\s|/){program}\s", line)]
    return line


def test_the_readme_curl_submits_a_job_as_printed(local_stack: LocalStack) -> None:
    command = on_ports(quick_start_line("curl"), local_stack.api_url, str(local_stack.aws_url))

    result = run(command, {"PATH": os.environ["PATH"]})

    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["status"] == "QUEUED" and job["payload"] == {"text": "hello cloudqueue"}


def test_the_readme_aws_cli_command_works_with_no_aws_configuration(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    command = on_ports(quick_start_line("aws"), local_stack.api_url, str(local_stack.aws_url))
    command = re.sub(r"(^|\s)aws\s", rf"\1{aws_cli()} ", command, count=1)
    # No AWS_* variables, and a HOME with no ~/.aws: a machine that never met AWS.
    empty_home = tmp_path / "home"
    empty_home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(empty_home)}

    result = run(command, env)

    assert result.returncode == 0, result.stderr
    queues = json.loads(result.stdout)["QueueUrls"]
    assert local_stack.queue_url("JobQueue").rsplit("/", 1)[1] in [url.rsplit("/", 1)[1] for url in queues]


def test_the_readme_submit_waits_for_the_result_as_printed(local_stack: LocalStack) -> None:
    command = quick_start_line("cloudqueue")
    env = dict(os.environ) | {"CLOUDQUEUE_API_URL": local_stack.api_url}

    result = run(command, env)

    assert result.returncode == 0, result.stderr
    assert "SUCCEEDED" in result.stdout and "HELLO CLOUDQUEUE" in result.stdout


def test_cloudqueue_dev_prints_the_readme_aws_cli_line() -> None:
    from cloudqueue_local.devtools.dev import aws_cli_command

    assert aws_cli_command("http://127.0.0.1:4566") == quick_start_line("aws")


def test_the_readme_tour_shows_a_flaky_job_retried_in_its_history(
    local_stack: LocalStack, api: httpx.Client
) -> None:
    submit, status, history = FLAKY_TOUR
    env = dict(os.environ) | {"CLOUDQUEUE_API_URL": local_stack.api_url, "COLUMNS": "250"}

    # When the tour's submit and status lines run as printed
    submitted = run(f'{submit}\n{status}\necho "JOB=$JOB"', env)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().splitlines()[-1].removeprefix("JOB=")
    deadline = time.monotonic() + 120
    while api.get(f"/jobs/{job_id}").json()["status"] in ("QUEUED", "IN_PROGRESS"):
        assert time.monotonic() < deadline, f"job {job_id} did not end"
        time.sleep(0.2)

    # Then its history line shows the process step's transient failures and the success
    shown = run(history, env | {"JOB": job_id})
    assert shown.returncode == 0, shown.stderr
    assert "ProcessJob" in shown.stdout and "SUCCEEDED" in shown.stdout
    assert shown.stdout.count("TransientJobError") == 2, shown.stdout


def test_the_readme_controls_tour_runs_as_printed(tmp_path: Path) -> None:
    # Given the stack `make dev` starts (the template's defaults: demo.sleep may sleep 15 s)
    with dev_stack(".venv/bin/cloudqueue dev --no-watch", tmp_path / "dev.txt") as urls:
        api = httpx.Client(base_url=urls["API"], timeout=30)
        tour_on(api, urls["API"])


def tour_on(api: httpx.Client, api_url: str) -> None:
    # When the controls tour runs as printed, as one script that stops at the first failure
    env = dict(os.environ) | {"CLOUDQUEUE_API_URL": api_url, "COLUMNS": "250"}
    toured = run("set -e\n" + "\n".join(CONTROLS_TOUR) + '\necho "RUN=$RUN"', env)
    lines = toured.stdout.strip().splitlines()
    try:
        # Then every line succeeded: a delayed job, a keyed one cancelled while it runs, a
        # schedule, and a batch of three
        assert toured.returncode == 0, toured.stdout + toured.stderr
        delayed = api.get(f"/jobs/{lines[0].strip()}").json()
        assert (delayed["status"], delayed["runAt"] is not None) == ("SCHEDULED", True)
        running = lines[-1].removeprefix("RUN=")
        deadline = time.monotonic() + 60
        while (job := api.get(f"/jobs/{running}").json())["status"] != "CANCELLED":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["concurrencyKey"] == "tenant-7"
        assert api.get("/schedules/nightly").json()["expression"] == "cron(0 2 * * ? *)"
        assert len([line for line in lines if line.endswith(" 201")]) == 3
    finally:
        api.delete("/schedules/nightly")
        if lines:
            api.delete(f"/jobs/{lines[0].strip()}")  # the delayed one: it need not run


# --- the walk-through: one job stepped through claim, process and finalize by hand ----------

WALK = shell_block_after(CLI_PAGE, "## Step one job through the workflow by hand")


@contextlib.contextmanager
def dev_stack(command: str, output: Path) -> Iterator[dict[str, str]]:
    """`cloudqueue dev` started by ``command`` (on free ports): its API and AWS URLs, until exit."""
    with output.open("w") as sink:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command} --port 0 --aws-port 0"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C" not in output.read_text():
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-2000:]
            time.sleep(0.2)
        urls = dict(re.findall(r"^\s+(API|AWS)\s+(http://\S+)", output.read_text(), re.MULTILINE))
        assert {"API", "AWS"} <= set(urls), output.read_text()
        yield urls
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def pipeless_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`cloudqueue dev` as the walk-through's first line starts it (on free ports)."""
    [dev] = [line for line in WALK if " dev " in line]
    with dev_stack(dev.split("#")[0].strip(), tmp_path_factory.mktemp("dev") / "output.txt") as urls:
        yield urls


def test_the_cli_page_walk_through_steps_one_job_to_succeeded_by_hand(
    pipeless_stack: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    script = "\n".join(["set -euo pipefail", *[line for line in WALK if " dev " not in line]])
    env = dict(os.environ) | {
        "CLOUDQUEUE_API_URL": pipeless_stack["API"],
        "CLOUDQUEUE_AWS_URL": pipeless_stack["AWS"],
        "CLOUDQUEUE_ROOT": str(ROOT),
    }
    env.pop("AWS_ENDPOINT_URL", None)

    result = run(script, env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    claim = json.loads((tmp_path / "claim.json").read_text())
    assert claim["outcome"] == "CLAIMED" and claim["attempt"] == 1
    assert json.loads((tmp_path / "process.json").read_text())["uppercase"] == "BY HAND"
    assert "SUCCEEDED" in result.stdout  # the last line: `cloudqueue status "$JOB"`


def test_a_failed_process_step_fed_to_finalize_records_the_failure(
    pipeless_stack: dict[str, str], tmp_path: Path
) -> None:
    cli = [sys.executable, "-m", "cloudqueue_local.cli"]
    env = dict(os.environ) | {
        "CLOUDQUEUE_API_URL": pipeless_stack["API"],
        "CLOUDQUEUE_AWS_URL": pipeless_stack["AWS"],
    }
    env.pop("AWS_ENDPOINT_URL", None)

    def cloudqueue(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args],
            check=False,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=180,
        )

    job = cloudqueue("submit", "demo.fail", '{"reason": "by hand"}').stdout.strip()
    claim = cloudqueue("invoke", "ClaimFunction", "--job-id", job)
    process = cloudqueue(
        "invoke", "ProcessFunction", "--job-id", job, "--from-output", "-", stdin=claim.stdout
    )
    (tmp_path / "claim.json").write_text(claim.stdout)
    (tmp_path / "process.json").write_text(process.stdout)
    finalize = cloudqueue(
        "invoke",
        "FinalizeFunction",
        "--job-id",
        job,
        "--from-output",
        str(tmp_path / "claim.json"),
        "--from-output",
        str(tmp_path / "process.json"),
    )

    assert process.returncode == 1 and json.loads(process.stdout)["errorType"] == "PermanentJobError"
    assert finalize.returncode == 0, finalize.stderr[-2000:]
    assert json.loads(finalize.stdout)["status"] == "FAILED"
    status = json.loads(cloudqueue("status", job, "--json").stdout)
    assert status["error"] == {"type": "PermanentJobError", "message": "by hand"}
