"""The mixed-load scenario of ``cloudqueue bench``: is every job right, under load and duplicates?

N jobs (≥ 10 % ``demo.flaky``, ≥ 5 % ``demo.fail``, the rest ``text.transform``; one in ten
with an ``Idempotency-Key``, replayed later by the same client) are submitted by concurrent
clients in another process while the Pipe drains them. Meanwhile duplicate messages
(``{"jobId": ...}``, as a redelivery would carry) are sent to the job queue through the local
AWS endpoint for jobs already accepted: at once (the job still queued), while the job runs,
and after it ended. When every accepted job has ended (or the deadline passed) and the queues
have settled, the scenario reads every job and the state machine's log group and reports:

- **lost**: a 202 whose job never ended, or is gone;
- **claimed twice**: ``attempts`` > 1 (the job's work ran twice);
- **wrong**: a result or error other than the job type must give;
- **extra executions**: executions per job beyond the first (from the log group's
  ``ExecutionStarted`` records, whose input names the job), against the duplicates injected;
- messages left in the job queue and the dead-letter queue, non-2xx answers, replays that
  named another job, POST /jobs latency while the backlog drains, and the drain rate.

Everything is read through the AWS endpoint and the HTTP API, as a user's tools would.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import queue
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import httpx
from boto3.dynamodb.types import TypeDeserializer

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
FLAKY_SHARE = 0.12
FAIL_SHARE = 0.06
KEYED_SHARE = 0.10
DUPLICATE_PHASES = ("queued", "running", "ended")
SAMPLES = 5


@dataclass(frozen=True)
class PlannedJob:
    index: int
    type: str
    payload: dict[str, Any]
    idempotency_key: str | None = None


def plan_jobs(count: int, *, seed: int = 7) -> list[PlannedJob]:
    """``count`` jobs in a shuffled order: 12 % flaky, 6 % failing, the rest text; 10 % keyed."""
    rng = random.Random(seed)
    flaky = math.ceil(count * FLAKY_SHARE)
    failing = math.ceil(count * FAIL_SHARE)
    kinds = ["demo.flaky"] * flaky + ["demo.fail"] * failing + ["text.transform"] * (count - flaky - failing)
    rng.shuffle(kinds)
    keyed = set(rng.sample(range(count), k=round(count * KEYED_SHARE)))
    planned = []
    for index, kind in enumerate(kinds):
        if kind == "demo.flaky":
            payload: dict[str, Any] = {"failTimes": 1 + index % 2}
        elif kind == "demo.fail":
            payload = {"reason": f"bench job {index} fails on purpose"}
        else:
            payload = {"text": f"Mixed load job {index}: " + " ".join(["lorem ipsum"] * (1 + index % 5))}
        key = f"bench-{seed}-{index}" if index in keyed else None
        planned.append(PlannedJob(index, kind, payload, key))
    return planned


def problem_with(planned: PlannedJob, job: dict[str, Any], *, faults: bool) -> str | None:
    """What is wrong with an ended job's outcome for its type, or None."""
    status, result, error = job.get("status"), job.get("result"), job.get("error") or {}
    if planned.type == "text.transform":
        text = planned.payload["text"]
        expected = {"originalLength": len(text), "uppercase": text.upper(), "wordCount": len(text.split())}
        if status != "SUCCEEDED" or result != expected:
            return f"{status} {result or error}, expected SUCCEEDED {expected}"
    elif planned.type == "demo.flaky":
        fail_times = planned.payload["failTimes"]
        failed = (result or {}).get("failedTimes")
        # Under injected Lambda faults a retry may be used by a fault, so it can take more.
        exact = failed == fail_times if not faults else failed is not None and failed >= fail_times
        if status != "SUCCEEDED" or not exact:
            return f"{status} {result or error}, expected SUCCEEDED after {fail_times} transient failures"
    elif status != "FAILED" or error.get("type") != "PermanentJobError":
        return f"{status} {result or error}, expected FAILED with PermanentJobError"
    elif error.get("message") != planned.payload["reason"]:
        return f"error message {error.get('message')!r}, expected {planned.payload['reason']!r}"
    return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict[str, float | int]:
    """Count, mean, p50 and p99 of durations in seconds, as milliseconds."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(sum(values) / len(values) * 1000, 1),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
    }


# --- the clients (in their own process, so that they do not share the stack's GIL) --------


def _clients(
    api_url: str, plan: list[dict[str, Any]], *, clients: int, stop_at: float, accepted: Any, results: Any
) -> None:
    """Submit the plan from ``clients`` threads; replay each keyed job once its client is done.

    Puts ``(index, jobId)`` on ``accepted`` as soon as a job is accepted, then None; then one
    dict of every request's outcome on ``results``. No request starts after ``stop_at``
    (epoch seconds): the report then says how many were never sent.
    """
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def post(http: httpx.Client, job: dict[str, Any], kind: str) -> str | None:
        headers = {"content-type": "application/json"}
        if job["idempotency_key"]:
            headers["Idempotency-Key"] = job["idempotency_key"]
        body = json.dumps({"type": job["type"], "payload": job["payload"]})
        started = time.time()
        try:
            response = http.post("/jobs", content=body, headers=headers)
            status, text = response.status_code, response.text
        except httpx.HTTPError as error:
            status, text = 0, f"{type(error).__name__}: {error}"
        ended = time.time()
        job_id = None
        if 200 <= status < 300:
            try:
                job_id = response.json().get("jobId")
            except ValueError:
                job_id = None
        with lock:
            outcomes.append(
                {
                    "index": job["index"],
                    "kind": kind,
                    "status": status,
                    "jobId": job_id,
                    "started": started,
                    "seconds": ended - started,
                    "replayed": kind == "replay" and response.headers.get("Idempotent-Replayed") == "true"
                    if status
                    else False,
                    "text": None if 200 <= status < 300 else text[:300],
                }
            )
        return job_id if status == 202 else None

    def client(share: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            keyed = []
            for job in share:
                if time.time() > stop_at:
                    return
                job_id = post(http, job, "submit")
                if job_id is not None:
                    accepted.put((job["index"], job_id))
                if job["idempotency_key"]:
                    keyed.append(job)
            for job in keyed:
                if time.time() > stop_at:
                    return
                post(http, job, "replay")

    started = time.time()
    threads = [threading.Thread(target=client, args=(plan[start::clients],)) for start in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted.put(None)
    results.put({"started": started, "ended": time.time(), "outcomes": outcomes})


# --- duplicates, sent while the load runs ---------------------------------------------------


@dataclass
class Duplicate:
    job_id: str
    phase: str  # when it was meant to go: queued (at once), running, ended
    status_at_send: str | None = None  # the job's status when it was sent (JUST_ACCEPTED: not read)
    sent: bool = False
    error: str | None = None


class DuplicateInjector:
    """Sends ``{"jobId": ...}`` to the job queue for chosen accepted jobs, at three moments."""

    def __init__(self, aws: AwsView, chosen: dict[int, str], *, deadline: float) -> None:
        self.aws = aws
        self.chosen = chosen  # plan index → phase
        self.deadline = deadline
        self.duplicates: list[Duplicate] = []
        self._watching: list[Duplicate] = []
        self._accepted_done = False
        self._thread: threading.Thread | None = None

    def start(self, accepted: Any) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(accepted,), name="bench-duplicates", daemon=True
        )
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(max(0.0, self.deadline - time.monotonic()) + 5)

    def _run(self, accepted: Any) -> None:
        while time.monotonic() < self.deadline and (not self._accepted_done or self._watching):
            self._take_accepted(accepted)
            self._watch()
        for duplicate in self._watching:
            duplicate.error = "the job did not reach the moment before the deadline"

    def _take_accepted(self, accepted: Any) -> None:
        while not self._accepted_done:
            try:
                item = accepted.get(timeout=0.05)
            except queue.Empty:
                return
            if item is None:
                self._accepted_done = True
                return
            index, job_id = item
            phase = self.chosen.get(index)
            if phase is None:
                continue
            duplicate = Duplicate(job_id, phase)
            self.duplicates.append(duplicate)
            if phase == "queued":
                self._send(duplicate, "JUST_ACCEPTED")
            else:
                self._watching.append(duplicate)

    def _watch(self) -> None:
        if not self._watching:
            time.sleep(0.05)
            return
        statuses = self.aws.statuses([duplicate.job_id for duplicate in self._watching])
        still = []
        for duplicate in self._watching:
            status = statuses.get(duplicate.job_id)
            due = status in TERMINAL or (duplicate.phase == "running" and status == "IN_PROGRESS")
            if due:
                self._send(duplicate, status)
            else:
                still.append(duplicate)
        self._watching = still
        time.sleep(0.1)  # often enough to catch most jobs running, rarely enough not to load the stack

    def _send(self, duplicate: Duplicate, status: str | None) -> None:
        duplicate.status_at_send = status
        try:
            self.aws.send_job_message(duplicate.job_id)
            duplicate.sent = True
        except Exception as error:  # reported, not raised: the figure says what happened
            duplicate.error = f"{type(error).__name__}: {error}"


# --- what the scenario reads, through the AWS endpoint ----------------------------------------


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints or floats, so that results compare and print as JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class AwsView:
    """The table, the queues and the log group of a local stack, seen through its AWS endpoint."""

    def __init__(self, stack: Any) -> None:
        if stack.aws_url is None:
            raise ValueError("the bench needs the local stack's AWS endpoint")
        options = {"region_name": stack.region, "endpoint_url": stack.aws_url}
        self.dynamodb = boto3.client("dynamodb", **options)
        self.sqs = boto3.client("sqs", **options)
        self.logs = boto3.client("logs", **options)
        self.table = stack.table_name()
        self.queue_url = stack.queue_url("JobQueue")
        self.dlq_url = stack.queue_url("DeadLetterQueue")
        self.log_group = stack.template.log_groups["ExecutionLogGroup"].name
        self.functions_by_arn = {spec.arn: name for name, spec in stack.template.functions.items()}
        self._deserialize = TypeDeserializer().deserialize

    def send_job_message(self, job_id: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"jobId": job_id}))

    def jobs(self, job_ids: list[str], projection: str | None = None) -> dict[str, dict[str, Any]]:
        """The items of ``job_ids`` that exist, by id (BatchGetItem, 100 at a time)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(job_ids), 100):
            request: dict[str, Any] = {
                "Keys": [{"jobId": {"S": job_id}} for job_id in job_ids[start : start + 100]]
            }
            if projection:
                request["ProjectionExpression"] = projection
                request["ExpressionAttributeNames"] = {"#s": "status"}
            pending: dict[str, Any] = {self.table: request}
            while pending:
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, []):
                    job = _plain({key: self._deserialize(value) for key, value in item.items()})
                    found[job["jobId"]] = job
                pending = response.get("UnprocessedKeys") or {}
        return found

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        return {job_id: job["status"] for job_id, job in self.jobs(job_ids, "jobId, #s").items()}

    def unfinished(self, job_ids: list[str]) -> int:
        statuses = self.statuses(job_ids)
        return sum(1 for job_id in job_ids if statuses.get(job_id) not in TERMINAL)

    def messages(self, queue_url: str) -> int:
        """Messages in a queue: visible, in flight and delayed."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return sum(
            int(attributes.get(name, 0))
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )

    def history_records(self) -> list[dict[str, Any]]:
        """Every history record in the state machine's log group."""
        records: list[dict[str, Any]] = []
        paginator = self.logs.get_paginator("filter_log_events")
        for page in paginator.paginate(logGroupName=self.log_group):
            for event in page.get("events", []):
                try:
                    record = json.loads(event.get("message", ""))
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records


def _job_of_execution(record: dict[str, Any]) -> str | None:
    """The job an execution ran for, from its ExecutionStarted input (the Pipe's records)."""
    try:
        records = json.loads((record.get("details") or {}).get("input") or "null")
        return str(json.loads(records[0]["body"])["jobId"])
    except (ValueError, TypeError, KeyError, IndexError):
        return None


@dataclass
class ExecutionFigures:
    per_job: Counter[str]
    statuses: Counter[str]
    task_seconds: dict[str, list[float]]
    # Executions of each job that called the claim function and then ended other than SUCCEEDED.
    failed_after_claim: Counter[str] = field(default_factory=Counter)


def unexplained_claims(attempts: int, failed_after_claim: int) -> int:
    """A job's claims beyond the first that no failed execution explains.

    An execution that reached the claim and then failed may have left its claim unfinished:
    its process step could not be invoked, or its result could not be recorded. Once that
    lease expires the job is claimed again, by design (at-least-once: docs/design.md#correctness).
    Any other second claim gave one job to two workers.
    """
    return max(0, attempts - 1 - failed_after_claim)


def read_executions(records: list[dict[str, Any]], functions_by_arn: dict[str, str]) -> ExecutionFigures:
    """Executions per job, their end statuses, and each Lambda task's duration by function."""
    per_job: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    failed_after_claim: Counter[str] = Counter()
    task_seconds: dict[str, list[float]] = defaultdict(list)
    by_execution: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_execution[str(record.get("execution_arn"))].append(record)
    for events in by_execution.values():
        events.sort(key=lambda event: int(event.get("id", 0)))
        scheduled: tuple[str, int] | None = None
        job_id: str | None = None
        claimed = False
        for event in events:
            kind = str(event.get("type", ""))
            details = event.get("details") or {}
            millis = int(event.get("event_timestamp", 0))
            if kind == "ExecutionStarted":
                job_id = _job_of_execution(event)
                per_job[job_id or "?"] += 1
            elif kind.startswith("Execution"):
                statuses[kind.removeprefix("Execution").upper()] += 1
                if kind != "ExecutionSucceeded" and claimed:
                    failed_after_claim[job_id or "?"] += 1
            elif kind == "TaskScheduled":
                scheduled = (_function_of(details, functions_by_arn), millis)
                claimed = claimed or scheduled[0] == "ClaimFunction"
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and scheduled is not None:
                task_seconds[scheduled[0]].append((millis - scheduled[1]) / 1000)
                scheduled = None
    return ExecutionFigures(per_job, statuses, dict(task_seconds), failed_after_claim)


def _function_of(details: dict[str, Any], functions_by_arn: dict[str, str]) -> str:
    try:
        name = json.loads(details.get("parameters") or "{}").get("FunctionName", "?")
    except ValueError:
        return "?"
    return functions_by_arn.get(name, str(name).rsplit(":", 1)[-1])


# --- the scenario ----------------------------------------------------------------------------


def _wait(condition: Any, *, until: float, every: float = 1.0) -> bool:
    while True:
        if condition():
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(every)


def _epoch(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def run_mixed(
    stack: Any,
    *,
    jobs: int = 2000,
    clients: int = 32,
    duplicates: int = 200,
    deadline_seconds: float = 1800,
    faults: bool = False,
    seed: int = 7,
    log: Any = print,
) -> dict[str, Any]:
    """Run the scenario against a started, empty local stack; return its figures (see the module)."""
    aws = AwsView(stack)
    plan = plan_jobs(jobs, seed=seed)
    rng = random.Random(seed + 1)
    chosen = {
        index: DUPLICATE_PHASES[position % len(DUPLICATE_PHASES)]
        for position, index in enumerate(rng.sample(range(jobs), k=min(duplicates, jobs)))
    }
    deadline = time.monotonic() + deadline_seconds

    context = multiprocessing.get_context("spawn")
    accepted, results = context.Queue(), context.Queue()
    injector = DuplicateInjector(aws, chosen, deadline=deadline)
    injector.start(accepted)
    log(f"mixed load: {jobs} jobs from {clients} clients, {len(chosen)} duplicate messages...")
    stop_at = time.time() + deadline_seconds
    load = context.Process(
        target=_clients,
        args=(stack.api_url, [asdict(job) for job in plan]),
        kwargs={"clients": clients, "stop_at": stop_at, "accepted": accepted, "results": results},
    )
    load.start()
    load_report = _result_of(load, results, until=deadline)

    outcomes = load_report["outcomes"]
    accepted_ids = accepted_jobs(outcomes)
    job_ids = list(accepted_ids.values())
    log(f"  {len(job_ids)} accepted; waiting for every job to end...")
    ended = _wait(lambda: aws.unfinished(job_ids) == 0, until=deadline)
    injector.join()

    settle = min(deadline, time.monotonic() + _settle_seconds(stack))
    log("  waiting for the queues to settle...")
    _wait(lambda: aws.messages(aws.queue_url) + aws.messages(aws.dlq_url) == 0, until=settle)
    final = aws.jobs(job_ids)
    executions = read_executions(aws.history_records(), aws.functions_by_arn)

    return _figures(
        plan=plan,
        load_report=load_report,
        accepted_ids=accepted_ids,
        final=final,
        executions=executions,
        injector=injector,
        queue_left=aws.messages(aws.queue_url),
        dlq_left=aws.messages(aws.dlq_url),
        ended_in_time=ended,
        faults=faults,
        settings={"jobs": jobs, "clients": clients, "duplicates": len(chosen), "seed": seed},
    )


def _result_of(process: Any, results: Any, *, until: float) -> dict[str, Any]:
    """The clients' report; an error if their process died or the deadline passed first."""
    while True:
        try:
            report: dict[str, Any] = results.get(timeout=1)
        except queue.Empty:
            # Requests in flight at the deadline may take their timeout (60 s) to end.
            if not process.is_alive() or time.monotonic() > until + 90:
                process.terminate()
                raise RuntimeError(
                    f"the load generator ended without a report (exit {process.exitcode})"
                ) from None
            continue
        process.join(timeout=30)
        return report


def _settle_seconds(stack: Any) -> float:
    """Long enough for a message left invisible by a failed execution to come back and be handled."""
    parameters = stack.template.parameters
    visibility = float(parameters.get("VisibilityTimeoutSeconds", 30))
    receives = int(parameters.get("MaxReceiveCount", 5))
    return visibility * (receives + 1) + 10


def accepted_jobs(outcomes: list[dict[str, Any]]) -> dict[int, str]:
    """The job each planned submit ended with: its 202, or else its replay's answer.

    A keyed submit whose first request failed (an injected fault) is accepted by its replay,
    which made the job or found the one the failed request made."""
    accepted = {o["index"]: o["jobId"] for o in outcomes if o["kind"] == "submit" and o["status"] == 202}
    for outcome in outcomes:
        if outcome["kind"] == "replay" and 200 <= outcome["status"] < 300:
            accepted.setdefault(outcome["index"], outcome["jobId"])
    return accepted


def _figures(
    *,
    plan: list[PlannedJob],
    load_report: dict[str, Any],
    accepted_ids: dict[int, str],
    final: dict[str, dict[str, Any]],
    executions: ExecutionFigures,
    injector: DuplicateInjector,
    queue_left: int,
    dlq_left: int,
    ended_in_time: bool,
    faults: bool,
    settings: dict[str, Any],
) -> dict[str, Any]:
    outcomes = load_report["outcomes"]
    by_index = {job.index: job for job in plan}
    non_2xx = [outcome for outcome in outcomes if not 200 <= outcome["status"] < 300]
    replay_mismatch = [
        outcome
        for outcome in outcomes
        if outcome["kind"] == "replay"
        and 200 <= outcome["status"] < 300
        and outcome["jobId"] != accepted_ids.get(outcome["index"])
    ]
    lost, twice, reclaimed, wrong = [], [], [], []
    for index, job_id in accepted_ids.items():
        job = final.get(job_id)
        if job is None or job.get("status") not in TERMINAL:
            lost.append({"jobId": job_id, "status": job and job.get("status")})
            continue
        attempts, failed = int(job.get("attempts", 0)), executions.failed_after_claim[job_id]
        if attempts > 1:
            entry = {"jobId": job_id, "attempts": attempts, "failedAfterClaim": failed}
            (twice if unexplained_claims(attempts, failed) else reclaimed).append(entry)
        problem = problem_with(by_index[index], job, faults=faults)
        if problem:
            wrong.append({"jobId": job_id, "type": by_index[index].type, "problem": problem})

    ids = set(accepted_ids.values())
    per_job = {job_id: executions.per_job.get(job_id, 0) for job_id in ids}
    recorded = {job_id: len(final.get(job_id, {}).get("executions", [])) for job_id in ids}
    extra = sum(max(0, count - 1) for count in per_job.values())
    injected = [duplicate for duplicate in injector.duplicates if duplicate.sent]

    started, ended_at = load_report["started"], load_report["ended"]
    finished = [moment for job in final.values() if (moment := _epoch(job.get("finishedAt")))]
    drain_seconds = (max(finished) - started) if finished else float("nan")
    submit_seconds = [outcome["seconds"] for outcome in outcomes]

    figures: dict[str, Any] = {
        "settings": settings | {"faults": faults},
        "not_submitted": len(plan) - len({o["index"] for o in outcomes if o["kind"] == "submit"}),
        "accepted": len(accepted_ids),
        "lost": len(lost),
        "claimed_twice": len(twice),
        "reclaimed_after_failure": len(reclaimed),
        "wrong": len(wrong),
        "replay_mismatch": len(replay_mismatch),
        "non_2xx": len(non_2xx),
        "duplicates_injected": len(injected),
        "duplicates_by_status_at_send": dict(Counter(str(d.status_at_send) for d in injected)),
        "duplicates_not_sent": len(injector.duplicates) - len(injected),
        "executions": sum(per_job.values()),
        "extra_executions": extra,
        "executions_recorded_on_jobs": sum(recorded.values()),
        "execution_statuses": dict(executions.statuses),
        "queue_left": queue_left,
        "dlq_left": dlq_left,
        "ended_in_time": ended_in_time,
        "post": summary_ms(submit_seconds) | {"rps": round(len(outcomes) / (ended_at - started), 1)},
        "drain": {
            "jobs": len(finished),
            "seconds": round(drain_seconds, 2),
            "jobs_per_s": round(len(finished) / drain_seconds, 1) if finished else 0.0,
        },
        "functions": {
            name: summary_ms(seconds) | {"source": "log group: TaskScheduled → Task end"}
            for name, seconds in sorted(executions.task_seconds.items())
        }
        | {"ApiFunction": summary_ms(submit_seconds) | {"source": "client POST latency (an upper bound)"}},
        "samples": {
            "lost": lost[:SAMPLES],
            "claimed_twice": twice[:SAMPLES],
            "reclaimed_after_failure": reclaimed[:SAMPLES],
            "wrong": wrong[:SAMPLES],
            "non_2xx": [{key: o[key] for key in ("kind", "status", "text")} for o in non_2xx[:SAMPLES]],
            "replay_mismatch": [
                {key: o[key] for key in ("index", "jobId")} for o in replay_mismatch[:SAMPLES]
            ],
            "most_executions": [
                {"jobId": job_id, "executions": count, "recorded": recorded[job_id]}
                for job_id, count in sorted(per_job.items(), key=lambda item: -item[1])[:SAMPLES]
                if count > 1
            ],
        },
    }
    figures["failures"] = correctness_failures(figures)
    return figures


def correctness_failures(figures: dict[str, Any]) -> list[str]:
    """Each correctness figure that is wrong, in words; empty when the run was right."""
    faults = figures["settings"]["faults"]
    # Under injected faults a submit may fail (503: nothing was accepted, the client may retry)
    # and failed executions are retried: non-2xx answers and extra executions are allowed.
    names = ["not_submitted", "lost", "claimed_twice", "wrong", "replay_mismatch", "queue_left", "dlq_left"]
    failures = [
        f"{name.replace('_', ' ')}: {figures[name]}"
        for name in [*names, *([] if faults else ["non_2xx"])]
        if figures[name]
    ]
    if figures["accepted"] == 0:
        failures.append("no job was accepted")
    if not faults and figures["extra_executions"] > figures["duplicates_injected"]:
        failures.append(
            f"extra executions {figures['extra_executions']} > duplicates injected "
            f"{figures['duplicates_injected']}"
        )
    return failures
