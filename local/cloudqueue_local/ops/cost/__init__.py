"""``cloudqueue cost``: the deployed stack's monthly AWS bill, line by line, and its capacity.

The figures come from two files and a few stated assumptions:

- ``template.yaml`` (read with the project's template reader, deployed parameter defaults):
  each function's memory and architecture, the state machine's log level and execution data,
  the table's indexes and retention, the functions' log retention, tracing, the Pipe, the
  schedule, the alarms, the API's throttling (``stack``);
- ``pricing/us-east-1.yaml``: list prices, each with the page and date it was read (``prices``);
- what a job does on AWS (``JOB_WRITES``, ``LOG_LINES``, the happy path of the state
  machine, the metric names its handlers emit: ``metrics``), taken from the code, and
  durations (``DEFAULT_DURATIONS_MS``, replaced by
  ``--duration`` or by ``bench-results.json``'s ``durationsMs`` when present)
  (``assumptions``); the job item is the deployed model, serialised by the DynamoDB
  adapter's codec (``sizes``).

``lines`` and ``extras`` write the bill's lines (``extras``: metrics prorated by the hour,
dashboards, KMS, data transfer, Lambda INIT), ``quotas`` its capacity, ``engine`` puts the bill together
with its free tier and this design's floor, ``renderers`` prints it. Prices are list prices
without the free tier; the free tier is reported beside them.
"""

from __future__ import annotations

from cloudqueue_local.ops.cost.assumptions import (
    BENCH_DURATIONS_KEY,
    BENCH_RESULTS,
    DEFAULT_DURATIONS_MS,
    DEFAULT_INIT_MS,
    EVENT_METADATA_BYTES,
    Usage,
    durations_from,
    init_from,
    measured_durations,
)
from cloudqueue_local.ops.cost.bill import Bill, Limit, Line
from cloudqueue_local.ops.cost.engine import bill_for, bills_by_level, compute_bill, design_floor
from cloudqueue_local.ops.cost.metrics import PUBLICATIONS, emitted_metrics, published_fraction, scan_metrics
from cloudqueue_local.ops.cost.prices import PRICES_FILE, Price, load_prices
from cloudqueue_local.ops.cost.quotas import capacity, path_to
from cloudqueue_local.ops.cost.renderers import (
    capacity_sentence,
    floor_sentence,
    json_report,
    markdown,
    render,
)
from cloudqueue_local.ops.cost.sizes import (
    execution_log_bytes,
    function_log_bytes,
    happy_path_events,
    invocation_log_bytes,
    item_bytes,
    response_bytes,
    sample_job_item,
)
from cloudqueue_local.ops.cost.stack import Stack

__all__ = [
    "BENCH_DURATIONS_KEY",
    "BENCH_RESULTS",
    "DEFAULT_DURATIONS_MS",
    "DEFAULT_INIT_MS",
    "EVENT_METADATA_BYTES",
    "PRICES_FILE",
    "PUBLICATIONS",
    "Bill",
    "Limit",
    "Line",
    "Price",
    "Stack",
    "Usage",
    "bill_for",
    "bills_by_level",
    "capacity",
    "capacity_sentence",
    "compute_bill",
    "design_floor",
    "durations_from",
    "emitted_metrics",
    "execution_log_bytes",
    "floor_sentence",
    "function_log_bytes",
    "happy_path_events",
    "init_from",
    "invocation_log_bytes",
    "item_bytes",
    "json_report",
    "load_prices",
    "markdown",
    "measured_durations",
    "path_to",
    "published_fraction",
    "render",
    "response_bytes",
    "sample_job_item",
    "scan_metrics",
]
