"""``cloudqueue cost``: the deployed stack's monthly AWS bill, line by line, and its capacity.

The figures come from two files and a few stated assumptions:

- ``template.yaml`` (read with the local stack's reader, deployed parameter defaults): each
  function's memory and architecture, the state machine's log level and execution data,
  the table's indexes and retention, the functions' log retention, tracing, the Pipe, the
  schedule, the alarms, the API's throttling;
- ``pricing/us-east-1.yaml``: list prices, each with the page and date it was read;
- what a job does on AWS (``JOB_WRITES``, ``LOG_LINES``, the happy path of the state
  machine), taken from the code, and durations (``DEFAULT_DURATIONS_MS``, replaced by
  ``--duration`` or by ``bench-results.json``'s ``durationsMs`` when present).

Prices are list prices without the free tier; the free tier is reported beside them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cloudqueue_local.template.reader import (
    ACCOUNT_ID,
    REGION,
    STACK_NAME,
    LocalTemplate,
    Resolver,
    load_template,
    read_template,
)

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
}
BENCH_RESULTS = "bench-results.json"  # {"durationsMs": {"ClaimFunction": 18.5, ...}}
WORKFLOW_FUNCTIONS = ("ClaimFunction", "ProcessFunction", "FinalizeFunction")
TASK_OVERHEAD_MS = 25.0  # Step Functions -> Lambda invoke and back, per task
EXPRESS_MEMORY_GB = 64 / 1024  # one 64 MB step: the definition and a job's data are far smaller
EXPRESS_DURATION_STEP_MS = 100

# The job item's writes (see functions/cloudqueue/adapters/dynamodb.py): a conditional put at
# submit, then the claim and the terminal write, each an update that moves statusShard.
JOB_WRITES: tuple[tuple[str, frozenset[str]], ...] = (
    ("put", frozenset()),
    ("update", frozenset({"statusShard"})),
    ("update", frozenset({"statusShard"})),
)
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's per-item storage overhead

# CloudWatch Logs bytes (each event also counts 26 bytes of metadata at ingestion).
# Line sizes measured on the local stack, whose functions print what they print on Lambda and
# whose START, END and REPORT lines follow Lambda's format; tests/local/test_function_logs.py
# checks the per-job total against a real job's invocations.
EVENT_METADATA_BYTES = 26
PLATFORM_LOG_BYTES = 3 * EVENT_METADATA_BYTES + 265  # START (70), END (51), REPORT (~144) of every invocation
INFO_LINE_BYTES = EVENT_METADATA_BYTES + 560  # one Powertools JSON log line (keys, ARNs, ids)
EMF_LINE_BYTES = EVENT_METADATA_BYTES + 215  # one Powertools metrics (EMF) line, one metric
# Per invocation, at LogLevel INFO: (info lines, EMF lines), from the handlers' code.
LOG_LINES: dict[str, tuple[float, float]] = {
    "submit": (1, 1),  # "job submitted", JobsSubmitted
    "read": (0, 0),
    "ClaimFunction": (1, 1),
    "ProcessFunction": (1, 0),
    "FinalizeFunction": (1, 1),
}
HISTORY_EVENT_BYTES = EVENT_METADATA_BYTES + 330  # an execution log record without data
LOG_COMPRESSION = 0.2  # stored (compressed) bytes per ingested byte
# Powertools metrics the code emits, each with its "service" dimension (docs/design.md#observability).
CUSTOM_METRICS = 10
ERROR_EVENTS_PER_FAILURE = 3  # e.g. LambdaFunctionFailed, TaskFailed, ExecutionFailed

# Idle long polling: a Pipe and a Lambda event source mapping each keep pollers on their queue.
POLLERS_PER_QUEUE = 5
LONG_POLL_SECONDS = 20

# Default quotas (us-east-1), each adjustable in Service Quotas.
LAMBDA_CONCURRENCY = 1000  # concurrent executions per account and Region
EXPRESS_START_RATE = 6000  # StartExecution/StartSyncExecution for Express, per second
PIPE_CONCURRENCY = 1000  # concurrent target invocations per pipe
HTTP_API_ACCOUNT_RATE = 10_000  # requests per second per account and Region
PARTITION_WRITE_UNITS = 1000  # write units per second to one partition key value
NEW_TABLE_WRITE_UNITS = 4000  # what a new on-demand table or index takes at once (it rises with use)


@dataclass(frozen=True)
class Price:
    usd: float
    per: float
    free: float
    what: str
    source: str
    date: str

    def of(self, quantity: float) -> float:
        return quantity * self.usd / self.per


def load_prices(path: Path) -> dict[str, Price]:
    document = yaml.safe_load(path.read_text())
    return {
        name: Price(
            usd=float(entry["usd"]),
            per=float(entry["per"]),
            free=float(entry.get("free", 0)),
            what=str(entry["what"]),
            source=str(entry["source"]),
            date=str(entry["date"]),
        )
        for name, entry in document["prices"].items()
    }


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


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    usd: float
    price: str
    fixed: bool = False  # the same whatever the number of jobs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Limit:
    what: str
    jobs_per_second: float
    raise_by: str


@dataclass
class Bill:
    usage: Usage
    log_level: str
    lines: list[Line]
    free_usd: float
    free_tier_jobs: dict[str, float]  # price name -> jobs a month its always-free allowance covers
    capacity: list[Limit]
    assumptions: list[str]
    floor: dict[str, float]  # design_floor: USD per million jobs by part

    @property
    def monthly_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def per_million_jobs_usd(self) -> float:
        return self.monthly_usd / self.usage.jobs_per_month * 1_000_000

    def to_json(self) -> dict[str, Any]:
        return {
            "monthlyUsd": round(self.monthly_usd, 4),
            "perMillionJobsUsd": round(self.per_million_jobs_usd, 4),
            "jobsPerMonth": self.usage.jobs_per_month,
            "executionLogLevel": self.log_level,
            "lines": [line.to_json() for line in self.lines],
            "freeTierUsd": round(self.free_usd, 4),
            "freeTierJobsPerMonth": {name: math.floor(jobs) for name, jobs in self.free_tier_jobs.items()},
            "capacity": [asdict(limit) for limit in self.capacity],
            "assumptions": self.assumptions,
            "floorPerMillionJobsUsd": round(sum(self.floor.values()), 4),
            "floorParts": [
                {"part": part, "perMillionJobsUsd": round(usd, 4)} for part, usd in self.floor.items()
            ],
        }


# --- sizes ---------------------------------------------------------------------------------


def dynamodb_bytes(value: Any) -> int:
    """The size DynamoDB bills for an attribute value (names counted by the caller)."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return 3 + sum(1 + dynamodb_bytes(item) for item in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(key.encode()) + dynamodb_bytes(inner) for key, inner in value.items())
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def sample_job_item(payload_chars: int) -> dict[str, Any]:
    """A finished text.transform job as the table holds it (while it is leased it holds a token instead)."""
    text = "x" * payload_chars
    timestamp = "2026-11-28T05:19:19.840Z"
    return {
        "jobId": "01a22097-f720-77c9-91e0-fee826d9b00e",
        "type": "text.transform",
        "payload": {"text": text},
        "status": "SUCCEEDED",
        "statusShard": "SUCCEEDED#3",
        "attempts": 1,
        "createdAt": timestamp,
        "updatedAt": timestamp,
        "startedAt": timestamp,
        "finishedAt": timestamp,
        "result": {"originalLength": payload_chars, "uppercase": text.upper(), "wordCount": 1},
        "executions": [
            f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:cloudqueue-JobStateMachine-AbCdEfGh1234:"
            "65cb3608-11a2-4551-bb8d-f10829387193:f0b4e511-cf43-4c9f-b69a-5069d690c34f"
        ],
        "leaseMessageId": "f5f5f867-cbc0-45dc-81d9-3fa1a39ab94d",
        "expiresAt": 1_790_000_000,
    }


def item_bytes(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + dynamodb_bytes(value) for name, value in item.items())


def sample_pipe_input() -> list[dict[str, Any]]:
    """What the Pipe hands the state machine for one job: an array of one SQS record."""
    return [
        {
            "messageId": "f5f5f867-cbc0-45dc-81d9-3fa1a39ab94d",
            "receiptHandle": "AQEB" + "x" * 300,
            "body": '{"jobId":"01a22097-f720-77c9-91e0-fee826d9b00e"}',
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764307159840",
                "SenderId": "AROAEXAMPLEEXAMPLE:cloudqueue-ApiFunction-AbCdEfGh1234",
                "ApproximateFirstReceiveTimestamp": "1764307159850",
            },
            "messageAttributes": {},
            "md5OfBody": "0123456789abcdef0123456789abcdef",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:cloudqueue-JobQueue-AbCdEfGh1234",
            "awsRegion": REGION,
        }
    ]


# --- what the template says ------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """The facts of template.yaml the bill depends on."""

    template: LocalTemplate
    document: dict[str, Any]
    resolver: Resolver
    root: Path

    @classmethod
    def read(cls, path: Path, overrides: dict[str, str] | None = None) -> Stack:
        template = load_template(path, overrides)
        document = read_template(path)
        resolver = Resolver(document, template.parameters, REGION, ACCOUNT_ID, STACK_NAME)
        return cls(template, document, resolver, path.parent)

    def function_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        properties = self.document["Resources"][logical_id].get("Properties") or {}
        defaults = (self.document.get("Globals") or {}).get("Function") or {}
        return self.resolver.resolve(properties.get(name, defaults.get(name, default)))

    def memory_gb(self, logical_id: str) -> float:
        return self.template.functions[logical_id].memory / 1024

    def architecture(self, logical_id: str) -> str:
        return str((self.function_property(logical_id, "Architectures") or ["x86_64"])[0])

    def tracing_active(self, logical_id: str) -> bool:
        return self.function_property(logical_id, "Tracing") == "Active"

    def state_machine(self) -> dict[str, Any]:
        ((logical_id, _),) = self.template.state_machines.items()
        return dict(self.resolver.resolve(self.document["Resources"][logical_id]["Properties"]))

    def definition(self) -> dict[str, Any]:
        ((_, spec),) = self.template.state_machines.items()
        definition: dict[str, Any] = json.loads(spec.definition)
        return definition

    def table(self) -> dict[str, Any]:
        ((_, spec),) = self.template.tables.items()
        return spec.properties

    def log_retention_days(self, logical_id: str) -> float | None:
        """Days a function's log group keeps its logs; None when Lambda creates it (forever)."""
        wanted = f"/aws/lambda/{self.template.functions[logical_id].name}"
        for group_id, resource in self.document["Resources"].items():
            if resource["Type"] != "AWS::Logs::LogGroup" or group_id not in self.template.log_groups:
                continue
            if self.template.log_groups[group_id].name == wanted:
                days = self.resolver.resolve((resource.get("Properties") or {}).get("RetentionInDays"))
                return float(days) if days is not None else None
        return None

    def count(self, resource_type: str) -> int:
        return sum(1 for resource in self.document["Resources"].values() if resource["Type"] == resource_type)

    def frontend_files(self) -> list[Path]:
        """What docs/deploying.md#the-demo-page syncs to the bucket: the folder but its screenshots
        and the local ``config.json`` (the deploy writes its own, of a few bytes, beside them)."""
        folder = self.root / "frontend"
        return sorted(
            path
            for path in folder.rglob("*")
            if path.is_file() and path.suffix != ".png" and path.name != "config.json"
        )

    def parameter(self, name: str, default: float = 0) -> float:
        return float(self.template.parameters.get(name, default))


def happy_path_events(definition: dict[str, Any]) -> tuple[int, int]:
    """(events, events that carry data) of one execution that claims, processes and succeeds.

    Follows ``Next`` and the first rule of each Choice (the "claimed" branch) from ``StartAt``.
    """
    events, with_data = 2, 2  # ExecutionStarted, ExecutionSucceeded
    name: str | None = definition["StartAt"]
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        state = definition["States"][name]
        events += 2  # <Type>StateEntered, <Type>StateExited
        with_data += 2
        if state["Type"] == "Task":
            events += 3  # TaskScheduled, TaskStarted, TaskSucceeded
            with_data += 2
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"]
        else:
            name = None if state.get("End") else state.get("Next")
    return events, with_data


# --- the bill --------------------------------------------------------------------------------


@dataclass
class _Month:
    """One month's bill as it is written, line by line."""

    stack: Stack
    prices: dict[str, Price]
    usage: Usage
    durations: dict[str, float]
    lines: list[Line] = field(default_factory=list)

    @property
    def jobs(self) -> float:
        return self.usage.jobs_per_month

    @property
    def api_requests(self) -> float:
        return self.jobs * (1 + self.usage.reads_per_job)

    @property
    def executions(self) -> float:
        return self.jobs * (1 + self.usage.failure_rate)

    @property
    def sweeps(self) -> float:
        every = min((schedule.every_seconds for schedule in self.stack.template.schedules), default=300)
        return SECONDS_PER_MONTH / every

    def add(
        self, service: str, item: str, quantity: float, unit: str, price: str, *, fixed: bool = False
    ) -> None:
        usd = self.prices[price].of(quantity)
        self.lines.append(Line(service, item, quantity, unit, usd, price, fixed))


def _api_and_functions(month: _Month) -> None:
    """API Gateway's requests; each Lambda's requests and GB-seconds."""
    jobs, durations = month.jobs, month.durations
    month.add("API Gateway", "HTTP API requests", month.api_requests, "requests", "apigateway_http_request")
    invocations = {
        "ApiFunction": month.api_requests,
        "ClaimFunction": month.executions,
        "ProcessFunction": jobs,
        "FinalizeFunction": jobs,
        "DeadLetterFunction": jobs * month.usage.failure_rate / 10,  # rare, and in batches
        "RequeueFunction": month.sweeps,
    }
    for name, count in invocations.items():
        if name not in month.stack.template.functions:
            continue
        fixed = name == "RequeueFunction"
        month.add("Lambda", f"{name} requests", count, "requests", "lambda_request", fixed=fixed)
        memory, arch = month.stack.memory_gb(name), month.stack.architecture(name)
        month.add(
            "Lambda",
            f"{name} {memory * 1024:.0f} MB {arch} x {durations[name]:g} ms",
            count * durations[name] / 1000 * memory,
            "GB-s",
            f"lambda_gb_second_{arch}",
            fixed=fixed,
        )


def _pipe_batch(stack: Stack) -> int:
    return max((pipe.batch_size for pipe in stack.template.pipes.values()), default=1)


def sqs_requests_per_job(stack: Stack) -> float:
    """The submit's send, and the Pipe's receive and delete, shared by a batch."""
    return 1 + 2 / _pipe_batch(stack)


def pipe_requests_per_job(stack: Stack) -> float:
    return 1 / _pipe_batch(stack) if stack.template.pipes else 0.0


def _messaging(month: _Month) -> None:
    """SQS requests, the Pipe's requests, and the Express executions."""
    template = month.stack.template
    month.add(
        "SQS",
        "send, receive, delete per job",
        month.jobs * sqs_requests_per_job(month.stack),
        "requests",
        "sqs_request",
    )
    polled = len(template.pipes) + len(template.queue_triggers)
    month.add(
        "SQS",
        f"empty long polls ({polled} queues x {POLLERS_PER_QUEUE} pollers)",
        polled * POLLERS_PER_QUEUE * SECONDS_PER_MONTH / LONG_POLL_SECONDS,
        "requests",
        "sqs_request",
        fixed=True,
    )
    if template.pipes:
        month.add(
            "EventBridge Pipes",
            "requests",
            month.jobs * pipe_requests_per_job(month.stack),
            "requests",
            "pipes_request",
        )
    run_ms = sum(month.durations[name] + TASK_OVERHEAD_MS for name in WORKFLOW_FUNCTIONS)
    billed_ms = math.ceil(run_ms / EXPRESS_DURATION_STEP_MS) * EXPRESS_DURATION_STEP_MS
    month.add(
        "Step Functions", "Express executions", month.executions, "requests", "stepfunctions_express_request"
    )
    month.add(
        "Step Functions",
        f"Express duration (64 MB x {billed_ms} ms)",
        month.executions * EXPRESS_MEMORY_GB * billed_ms / 1000,
        "GB-s",
        "stepfunctions_express_gb_second",
    )


def _index_writes(index: dict[str, Any], item: dict[str, Any], size: int) -> tuple[int, int]:
    """(write units per job, bytes per item) of one global secondary index."""
    keys = {entry["AttributeName"] for entry in index["KeySchema"]}
    if not keys <= set(item):
        return 0, 0  # a sparse index that a job's normal path never enters
    projection = index["Projection"]["ProjectionType"]
    key_bytes = sum(len(key) + dynamodb_bytes(item[key]) for key in keys) + 60
    entry = key_bytes if projection == "KEYS_ONLY" else size
    units = 0
    for kind, moved in JOB_WRITES:
        writes = 1 if kind == "put" else (2 if keys & moved else int(projection != "KEYS_ONLY"))
        units += writes * math.ceil(entry / 1024)
    return units, entry + ITEM_OVERHEAD_BYTES


def _dynamodb(month: _Month) -> None:
    """The job's writes and those of every index that holds it, its reads, its storage."""
    item = sample_job_item(month.usage.payload_chars)
    size = item_bytes(item) + 60  # a leased item also holds leaseToken and leaseExpiresAt
    table = month.stack.table()
    indexes = [_index_writes(index, item, size) for index in table.get("GlobalSecondaryIndexes", [])]
    writes = "dynamodb_write_request_unit"
    month.add(
        "DynamoDB",
        f"job writes ({len(JOB_WRITES)} x {size} B)",
        month.jobs * len(JOB_WRITES) * math.ceil(size / 1024),
        "WRU",
        writes,
    )
    month.add(
        "DynamoDB",
        "index writes (a moved key: delete + put)",
        month.jobs * sum(units for units, _ in indexes),
        "WRU",
        writes,
    )
    reads = month.jobs * month.usage.reads_per_job * 0.5 * math.ceil(size / 4096)
    month.add("DynamoDB", "reads (eventually consistent)", reads, "RRU", "dynamodb_read_request_unit")
    sweep_reads = month.sweeps * month.stack.parameter("StatusShards", 4) * 0.5
    month.add("DynamoDB", "sweeper's queries", sweep_reads, "RRU", "dynamodb_read_request_unit", fixed=True)
    months = (month.stack.parameter("RetentionDays", 30) + 1) / 30
    table_gb = month.jobs * months * (size + ITEM_OVERHEAD_BYTES) / GB
    stored_gb = table_gb + month.jobs * months * sum(entry for _, entry in indexes) / GB
    month.add(
        "DynamoDB",
        f"storage ({months:.1f} months of jobs, indexes too)",
        stored_gb,
        "GB-month",
        "dynamodb_storage_gb_month",
    )
    if (table.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
        month.add("DynamoDB", "point-in-time recovery", table_gb, "GB-month", "dynamodb_pitr_gb_month")


def execution_log_bytes(stack: Stack, log_level: str, failure_rate: float, payload_chars: int = 16) -> float:
    """Bytes of execution history one job logs at ``log_level``."""
    events, with_data = happy_path_events(stack.definition())
    logging = stack.state_machine().get("Logging") or {}
    included = bool(logging.get("IncludeExecutionData"))
    # The execution's input (the Pipe's records) is logged twice, before ParseMessage reads the
    # job id; later events carry the job's own data, about the size of its item.
    record = len(json.dumps(sample_pipe_input())) if included else 0
    job = item_bytes(sample_job_item(payload_chars)) if included else 0
    if log_level == "ALL":
        return events * HISTORY_EVENT_BYTES + 2 * record + (with_data - 2) * job
    # ERROR and FATAL log only the failure events of the executions that fail.
    failure_events = {"ERROR": ERROR_EVENTS_PER_FAILURE, "FATAL": 1}.get(log_level, 0)
    return failure_rate * failure_events * (HISTORY_EVENT_BYTES + job)


def function_log_bytes(stack: Stack, reads_per_job: float) -> float:
    """Bytes the functions log per job, as CloudWatch Logs ingests them: the submit, the reads,
    the claim, process and finalize invocations."""
    info = 0.0 if stack.template.parameters.get("LogLevel") in ("WARNING", "ERROR") else 1.0
    per_call = {
        key: PLATFORM_LOG_BYTES + info * lines * INFO_LINE_BYTES + emf * EMF_LINE_BYTES
        for key, (lines, emf) in LOG_LINES.items()
    }
    return (
        per_call["submit"]
        + reads_per_job * per_call["read"]
        + sum(per_call[name] for name in WORKFLOW_FUNCTIONS)
    )


def _logs_and_metrics(month: _Month, log_level: str) -> None:
    """Execution history at the log level, the functions' logs, metrics and alarms."""
    stack, jobs = month.stack, month.jobs
    history = execution_log_bytes(stack, log_level, month.usage.failure_rate, month.usage.payload_chars)
    history_gb = jobs * history / GB
    month.add(
        "CloudWatch Logs",
        f"execution history at {log_level} ({history:,.0f} B/job)",
        history_gb,
        "GB",
        "logs_ingestion_gb",
    )
    days = stack.parameter("LogRetentionDays", 30)
    month.add(
        "CloudWatch Logs",
        f"execution history kept {days:g} days",
        history_gb * days / 30 * LOG_COMPRESSION,
        "GB-month",
        "logs_storage_gb_month",
    )
    per_job = function_log_bytes(stack, month.usage.reads_per_job)
    function_gb = jobs * per_job / GB
    month.add(
        "CloudWatch Logs", f"functions' logs ({per_job:,.0f} B/job)", function_gb, "GB", "logs_ingestion_gb"
    )
    retention = [stack.log_retention_days(name) for name in ("ApiFunction", *WORKFLOW_FUNCTIONS)]
    kept = max(365.0 if days is None else days for days in retention)
    said = "never expire: a year's worth" if None in retention else f"kept {kept:g} days"
    month.add(
        "CloudWatch Logs",
        f"functions' logs {said}",
        function_gb * kept / 30 * LOG_COMPRESSION,
        "GB-month",
        "logs_storage_gb_month",
    )
    month.add(
        "CloudWatch",
        f"custom metrics ({CUSTOM_METRICS}, EMF)",
        CUSTOM_METRICS,
        "metrics",
        "cloudwatch_custom_metric_month",
        fixed=True,
    )
    alarms = stack.count("AWS::CloudWatch::Alarm")
    month.add("CloudWatch", f"alarms ({alarms})", alarms, "alarms", "cloudwatch_alarm_month", fixed=True)


def _traces(month: _Month) -> None:
    """X-Ray, when tracing is on: a trace per API request, and one per execution (or per task)."""
    stack = month.stack
    traces = month.api_requests if stack.tracing_active("ApiFunction") else 0.0
    if (stack.state_machine().get("Tracing") or {}).get("Enabled") is True:
        traces += month.executions
    elif any(stack.tracing_active(name) for name in WORKFLOW_FUNCTIONS):
        traces += month.executions * len(WORKFLOW_FUNCTIONS)
    if traces:
        month.add(
            "X-Ray",
            "traces recorded (default sampling)",
            _traces_recorded(traces),
            "traces",
            "xray_trace_recorded",
        )


def _page(month: _Month) -> None:
    """The demo page: S3 storage and GETs, CloudFront requests and bytes."""
    if not (month.stack.count("AWS::S3::Bucket") and month.stack.count("AWS::CloudFront::Distribution")):
        return
    files = month.stack.frontend_files()
    size = sum(path.stat().st_size for path in files)
    views = month.usage.page_views
    month.add(
        "S3",
        f"frontend storage ({len(files)} files)",
        size / GB,
        "GB-month",
        "s3_storage_gb_month",
        fixed=True,
    )
    month.add(
        "S3",
        "GETs on CloudFront cache misses (1 %)",
        views * len(files) * 0.01,
        "requests",
        "s3_get_request",
        fixed=True,
    )
    month.add(
        "CloudFront", "HTTPS requests", views * len(files), "requests", "cloudfront_https_request", fixed=True
    )
    month.add(
        "CloudFront",
        "data out (compressed to 30 %)",
        views * size * 0.3 / GB,
        "GB",
        "cloudfront_data_out_gb",
        fixed=True,
    )


def _traces_recorded(traces_per_month: float) -> float:
    """X-Ray's default sampling: the first request each second, then 5 % of the rest."""
    rate = traces_per_month / SECONDS_PER_MONTH
    return SECONDS_PER_MONTH * (min(rate, 1.0) + 0.05 * max(rate - 1.0, 0.0))


def design_floor(stack: Stack, prices: dict[str, Price]) -> dict[str, float]:
    """What every job pays under this design in requests and writes alone, per million jobs, at
    list prices, by part: before any duration, index write, read, log, metric or free tier.
    No tuning of the template goes below it; only a change of design does."""
    workflow = [name for name in WORKFLOW_FUNCTIONS if name in stack.template.functions]
    parts = {
        "an HTTP API request (the submit)": prices["apigateway_http_request"].of(1),
        f"{1 + len(workflow)} Lambda requests (API, {', '.join(workflow)})": prices["lambda_request"].of(
            1 + len(workflow)
        ),
        f"{sqs_requests_per_job(stack):g} SQS requests (send, receive, delete)": prices["sqs_request"].of(
            sqs_requests_per_job(stack)
        ),
        "a Pipe request": prices["pipes_request"].of(pipe_requests_per_job(stack)),
        "an Express execution": prices["stepfunctions_express_request"].of(1),
        f"{len(JOB_WRITES)} writes of the job (one unit each)": prices["dynamodb_write_request_unit"].of(
            len(JOB_WRITES)
        ),
    }
    return {part: usd * 1_000_000 for part, usd in parts.items() if usd}


def compute_bill(stack: Stack, prices: dict[str, Price], usage: Usage) -> Bill:
    """The month's bill for ``usage`` on the stack ``stack`` describes."""
    log_level = usage.log_level or str((stack.state_machine().get("Logging") or {}).get("Level", "OFF"))
    month = _Month(stack, prices, usage, DEFAULT_DURATIONS_MS | usage.durations_ms)
    _api_and_functions(month)
    _messaging(month)
    _dynamodb(month)
    _logs_and_metrics(month, log_level)
    _traces(month)
    _page(month)
    free_usd, free_jobs = _free_tier(month.lines, prices, month.jobs)
    return Bill(
        usage=usage,
        log_level=log_level,
        lines=month.lines,
        free_usd=free_usd,
        free_tier_jobs=free_jobs,
        capacity=capacity(stack, usage, month.durations),
        assumptions=_assumptions(month.durations, usage),
        floor=design_floor(stack, prices),
    )


def _free_tier(lines: list[Line], prices: dict[str, Price], jobs: float) -> tuple[float, dict[str, float]]:
    """What the always-free allowances take off this bill, and the jobs a month each covers.

    Lines whose service has no always-free allowance (HTTP API, Pipes, Express, on-demand
    DynamoDB requests) are paid from the first job.
    """
    used: dict[str, float] = {}
    fixed: dict[str, float] = {}
    for line in lines:
        used[line.price] = used.get(line.price, 0.0) + line.quantity
        if line.fixed or line.unit == "GB-month":
            fixed[line.price] = fixed.get(line.price, 0.0) + line.quantity
    saved = sum(prices[name].of(min(quantity, prices[name].free)) for name, quantity in used.items())
    covered = {
        name: max(0.0, prices[name].free - fixed.get(name, 0.0)) / ((quantity - fixed.get(name, 0.0)) / jobs)
        for name, quantity in used.items()
        if quantity > fixed.get(name, 0.0) and prices[name].free > 0
    }
    return saved, covered


def capacity(stack: Stack, usage: Usage, durations: dict[str, float]) -> list[Limit]:
    """Jobs per second each default quota allows, the tightest first."""
    api_per_job = 1 + usage.reads_per_job
    lambda_seconds = (
        api_per_job * durations["ApiFunction"] + sum(durations[n] for n in WORKFLOW_FUNCTIONS)
    ) / 1000
    execution_seconds = sum(durations[n] + TASK_OVERHEAD_MS for n in WORKFLOW_FUNCTIONS) / 1000
    shards = stack.parameter("StatusShards", 4)
    api_rate = stack.parameter("ApiThrottleRate", HTTP_API_ACCOUNT_RATE)
    limits = [
        Limit(
            f"Lambda concurrency {LAMBDA_CONCURRENCY} / {lambda_seconds * 1000:.0f} ms of functions per job",
            LAMBDA_CONCURRENCY / lambda_seconds,
            "the account's Lambda concurrent executions (Service Quotas)",
        ),
        Limit(
            f"Express start rate {EXPRESS_START_RATE}/s",
            EXPRESS_START_RATE,
            "Step Functions StartSyncExecution rate for Express (Service Quotas)",
        ),
        Limit(
            f"Pipe concurrency {PIPE_CONCURRENCY} / {execution_seconds * 1000:.0f} ms per execution",
            PIPE_CONCURRENCY / execution_seconds,
            "the Pipe's concurrency quota, or a second Pipe on the queue",
        ),
        Limit(
            f"status index: {shards:g} shards x {PARTITION_WRITE_UNITS} WRU/s, 2 writes per job per status",
            shards * PARTITION_WRITE_UNITS / 2,
            "StatusShards (the index spreads each status over that many partition keys)",
        ),
        Limit(
            f"new on-demand table and index: {NEW_TABLE_WRITE_UNITS} WRU/s at once",
            NEW_TABLE_WRITE_UNITS / 5,
            "the table's and index's WarmThroughput (or let on-demand scale up with use)",
        ),
        Limit(
            f"API throttling ApiThrottleRate {api_rate:g}/s, {api_per_job:g} requests per job",
            min(api_rate, HTTP_API_ACCOUNT_RATE) / api_per_job,
            f"ApiThrottleRate (the account's HTTP API quota is {HTTP_API_ACCOUNT_RATE}/s)",
        ),
    ]
    return sorted(limits, key=lambda limit: limit.jobs_per_second)


def _assumptions(durations: dict[str, float], usage: Usage) -> list[str]:
    return [
        "list prices in us-east-1 from pricing/us-east-1.yaml, without the free tier",
        "durations (ms): " + ", ".join(f"{name} {ms:g}" for name, ms in durations.items()),
        f"{usage.reads_per_job:g} GET per job; {usage.failure_rate:.0%} of executions fail; "
        f"payload of {usage.payload_chars} characters; {usage.page_views:g} page views",
        f"{POLLERS_PER_QUEUE} pollers per queue long-polling {LONG_POLL_SECONDS} s when idle",
        f"{LOG_COMPRESSION:.0%} of ingested log bytes stored (compression); 30-day months",
    ]


def durations_from(root: Path, given: dict[str, float]) -> dict[str, float]:
    """Defaults, then the bench results file if present, then what the user gave."""
    durations = dict(DEFAULT_DURATIONS_MS)
    bench = root / BENCH_RESULTS
    if bench.is_file():
        durations |= {
            name: float(ms) for name, ms in json.loads(bench.read_text()).get("durationsMs", {}).items()
        }
    unknown = set(given) - set(durations)
    if unknown:
        raise ValueError(f"no function {', '.join(sorted(unknown))} (known: {', '.join(durations)})")
    return durations | given


def bill_for(root: Path, usage: Usage) -> Bill:
    overrides = {"ExecutionLogLevel": usage.log_level} if usage.log_level else None
    stack = Stack.read(root / "template.yaml", overrides)
    return compute_bill(stack, load_prices(root / "pricing" / "us-east-1.yaml"), usage)


def bills_by_level(root: Path, usage: Usage, levels: tuple[str, ...] = ("ERROR", "ALL")) -> Iterator[Bill]:
    for level in levels:
        yield bill_for(root, replace(usage, log_level=level))


# --- printing ----------------------------------------------------------------------------------


def render(bills: list[Bill], prices: dict[str, Price], console: Any) -> None:
    """The bills side by side (one column per log level), then free tier, capacity, assumptions."""
    from rich.table import Table

    first = bills[0]
    jobs = first.usage.jobs_per_month
    table = Table(title=f"CloudQueue on AWS, us-east-1: {jobs:,.0f} jobs a month (list prices)")
    for column in ("service", "line", "quantity", "unit"):
        table.add_column(column)
    for bill in bills:
        table.add_column(f"USD/month {bill.log_level}", justify="right")
    for index, line in enumerate(first.lines):
        row = [line.service, line.item, f"{line.quantity:,.2f}", line.unit]
        row += [f"{bill.lines[index].usd:,.3f}" for bill in bills]
        if first.lines[index].item != bills[-1].lines[index].item:
            row[1] = " / ".join(dict.fromkeys(bill.lines[index].item for bill in bills))
        table.add_row(*row)
    table.add_section()
    table.add_row("total", "per month", "", "", *(f"{bill.monthly_usd:,.2f}" for bill in bills))
    table.add_row(
        "total", "per million jobs", "", "", *(f"{bill.per_million_jobs_usd:,.2f}" for bill in bills)
    )
    table.add_row(
        "free tier", "always-free allowances take off", "", "", *(f"-{bill.free_usd:,.2f}" for bill in bills)
    )
    table.add_row(
        "floor",
        "this design's requests and writes, per million jobs",
        "",
        "",
        *(f"{sum(bill.floor.values()):,.2f}" for bill in bills),
    )
    console.print(table)
    console.print(floor_sentence(first).replace("**", ""))
    console.print("Jobs a month each always-free allowance covers on its own:")
    for name, covered in sorted(first.free_tier_jobs.items(), key=lambda item: item[1]):
        console.print(f"  {prices[name].what.split(' (')[0]}: {covered:,.0f}")
    console.print("  HTTP API, Pipes, Express and on-demand DynamoDB requests: none (no always-free tier)")
    capacity = Table(title="Capacity under default quotas (tightest first)")
    for column in ("jobs/s", "quota", "to go 10x further, raise"):
        capacity.add_column(column)
    bound = first.capacity[0].jobs_per_second
    for limit in first.capacity:
        raise_by = limit.raise_by if limit.jobs_per_second < 10 * bound else "(enough)"
        capacity.add_row(f"{limit.jobs_per_second:,.0f}", limit.what, raise_by)
    console.print(capacity)
    console.print("Assumptions: " + "; ".join(first.assumptions))


def floor_sentence(bill: Bill) -> str:
    parts = "; ".join(f"{part} ${usd:,.2f}" for part, usd in bill.floor.items())
    return (
        f"**This design's floor: ${sum(bill.floor.values()):,.2f} per million jobs**, what every job "
        f"pays in requests and writes alone, before any duration, index write, read, log or metric: {parts}."
    )


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(bills: list[Bill], tenfold: list[Bill], prices: dict[str, Price]) -> str:
    """The figures of docs/cost.md#the-bill: the bills side by side as a Markdown table, what they come to
    per million jobs here and at ten times the volume (``tenfold``), the free tier, capacity."""
    first = bills[0]
    levels = [bill.log_level for bill in bills]
    out = [
        _row(["service", "line", "quantity", "unit", *(f"{level} $/month" for level in levels)]),
        _row(["---", "---", "---:", "---", *("---:" for _ in levels)]),
    ]
    for index, line in enumerate(first.lines):
        items = dict.fromkeys(bill.lines[index].item for bill in bills)
        quantities = dict.fromkeys(_quantity(bill.lines[index].quantity) for bill in bills)
        out.append(
            _row(
                [line.service, " / ".join(items), " / ".join(quantities), line.unit]
                + [f"{bill.lines[index].usd:,.3f}" for bill in bills]
            )
        )
    monthly = [f"**{bill.monthly_usd:,.2f}**" for bill in bills]
    per_million = [f"**{bill.per_million_jobs_usd:,.2f}**" for bill in bills]
    if monthly == per_million:
        out.append(_row(["**total**", "**per month = per million jobs**", "", "", *monthly]))
    else:
        out.append(_row(["**total**", "**per month**", "", "", *monthly]))
        out.append(_row(["**total**", "**per million jobs**", "", "", *per_million]))
    free = [f"-{bill.free_usd:,.2f}" for bill in bills]
    out.append(_row(["free tier", "always-free allowances take off", "", "", *free]))

    def figures(group: list[Bill]) -> str:
        return ", ".join(f"${bill.per_million_jobs_usd:,.2f} at {bill.log_level}" for bill in group)

    out += [
        "",
        f"**Per million jobs: {figures(bills)}** at {first.usage.jobs_per_month:,.0f} jobs a month; "
        f"{figures(tenfold)} at {tenfold[0].usage.jobs_per_month:,.0f} a month, where the fixed lines "
        "(idle polling, metrics, alarms) weigh less.",
        "",
        floor_sentence(first),
        "",
        "Jobs a month that each always-free allowance covers on its own: "
        + "; ".join(
            f"{prices[name].what.split(' (')[0]} {covered:,.0f}"
            for name, covered in sorted(first.free_tier_jobs.items(), key=lambda item: item[1])
        )
        + ".",
        "",
        _row(["jobs/s", "what binds first under default quotas", "to go ten times further, raise"]),
        _row(["---:", "---", "---"]),
    ]
    bound = first.capacity[0].jobs_per_second
    for limit in first.capacity:
        raise_by = limit.raise_by if limit.jobs_per_second < 10 * bound else "enough"
        out.append(_row([f"{limit.jobs_per_second:,.0f}", limit.what, raise_by]))
    out += ["", "Assumptions: " + "; ".join(first.assumptions) + "."]
    return "\n".join(out) + "\n"
