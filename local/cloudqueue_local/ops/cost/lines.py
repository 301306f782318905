"""The bill's lines, service by service: what a month of jobs asks of each priced unit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cloudqueue_local.ops.cost.assumptions import (
    EXPRESS_DURATION_STEP_MS,
    EXPRESS_MEMORY_GB,
    GB,
    ITEM_OVERHEAD_BYTES,
    JOB_WRITES,
    KEYED_JOB_READ_UNITS,
    KEYED_JOB_WRITE_UNITS,
    LOG_COMPRESSION,
    LONG_POLL_SECONDS,
    POLLERS_PER_QUEUE,
    SECONDS_PER_MONTH,
    TASK_OVERHEAD_MS,
    WORKFLOW_FUNCTIONS,
    Usage,
)
from cloudqueue_local.ops.cost.bill import Line
from cloudqueue_local.ops.cost.prices import Price
from cloudqueue_local.ops.cost.sizes import (
    dynamodb_bytes,
    execution_log_bytes,
    function_log_bytes,
    item_bytes,
    sample_job_item,
)
from cloudqueue_local.ops.cost.stack import Stack


@dataclass
class Month:
    """One month's bill as it is written, line by line."""

    stack: Stack
    prices: dict[str, Price]
    usage: Usage
    durations: dict[str, float]
    lines: list[Line] = field(default_factory=list)

    @property
    def jobs(self) -> float:
        """Jobs submitted in the month."""
        return self.usage.jobs_per_month

    @property
    def api_requests(self) -> float:
        """The submits (one request per batch) and the reads."""
        return self.jobs * (1 / self.usage.submit_batch + self.usage.reads_per_job)

    @property
    def executions(self) -> float:
        """Executions of the state machine: one per job, plus one per failed execution."""
        return self.jobs * (1 + self.usage.failure_rate)

    @property
    def sweeps(self) -> float:
        """Runs of the scheduled sweeper in the month."""
        every = min((schedule.every_seconds for schedule in self.stack.template.schedules), default=300)
        return SECONDS_PER_MONTH / every

    @property
    def deliveries(self) -> float:
        """Webhook attempts in the month (each recorded on its job): none without WebhookFunction."""
        if "WebhookFunction" not in self.stack.template.functions:
            return 0.0
        return self.jobs * self.usage.callback_share * (1 + self.usage.webhook_retry_rate)

    def invocations(self) -> dict[str, float]:
        """Each function of the stack -> its invocations in the month."""
        counts = {
            "ApiFunction": self.api_requests,
            "ClaimFunction": self.executions,
            "ProcessFunction": self.jobs,
            "FinalizeFunction": self.jobs,
            "DeadLetterFunction": self.jobs * self.usage.failure_rate / 10,  # rare, and in batches
            "RequeueFunction": self.sweeps,
            # One batch per write of a job at low traffic, a delivery's record among them.
            "EventsFunction": self.jobs * len(JOB_WRITES) + self.deliveries,
            "WebhookFunction": self.deliveries,
        }
        return {name: count for name, count in counts.items() if name in self.stack.template.functions}

    def add(
        self,
        service: str,
        item: str,
        quantity: float,
        unit: str,
        price: str,
        *,
        fixed: bool = False,
        prorated: bool = False,
    ) -> None:
        """A line of ``quantity`` units at the price named ``price``."""
        usd = self.prices[price].of(quantity)
        self.lines.append(Line(service, item, quantity, unit, usd, price, fixed, prorated))


def api_and_functions(month: Month) -> None:
    """API Gateway's requests; each Lambda's requests and GB-seconds."""
    durations = month.durations
    month.add("API Gateway", "HTTP API requests", month.api_requests, "requests", "apigateway_http_request")
    for name, count in month.invocations().items():
        fixed = name == "RequeueFunction"
        month.add("Lambda", f"{name} requests", count, "requests", "lambda_request", fixed=fixed)
        memory, arch = month.stack.memory_gb(name), month.stack.architecture(name)
        # A batch submit's invocation lasts longer than a single submit's: its time is counted
        # per job, as if each job were submitted alone (unmeasured; an upper bound).
        timed = month.jobs * (1 + month.usage.reads_per_job) if name == "ApiFunction" else count
        month.add(
            "Lambda",
            f"{name} {memory * 1024:.0f} MB {arch} x {durations[name]:g} ms",
            timed * durations[name] / 1000 * memory,
            "GB-s",
            f"lambda_gb_second_{arch}",
            fixed=fixed,
        )


def _pipe_batch(stack: Stack) -> int:
    return max((pipe.batch_size for pipe in stack.template.pipes.values()), default=1)


def sqs_requests_per_job(stack: Stack, submit_batch: int = 1) -> float:
    """The submit's send (a SendMessageBatch carries ten of a batch submit's jobs), and the
    Pipe's receive and delete, shared by a batch."""
    sends = math.ceil(submit_batch / 10) / submit_batch
    return sends + 2 / _pipe_batch(stack)


def pipe_requests_per_job(stack: Stack) -> float:
    """The Pipe's requests per job: one per batch it hands over."""
    return 1 / _pipe_batch(stack) if stack.template.pipes else 0.0


def messaging(month: Month) -> None:
    """SQS requests, the Pipe's requests, and the Express executions."""
    template = month.stack.template
    month.add(
        "SQS",
        "send, receive, delete per job",
        month.jobs * sqs_requests_per_job(month.stack, month.usage.submit_batch),
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
    if month.stack.template.schedule_groups:
        month.add(
            "EventBridge Scheduler",
            f"invocations ({month.usage.scheduler_share:.0%} of jobs: delays past 15 min, recurring firings)",
            month.jobs * month.usage.scheduler_share,
            "requests",
            "scheduler_invocation",
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


def index_writes(index: dict[str, Any], item: dict[str, Any], size: int) -> tuple[int, int]:
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


def _control(month: Month) -> None:
    """Concurrency slots and the job context's progress writes and cancel checks, for the jobs
    that use them (no line when none do)."""
    keyed = month.jobs * month.usage.keyed_share
    if keyed:
        month.add(
            "DynamoDB",
            f"concurrency slots ({KEYED_JOB_WRITE_UNITS} writes per keyed job)",
            keyed * KEYED_JOB_WRITE_UNITS,
            "WRU",
            "dynamodb_write_request_unit",
        )
        month.add(
            "DynamoDB",
            "concurrency slot reads (consistent)",
            keyed * KEYED_JOB_READ_UNITS,
            "RRU",
            "dynamodb_read_request_unit",
        )
    seconds = month.jobs * month.usage.reporting_seconds
    if seconds:
        month.add("DynamoDB", "progress writes (1 a second)", seconds, "WRU", "dynamodb_write_request_unit")
        month.add(
            "DynamoDB",
            "cancel checks (2 a second, eventually consistent)",
            seconds,
            "RRU",
            "dynamodb_read_request_unit",
        )


def dynamodb(month: Month) -> None:
    """The job's writes and those of every index that holds it, its reads, its storage."""
    item = sample_job_item(month.usage.payload_chars)
    size = item_bytes(item) + 60  # a leased item also holds leaseToken and leaseExpiresAt
    table = month.stack.table()
    indexes = [index_writes(index, item, size) for index in table.get("GlobalSecondaryIndexes", [])]
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
        "index writes (each index that holds the job; a moved key: delete + put)",
        month.jobs * sum(units for units, _ in indexes),
        "WRU",
        writes,
    )
    _control(month)
    reads = month.jobs * month.usage.reads_per_job * 0.5 * math.ceil(size / 4096)
    month.add("DynamoDB", "reads (eventually consistent)", reads, "RRU", "dynamodb_read_request_unit")
    sweep_reads = month.sweeps * month.stack.list_shards() * 0.5
    month.add("DynamoDB", "sweeper's queries", sweep_reads, "RRU", "dynamodb_read_request_unit", fixed=True)
    # The stranded-job sweep reads each job once, a day after the queue's retention has passed
    # over its day (a keys-only query, then BatchGetItem): one eventually consistent read.
    stranded_reads = month.jobs * 0.5 * math.ceil(size / 4096)
    month.add(
        "DynamoDB",
        "sweeper's stranded-job check (a read per job)",
        stranded_reads,
        "RRU",
        "dynamodb_read_request_unit",
    )
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


def logs_and_alarms(month: Month, log_level: str) -> None:
    """Execution history at the log level, the functions' logs, and the alarms."""
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
    alarms = stack.count("AWS::CloudWatch::Alarm")
    month.add("CloudWatch", f"alarms ({alarms})", alarms, "alarms", "cloudwatch_alarm_month", fixed=True)


def traces(month: Month) -> None:
    """X-Ray, when tracing is on: a trace per API request, and one per execution (or per task)."""
    stack = month.stack
    traces = month.api_requests if stack.tracing_active("ApiFunction") else 0.0
    if stack.state_machine().tracing_enabled:
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


def page(month: Month) -> None:
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
