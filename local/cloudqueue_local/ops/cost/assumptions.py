"""What the bill assumes beyond the template and the prices: a month's traffic, what a job does
on AWS (taken from the code), the sizes of its log lines, the functions' durations, quotas."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECONDS_PER_MONTH = 30 * 86_400
GB = 1024**3

# Mean billed duration of one warm invocation on AWS at the template's memory, arm64: one or two
# in-region DynamoDB/SQS calls (single-digit ms each) plus Powertools' logging and metrics. The
# API's figure averages a submit (send + put, ~35 ms) and a read (get, ~15 ms). Replace them with
# the functions' CloudWatch "Duration" averages (--duration Name=ms) once deployed.
DEFAULT_DURATIONS_MS: dict[str, float] = {
    "ApiFunction": 25.0,
    "ClaimFunction": 20.0,
    "ProcessFunction": 5.0,
    "FinalizeFunction": 20.0,
    "DeadLetterFunction": 30.0,
    "RequeueFunction": 150.0,
    "EventsFunction": 3.0,  # shapes a stream record in memory; no AWS call
    # A GetItem, one POST (mostly the receiver's answer time: 100 ms assumed), an UpdateItem.
    "WebhookFunction": 120.0,
}
# Measured durations, read from the project's root when present: what `cloudqueue bench --json`
# writes (the bench puts its functions' mean durations under BENCH_DURATIONS_KEY), or by hand.
BENCH_RESULTS = "bench-results.json"
BENCH_DURATIONS_KEY = "durationsMs"  # {"durationsMs": {"ClaimFunction": 18.5, ...}}
WORKFLOW_FUNCTIONS = ("ClaimFunction", "ProcessFunction", "FinalizeFunction")
TASK_OVERHEAD_MS = 25.0  # Step Functions -> Lambda invoke and back, per task
EXPRESS_MEMORY_GB = 64 / 1024  # one 64 MB step: the definition and a job's data are far smaller
EXPRESS_DURATION_STEP_MS = 100

# The job item's writes (see cloudqueue.adapters.dynamodb), each with the index keys it moves:
# a conditional put at submit (which writes listShard and listKey), then the claim and the
# terminal write, updates that move no index key (the Listing index is not written).
JOB_WRITES: tuple[tuple[str, frozenset[str]], ...] = (
    ("put", frozenset()),
    ("update", frozenset()),
    ("update", frozenset()),
)
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's per-item storage overhead

# CloudWatch Logs bytes (each event also counts 26 bytes of metadata at ingestion).
# Line sizes measured on the local stack, whose functions print what they print on Lambda and
# whose platform lines follow Lambda's format (LogFormat JSON: platform.start and
# platform.report, none at SystemLogLevel WARN); tests/local/test_function_logs.py checks the
# per-job total against a real job's invocations.
EVENT_METADATA_BYTES = 26
PLATFORM_LOG_BYTES = 3 * EVENT_METADATA_BYTES + 265  # START (70), END (51), REPORT (~144) of every invocation
# With LoggingConfig LogFormat JSON, Lambda writes platform.start (~141 B) and platform.report
# (~260 B) instead, as JSON records (the local runtime's records, shaped as AWS documents them;
# tests/local/test_function_logs.py measures them); with SystemLogLevel WARN or above it writes neither.
PLATFORM_JSON_LOG_BYTES = 2 * EVENT_METADATA_BYTES + 400
INFO_LINE_BYTES = EVENT_METADATA_BYTES + 560  # one Powertools JSON log line (keys, ARNs, ids)
EMF_LINE_BYTES = EVENT_METADATA_BYTES + 215  # one Powertools metrics (EMF) line, one metric
# Per invocation, at LogLevel INFO: (info lines, EMF lines), from the handlers' code (a job that
# succeeds emits no custom metric: cloudqueue.handlers.metric_names.PER_JOB).
LOG_LINES: dict[str, tuple[float, float]] = {
    "submit": (1, 0),  # "job submitted"
    "read": (0, 0),
    "ClaimFunction": (1, 0),
    "ProcessFunction": (1, 0),
    "FinalizeFunction": (1, 0),
}
HISTORY_EVENT_BYTES = EVENT_METADATA_BYTES + 330  # an execution log record without data
LOG_COMPRESSION = 0.2  # stored (compressed) bytes per ingested byte
ERROR_EVENTS_PER_FAILURE = 3  # e.g. LambdaFunctionFailed, TaskFailed, ExecutionFailed

# Idle long polling: a Pipe and a Lambda event source mapping each keep pollers on their queue.
POLLERS_PER_QUEUE = 5
# A Pipe reads each shard of a DynamoDB stream about 4 times a second (as Lambda's event source
# mapping does), records or not; a table with little traffic has one shard.
STREAM_POLLS_PER_SECOND = 4
STREAM_SHARDS = 1
# Job State Change events per job: QUEUED, IN_PROGRESS and its end (a failed execution that is
# retried makes no change of status).
STATUS_CHANGES_PER_JOB = 3
# The webhook function reads its signing secret through Powertools' parameters, kept 5 minutes.
SECRET_CACHE_SECONDS = 300
LONG_POLL_SECONDS = 20

# Lambda INIT, billed since 2025-08-01 for on-demand functions like any invocation's duration.
# A function's INIT (ms) is the runtime's own start plus its handler's import, which
# `cloudqueue bench --scenario imports` measures as a ratio of `import boto3` (bench-results.json's
# "imports": {Function: {"ratio": ...}}). The two absolute figures are estimates for python3.12
# on arm64 at 512 MB; a REPORT line's "Init Duration" (under BENCH_INIT_KEY) replaces them all.
RUNTIME_INIT_MS = 150.0
BOTO3_IMPORT_MS = 300.0
# Without a bench run: the handlers' import goals (bench.imports.IMPORT_TARGETS), and for the two
# functions the bench does not measure, which also import the X-Ray SDK, an estimate.
DEFAULT_IMPORT_RATIOS: dict[str, float] = {
    "ApiFunction": 1.6,
    "ClaimFunction": 1.2,
    "ProcessFunction": 0.5,
    "FinalizeFunction": 1.2,
    "DeadLetterFunction": 2.0,
    "RequeueFunction": 2.0,
    "EventsFunction": 1.0,  # the job model and Powertools, no boto3
    "WebhookFunction": 2.3,  # boto3, httpx, standardwebhooks, Powertools' parameters
}
DEFAULT_INIT_MS: dict[str, float] = {
    name: RUNTIME_INIT_MS + ratio * BOTO3_IMPORT_MS for name, ratio in DEFAULT_IMPORT_RATIOS.items()
}
BENCH_INIT_KEY = "initMs"  # {"initMs": {"ApiFunction": 850, ...}} in bench-results.json
# Cold starts: Lambda recycles a busy environment every few hours (ENVIRONMENT_HOURS), reclaims
# an idle one after some minutes (IDLE_MINUTES: an invocation after a longer gap starts cold), and
# a daily peak of PEAK_TO_MEAN times the mean rate starts the environments it needs once a day.
ENVIRONMENT_HOURS = 2.0
IDLE_MINUTES = 10.0
PEAK_TO_MEAN = 5.0

# DynamoDB with an AWS managed or customer managed KMS key: DynamoDB caches the table key per
# caller and asks KMS again after about five minutes (KMS developer guide, "How Amazon DynamoDB
# uses AWS KMS": https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).
# Assumed: one Decrypt per warm environment of each function that calls the table, every 5 min.
KMS_REFRESH_SECONDS = 300

# Data transfer out to the internet: each API response's body (measured from the API's own
# model, as its handler serialises it) plus the HTTP status line and headers API Gateway adds
# (date, content-type, content-length, apigw-requestid, CORS: about 250 bytes, estimated).
RESPONSE_HEADER_BYTES = 250

HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600


@dataclass(frozen=True)
class Usage:
    """What a month of traffic looks like."""

    jobs_per_month: float = 1_000_000
    # GET /jobs/{id} per job: none by default, so that the bill is what running a job costs, as
    # the peers price a run; a client that reads each result once adds --reads-per-job 1.
    reads_per_job: float = 0.0
    # Jobs per submit request: 1, POST /jobs; up to 100, POST /jobs/batch (one API request and
    # invocation for the batch, one SendMessageBatch for ten).
    submit_batch: int = 1
    failure_rate: float = 0.01  # executions that fail (logged at ERROR)
    payload_chars: int = 16  # the README's "hello cloudqueue"
    page_views: float = 1000
    # Jobs a Scheduler schedule sends: delayed past SQS's 15 minutes (one one-time schedule
    # each), or submitted by a recurring schedule's firing (one invocation each). Delays up to
    # 15 minutes cost nothing extra (SQS DelaySeconds).
    scheduler_share: float = 0.05
    log_level: str | None = None  # ExecutionLogLevel; None: the template's
    # Template parameters priced instead of their defaults, e.g. {"JobEvents": "on", "Webhooks": "on"}.
    parameters: dict[str, str] = field(default_factory=dict)
    # With Webhooks=on: the jobs that carry a callbackUrl (all, an upper bound), and the deliveries
    # that fail once and are retried (each attempt is priced as a delivery).
    callback_share: float = 1.0
    webhook_retry_rate: float = 0.01
    durations_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS_MS))
    init_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_INIT_MS))
    # How often the rare events that publish a metric happen, per job (assumptions: a healthy
    # month). They set the hours in which each metric is published, and so its prorated price.
    duplicate_rate: float = 0.001  # deliveries of a message whose job another execution holds
    dead_letter_rate: float = 0.0001  # jobs whose executions kept failing past the redrive
    rare_rate: float = 0.00001  # a fenced stale worker, a redriven dead letter, a poison message
    # Share of jobs submitted with a concurrencyKey on a type with a limit (their slot writes).
    keyed_share: float = 0.0
    # Seconds per job its code runs reporting progress and checking cancelled() (1 write and 2
    # eventually consistent reads a second at most).
    reporting_seconds: float = 0.0


# A keyed job's extra writes (cloudqueue.adapters.dynamodb.slots): the plain claim's refused
# condition (1), the claim transaction of two items at twice the price (4), the release (1);
# and one consistent read of the slot item.
KEYED_JOB_WRITE_UNITS = 1 + 2 * 2 + 1
KEYED_JOB_READ_UNITS = 1.0


def measured_durations(report: dict[str, Any]) -> dict[str, float]:
    """The functions' durations (ms) in a bench report or a hand-written results file."""
    return {name: float(ms) for name, ms in report.get(BENCH_DURATIONS_KEY, {}).items()}


def durations_from(root: Path, given: dict[str, float]) -> dict[str, float]:
    """Defaults, then the bench results file if present, then what the user gave."""
    durations = dict(DEFAULT_DURATIONS_MS)
    bench = root / BENCH_RESULTS
    if bench.is_file():
        durations |= measured_durations(json.loads(bench.read_text()))
    unknown = set(given) - set(durations)
    if unknown:
        raise ValueError(f"no function {', '.join(sorted(unknown))} (known: {', '.join(durations)})")
    return durations | given


def init_from(root: Path) -> dict[str, float]:
    """INIT durations (ms): the defaults, then those the bench results file's import ratios give,
    then its ``initMs`` (measured on AWS) if present."""
    init = dict(DEFAULT_INIT_MS)
    bench = root / BENCH_RESULTS
    if bench.is_file():
        report = json.loads(bench.read_text())
        for name, figures in (report.get("imports") or {}).items():
            init[name] = RUNTIME_INIT_MS + float(figures["ratio"]) * BOTO3_IMPORT_MS
        init |= {name: float(ms) for name, ms in report.get(BENCH_INIT_KEY, {}).items()}
    return init


def batched(usage: Usage) -> str:
    """How jobs are submitted, when not one to a request."""
    if usage.submit_batch == 1:
        return ""
    return (
        f"submits in batches of {usage.submit_batch} (ApiFunction's GB-seconds counted per job as "
        "for single submits, an upper bound: a batch writes its jobs 16 at once); "
    )


def assumption_lines(durations: dict[str, float], usage: Usage, webhooks: bool = False) -> list[str]:
    """The assumptions a bill states beside its figures, one sentence each; ``durations``: those
    of the stack's functions; ``webhooks``: the stack delivers them."""
    init = {name: ms for name, ms in usage.init_ms.items() if name in durations}
    lines = [
        "list prices in us-east-1 from pricing/us-east-1.yaml, without the free tier",
        "durations (ms): " + ", ".join(f"{name} {ms:g}" for name, ms in durations.items()),
        f"INIT (ms; {RUNTIME_INIT_MS:g} + the import's ratio of a {BOTO3_IMPORT_MS:g} ms `import boto3`): "
        + ", ".join(f"{name} {ms:g}" for name, ms in init.items())
        + f"; an environment recycled every {ENVIRONMENT_HOURS:g} h, reclaimed after "
        f"{IDLE_MINUTES:g} min idle, a daily peak of {PEAK_TO_MEAN:g} x the mean rate",
        f"per job: {usage.duplicate_rate:g} duplicate deliveries, {usage.dead_letter_rate:g} dead letters, "
        f"{usage.rare_rate:g} of each rarer event (fenced worker, redriven dead letter, poison message): "
        "they set each metric's published hours",
        f"KMS: one request per warm environment of each table caller every {KMS_REFRESH_SECONDS // 60} min; "
        f"{RESPONSE_HEADER_BYTES} B of HTTP headers per API response",
        f"{usage.reads_per_job:g} GET per job; {batched(usage)}{usage.failure_rate:.0%} of executions fail; "
        f"payload of {usage.payload_chars} characters; {usage.page_views:g} page views",
        f"{POLLERS_PER_QUEUE} pollers per queue long-polling {LONG_POLL_SECONDS} s when idle",
        f"{LOG_COMPRESSION:.0%} of ingested log bytes stored (compression); 30-day months",
    ]
    if webhooks:
        lines.append(
            f"webhooks: {usage.callback_share:.0%} of jobs carry a callbackUrl, "
            f"{usage.webhook_retry_rate:.0%} of deliveries retried once"
        )
    return lines
