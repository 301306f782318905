"""``cloudqueue dev --state-dir``: jobs, their history and queued work survive a restart.

The restarts need stacks of their own (one per process, and the session's stack is already
running): the in-process scenario runs in a fresh interpreter, the others run ``cloudqueue dev``
as a user does. Every wait is for something observable, with a generous deadline.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudqueue_local.devtools import state
from cloudqueue_local.template import load_local_template
from tests.conftest import TEST_PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def wait_for(check: Callable[[], Any], timeout: float = 120, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)
    return value


def status_of(api: httpx.Client, job_id: str) -> str:
    return str(api.get(f"/jobs/{job_id}").json()["status"])


def submit(api: httpx.Client, job_type: str, payload: dict[str, Any]) -> str:
    response = api.post("/jobs", json={"type": job_type, "payload": payload})
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


# --- (1) Ctrl-C and a new start, in process ------------------------------------------------


def _restart_scenario(directory: Path) -> dict[str, Any]:
    """Runs in a fresh interpreter: two stacks, one after the other, on the same directory."""
    import boto3

    from cloudqueue_local.devtools.stack import LocalStack, StackOptions

    def options() -> StackOptions:
        return StackOptions(port=0, aws_port=0, parameter_overrides=TEST_PARAMETERS, state_dir=directory)

    def aws(stack: LocalStack, service: str) -> Any:
        return boto3.client(service, endpoint_url=stack.aws_url, region_name=stack.region)

    seen: dict[str, Any] = {}
    first = LocalStack(options()).start()
    try:
        seen["first_loaded"] = first.state_loaded
        sqs = aws(first, "sqs")
        with httpx.Client(base_url=first.api_url, timeout=30) as api:
            # Given finished jobs, one SUCCEEDED and one FAILED, with their histories,
            finished = [
                submit(api, "text.transform", {"text": "kept across a restart"}),
                submit(api, "demo.fail", {"reason": "kept too"}),
            ]
            wait_for(lambda: all(status_of(api, job) in TERMINAL for job in finished))
            seen["jobs_before"] = {job: api.get(f"/jobs/{job}").json() for job in finished}
            seen["histories_before"] = {job: api.get(f"/jobs/{job}/history").json() for job in finished}

            # and queued ones (the Pipe paused), each received twice (receive count 2), one of
            # them in flight at the stop (its second receive's visibility timeout outlasts it),
            first.pause()
            queued = [submit(api, "text.transform", {"text": f"queued {n}"}) for n in range(3)]
        job_queue = first.queue_url("JobQueue")
        received = sqs.receive_message(QueueUrl=job_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        assert len(received["Messages"]) == 3
        in_flight = sqs.receive_message(QueueUrl=job_queue, MaxNumberOfMessages=1, VisibilityTimeout=4)
        seen["in_flight_job"] = json.loads(in_flight["Messages"][0]["Body"])["jobId"]
        received = sqs.receive_message(QueueUrl=job_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        assert len(received["Messages"]) == 2
        seen["queued"] = queued

        # and a message in the poison-message queue received three times,
        poison_queue = first.queue_url("PoisonMessageQueue")
        sqs.send_message(
            QueueUrl=poison_queue,
            MessageBody='{"not": "a job"}',
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": "unreadable"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            },
        )
        for _ in range(3):
            poison = sqs.receive_message(
                QueueUrl=poison_queue,
                VisibilityTimeout=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )["Messages"][0]
        seen["poison_before"] = poison
    finally:
        # When the stack stops (Ctrl-C does this) and a new one starts on the same directory,
        first.stop(drain_seconds=5)

    second = LocalStack(options()).start()
    try:
        seen["second_loaded"] = second.state_loaded
        poison_queue = second.queue_url("PoisonMessageQueue")
        seen["poison_after"] = aws(second, "sqs").receive_message(
            QueueUrl=poison_queue, VisibilityTimeout=0, AttributeNames=["All"], MessageAttributeNames=["All"]
        )["Messages"][0]
        with httpx.Client(base_url=second.api_url, timeout=30) as api:
            seen["jobs_after"] = {job: api.get(f"/jobs/{job}").json() for job in seen["jobs_before"]}
            seen["histories_after"] = {
                job: api.get(f"/jobs/{job}/history").json() for job in seen["jobs_before"]
            }
            wait_for(lambda: all(status_of(api, job) in TERMINAL for job in seen["queued"]))
            seen["queued_after"] = {job: status_of(api, job) for job in seen["queued"]}
        seen["receive_counts"] = _execution_receive_counts(aws(second, "logs"), second, seen["queued"])
    finally:
        second.stop(drain_seconds=5)
    return seen


def _execution_receive_counts(logs: Any, stack: Any, job_ids: list[str]) -> dict[str, list[str]]:
    """Each job's executions' ``ApproximateReceiveCount``, from their ExecutionStarted records."""
    group = next(iter(stack.template.log_groups.values())).name
    counts: dict[str, list[str]] = {}
    for job_id in job_ids:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern=f'"{job_id}"'
        )
        for page in pages:
            for event in page["events"]:
                record = json.loads(event["message"])
                if record.get("type") != "ExecutionStarted":
                    continue
                records = json.loads(record["details"]["input"])
                if json.loads(records[0]["body"]).get("jobId") == job_id:
                    counts.setdefault(job_id, []).append(records[0]["attributes"]["ApproximateReceiveCount"])
    return counts


def in_a_fresh_interpreter(function: Callable[..., Any], *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


@pytest.mark.timeout(600)
def test_after_a_restart_every_job_its_history_and_the_queued_work_are_there(tmp_path: Path) -> None:
    seen = in_a_fresh_interpreter(_restart_scenario, tmp_path / "state")

    # then the first start found a new directory, the second loaded what the first left:
    assert seen["first_loaded"] is None
    loaded = seen["second_loaded"]
    assert (loaded.jobs, loaded.messages) == (5, 4)  # 2 finished + 3 queued; 3 queued + 1 poison
    # every job and its history as they were,
    assert seen["jobs_after"] == seen["jobs_before"]
    assert {job["status"] for job in seen["jobs_after"].values()} == {"SUCCEEDED", "FAILED"}
    assert seen["histories_after"] == seen["histories_before"]
    assert all(history["executions"] for history in seen["histories_after"].values())
    # the queued work ran, the message in flight included, each message on its own count
    # (received twice before the stop, so the Pipe's receive was its third),
    assert set(seen["queued_after"].values()) == {"SUCCEEDED"}
    assert seen["in_flight_job"] in seen["queued"]
    assert seen["receive_counts"] == {job: ["3"] for job in seen["queued"]}
    # and the poison message is the same message, with its receive count carried on.
    before, after = seen["poison_before"], seen["poison_after"]
    assert after["Attributes"]["ApproximateReceiveCount"] == "4"
    for key in ("SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"):
        assert after["Attributes"][key] == before["Attributes"][key]
    for key in ("MessageId", "Body", "MessageAttributes", "MD5OfMessageAttributes"):
        assert after[key] == before[key]
    assert after["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xff"


# --- (2) kill -9 ---------------------------------------------------------------------------


class Dev:
    """``cloudqueue dev`` in a subprocess, its output collected."""

    def __init__(self, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
        parameters = [f"--param={name}={value}" for name, value in TEST_PARAMETERS.items()]
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloudqueue_local.cli",
                "dev",
                "--port",
                "0",
                "--aws-port",
                "0",
                *parameters,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=environment | (env or {}),
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("Ctrl-C to stop"):
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def api_url(self) -> str:
        assert self.ready.wait(180), self.output[-3000:]  # generous: the machine may be busy
        found = (re.search(r"API\s+(\S+)", line) for line in self.lines if line.strip().startswith("API"))
        return next(match.group(1) for match in found if match)

    def line_starting(self, prefix: str) -> str:
        return next(line.strip() for line in self.lines if line.startswith(prefix))

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def _saved(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


@pytest.mark.timeout(600)
def test_after_kill_9_every_job_in_the_last_snapshot_reaches_a_terminal_state(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    snapshot = directory / state.STATE_FILE
    # Given a stack without its Pipe, holding accepted jobs with their messages,
    first = Dev("--state-dir", str(directory), "--pollers", "0")
    try:
        with httpx.Client(base_url=first.api_url(), timeout=30) as api:
            jobs = [submit(api, "text.transform", {"text": f"job {n}"}) for n in range(5)]
            jobs.append(submit(api, "demo.fail", {"reason": "fails after the restart"}))
        assert first.line_starting("state:") == f"state: {directory} is new"

        def snapshot_holds_them() -> bool:
            """a snapshot holds every job and its message"""
            saved = _saved(snapshot)
            items = [item["jobId"]["S"] for items in saved.get("tables", {}).values() for item in items]
            bodies = [m["body"] for messages in saved.get("queues", {}).values() for m in messages]
            return set(jobs) <= set(items) and all(any(job in body for body in bodies) for job in jobs)

        wait_for(snapshot_holds_them, timeout=120)
    finally:
        # When it is killed without a chance to save anything more,
        first.stop(signal.SIGKILL)

    # and a new one starts on the same directory, with its Pipe,
    second = Dev("--state-dir", str(directory))
    try:
        with httpx.Client(base_url=second.api_url(), timeout=30) as api:
            loaded = f"state: loaded 6 jobs, 6 queued messages from {directory} (snapshot of "
            assert second.line_starting("state:").startswith(loaded)
            # then every accepted job reaches its end.
            wait_for(lambda: all(status_of(api, job) in TERMINAL for job in jobs), timeout=240)
            statuses = [status_of(api, job) for job in jobs]
        assert statuses == ["SUCCEEDED"] * 5 + ["FAILED"]
    finally:
        code = second.stop()
    assert code == 0, second.output[-3000:]
    # and the clean stop saved the final state: no job left unfinished, no message left queued.
    saved = _saved(snapshot)
    items = [item for items in saved["tables"].values() for item in items]
    assert {item["status"]["S"] for item in items if "status" in item} == {"SUCCEEDED", "FAILED"}
    assert all(not messages for messages in saved["queues"].values())


# --- (3) a directory it cannot use ---------------------------------------------------------


def _template() -> Any:
    return load_local_template(ROOT / "template.yaml", TEST_PARAMETERS)


def _valid_document() -> dict[str, Any]:
    resources = state.template_resources(_template())
    table = next(iter(resources["tables"]))
    return {
        "format": state.FORMAT,
        "version": state.VERSION,
        "cloudqueue": "0.1.0",
        "template": state.template_hash(resources),
        "resources": resources,
        "savedAt": 0,
        "tables": {table: [{"jobId": {"S": "kept"}, "status": {"S": "QUEUED"}}]},
        "queues": {},
        "logGroups": {},
    }


def test_a_valid_snapshot_reads_back(tmp_path: Path) -> None:
    (tmp_path / state.STATE_FILE).write_text(json.dumps(_valid_document()))

    snapshot = state.read_snapshot(tmp_path, _template())

    assert snapshot is not None
    assert next(iter(snapshot.tables.values())) == [{"jobId": {"S": "kept"}, "status": {"S": "QUEUED"}}]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda document: document | {"version": 2},
            "is state format version 2 (written by cloudqueue 0.1.0)",
        ),
        (lambda document: document | {"format": "something-else"}, "is not a CloudQueue state file"),
        (
            lambda document: (
                document | {"resources": {"tables": {}, "queues": []}, "template": "0000000000000000"}
            ),
            "was saved for other resources than template.yaml's",
        ),
        (
            lambda document: document | {"tables": {next(iter(document["tables"])): [{"jobId": {"N": "1"}}]}},
            "item 0 of table",
        ),
        (lambda document: document | {"queues": {"q": [{"id": "m"}]}}, "is damaged at queues.q.0"),
    ],
    ids=["other-version", "not-a-state-file", "other-template", "wrong-key-type", "damaged-message"],
)
def test_a_snapshot_it_cannot_use_is_refused_whole(
    tmp_path: Path, change: Callable[[dict[str, Any]], dict[str, Any]], said: str
) -> None:
    (tmp_path / state.STATE_FILE).write_text(json.dumps(change(_valid_document())))

    with pytest.raises(state.StateError, match=re.escape(said)):
        state.read_snapshot(tmp_path, _template())


def test_a_template_with_another_key_schema_is_named_in_the_refusal(tmp_path: Path) -> None:
    document = _valid_document()
    table = next(iter(document["resources"]["tables"]))
    document["resources"]["tables"][table] = [["id", "HASH", "N"]]
    document["template"] = state.template_hash(document["resources"])
    (tmp_path / state.STATE_FILE).write_text(json.dumps(document))

    with pytest.raises(state.StateError) as refused:
        state.read_snapshot(tmp_path, _template())

    assert f"table {table} has key schema [['id', 'HASH', 'N']]" in str(refused.value)


def test_dev_refuses_a_state_dir_of_another_version_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    # Given a state directory written by another format version,
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / state.STATE_FILE).write_text(json.dumps(_valid_document() | {"version": 2}))
    before = (directory / state.STATE_FILE).read_bytes()

    # When `cloudqueue dev` starts on it,
    dev = Dev("--state-dir", str(directory))
    code = dev.process.wait(timeout=120)

    # then it says why in one line, exits 2 without starting, and the file is untouched.
    assert code == 2, dev.output[-3000:]
    assert "--state-dir:" in dev.output and "is state format version 2" in dev.output
    assert "Traceback" not in dev.output and "Ctrl-C to stop" not in dev.output
    assert (directory / state.STATE_FILE).read_bytes() == before


def test_without_the_flag_the_stack_writes_no_state(tmp_path: Path) -> None:
    # Given `cloudqueue dev` run from an empty directory, with its own empty temporary directory,
    work, temporary = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temporary.mkdir()
    dev = Dev(cwd=work, env={"TMPDIR": str(temporary), "PYTHONPATH": str(ROOT)})
    try:
        # When it runs a job and stops,
        with httpx.Client(base_url=dev.api_url(), timeout=30) as api:
            job = submit(api, "text.transform", {"text": "nothing saved"})
            wait_for(lambda: status_of(api, job) == "SUCCEEDED")
    finally:
        code = dev.stop()

    # then it wrote nothing in either.
    assert code == 0, dev.output[-3000:]
    assert not any(work.iterdir()) and not any(temporary.iterdir())
    assert "state:" not in dev.output
