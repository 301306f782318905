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
PLATFORM_LOG_BYTES = 2 * EVENT_METADATA_BYTES + 400  # platform.start (141), platform.report (~260)
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
# Powertools metrics the code emits, each with its "service" dimension (docs/design.md#observability).
CUSTOM_METRICS = 10
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
LONG_POLL_SECONDS = 20

# Default quotas (us-east-1), each adjustable in Service Quotas.
LAMBDA_CONCURRENCY = 1000  # concurrent executions per account and Region
EXPRESS_START_RATE = 6000  # StartExecution/StartSyncExecution for Express, per second
PIPE_CONCURRENCY = 1000  # concurrent target invocations per pipe
HTTP_API_ACCOUNT_RATE = 10_000  # requests per second per account and Region
PARTITION_WRITE_UNITS = 1000  # write units per second to one partition key value
NEW_TABLE_WRITE_UNITS = 4000  # what a new on-demand table or index takes at once (it rises with use)


@dataclass(frozen=True)
class Usage:
    """What a month of traffic looks like."""

    jobs_per_month: float = 1_000_000
    reads_per_job: float = 1.0  # GET /jobs/{id} per job (a client reading the result once)
    failure_rate: float = 0.01  # executions that fail (logged at ERROR)
    payload_chars: int = 16  # the README's "hello cloudqueue"
    page_views: float = 1000
    log_level: str | None = None  # ExecutionLogLevel; None: the template's
    durations_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS_MS))


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


def assumption_lines(durations: dict[str, float], usage: Usage) -> list[str]:
    """The assumptions a bill states beside its figures, one sentence each."""
    return [
        "list prices in us-east-1 from pricing/us-east-1.yaml, without the free tier",
        "durations (ms): " + ", ".join(f"{name} {ms:g}" for name, ms in durations.items()),
        f"{usage.reads_per_job:g} GET per job; {usage.failure_rate:.0%} of executions fail; "
        f"payload of {usage.payload_chars} characters; {usage.page_views:g} page views",
        f"{POLLERS_PER_QUEUE} pollers per queue long-polling {LONG_POLL_SECONDS} s when idle",
        f"{LOG_COMPRESSION:.0%} of ingested log bytes stored (compression); 30-day months",
    ]
