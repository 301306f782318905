"""The bill's lines beyond each job's requests, writes and logs: the custom metrics (prorated by
the hour), the dashboards, the table's KMS key, the API's data transfer out, and Lambda's INIT."""

from __future__ import annotations

import math

from cloudqueue_local.ops.cost.assumptions import (
    ENVIRONMENT_HOURS,
    GB,
    HOURS_PER_MONTH,
    IDLE_MINUTES,
    KMS_REFRESH_SECONDS,
    PEAK_TO_MEAN,
    SECONDS_PER_MONTH,
)
from cloudqueue_local.ops.cost.lines import Month
from cloudqueue_local.ops.cost.metrics import PUBLICATIONS, metric_months, scan_metrics
from cloudqueue_local.ops.cost.sizes import response_bytes

FREE_DASHBOARDS = 3  # CloudWatch: three dashboards (up to 50 metrics each) free in every account


def metrics_and_dashboards(month: Month) -> None:
    """One line per custom metric the code emits, at the hours it is published; the dashboards."""
    code = month.stack.root / "functions" / "cloudqueue"
    emitted = scan_metrics(code) if code.is_dir() else scan_metrics()
    # Only what the stack's functions emit: an option left off (Webhooks) publishes nothing.
    deployed = {spec.handler.rsplit(".", 1)[0] for spec in month.stack.template.functions.values()}
    emitted = {name: each for name, each in emitted.items() if set(each.modules) & deployed}
    guarded = frozenset(name for name, emission in emitted.items() if emission.guarded)
    months = metric_months(month.usage, month.sweeps, guarded)
    known = list(PUBLICATIONS)
    # In the model's order (every job's first), the same at every volume: bills line up.
    for name in sorted(emitted, key=lambda each: (known.index(each) if each in known else -1, each)):
        # A metric the model does not know is priced whole (tests/unit/test_cost.py fails on it).
        when, fraction = months.get(name, ("unknown: priced whole", 1.0))
        copies = max(1, len(emitted[name].modules))  # one metric per function (its "service")
        month.add(
            "CloudWatch",
            f"metric {name} ({when})" + (f" x {copies} functions" if copies > 1 else ""),
            fraction * copies,
            "metric-months",
            "cloudwatch_custom_metric_month",
            prorated=True,
        )
    # The first three dashboards of an account cost nothing, in every account and month (not a
    # usage allowance that the "no free tier" bill leaves out): only those past three are billed.
    dashboards = month.stack.count("AWS::CloudWatch::Dashboard")
    month.add(
        "CloudWatch",
        f"dashboards ({dashboards}; the first {FREE_DASHBOARDS} of an account are free)",
        max(0, dashboards - FREE_DASHBOARDS),
        "dashboards",
        "cloudwatch_dashboard_month",
        fixed=True,
    )


def environments(month: Month, function: str, invocations: float) -> tuple[float, float]:
    """(environments a function keeps warm on average, cold starts in the month).

    Its mean concurrency (rate x duration) rounded up, at least one while it is invoked more
    often than environments are reclaimed; each recycled every ENVIRONMENT_HOURS; a daily peak of
    PEAK_TO_MEAN times the rate starts its extra environments once a day; and an invocation that
    follows a gap longer than IDLE_MINUTES starts cold (Poisson arrivals: a share exp(-rate x gap)).
    """
    rate = invocations / SECONDS_PER_MONTH
    seconds = month.durations[function] / 1000
    idle_cold = invocations * math.exp(-rate * IDLE_MINUTES * 60)
    warm = max(1, math.ceil(rate * seconds)) * (1 - math.exp(-rate * IDLE_MINUTES * 60))
    peak = max(warm, math.ceil(PEAK_TO_MEAN * rate * seconds))
    days = SECONDS_PER_MONTH / 86_400
    return warm, idle_cold + warm * HOURS_PER_MONTH / ENVIRONMENT_HOURS + (peak - warm) * days


def lambda_init(month: Month) -> None:
    """INIT of each function's cold starts, billed as duration since 2025-08-01."""
    for name, invocations in month.invocations().items():
        _, cold = environments(month, name, invocations)
        init_ms = month.usage.init_ms.get(name, 0.0)
        memory, arch = month.stack.memory_gb(name), month.stack.architecture(name)
        month.add(
            "Lambda",
            f"{name} INIT ({init_ms:g} ms per cold start)",
            cold * init_ms / 1000 * memory,
            "GB-s",
            f"lambda_gb_second_{arch}",
            prorated=True,
        )


def table_key(month: Month) -> None:
    """KMS for the table: nothing with the AWS owned key; requests with the AWS managed key
    (aws/dynamodb); requests and a monthly key with a customer managed key."""
    key = month.stack.table_key()
    if key == "owned":
        return
    warm = sum(environments(month, name, count)[0] for name, count in month.invocations().items())
    requests = warm * SECONDS_PER_MONTH / KMS_REFRESH_SECONDS
    described = "aws/dynamodb (AWS managed)" if key == "managed" else "customer managed key"
    month.add(
        "KMS",
        f"table key {described}: a request per warm caller every {KMS_REFRESH_SECONDS // 60} min",
        requests,
        "requests",
        "kms_request",
        prorated=True,
    )
    if key == "customer":
        month.add("KMS", "customer managed key", 1, "keys", "kms_key_month", fixed=True)


def data_transfer(month: Month) -> None:
    """The API's responses to the internet: a submit's and each read's, body and headers."""
    submit, read, per_job = response_bytes(month.usage.payload_chars, month.usage.reads_per_job)
    month.add(
        "Data transfer",
        f"API responses out (submit {submit} B, read {read} B)",
        month.jobs * per_job / GB,
        "GB",
        "data_transfer_out_gb",
    )
