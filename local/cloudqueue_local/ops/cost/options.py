"""The bill's lines of the template's options, each priced only when the stack deploys it
(``JobEvents=on``, ``Webhooks=on``; both off by default): the table's stream read by each Pipe,
the events Pipe and its events, and the webhook deliveries with their queue, record and secret."""

from __future__ import annotations

import math

from cloudqueue_local.ops.cost.assumptions import (
    JOB_WRITES,
    SECONDS_PER_MONTH,
    SECRET_CACHE_SECONDS,
    STATUS_CHANGES_PER_JOB,
    STREAM_POLLS_PER_SECOND,
    STREAM_SHARDS,
)
from cloudqueue_local.ops.cost.extras import environments
from cloudqueue_local.ops.cost.lines import Month
from cloudqueue_local.ops.cost.sizes import delivery_record_bytes, item_bytes, sample_job_item


def stream_reads(month: Month) -> None:
    """Each Pipe on the table's stream polls every shard itself, records or not: fixed."""
    readers = len(month.stack.template.stream_pipes)
    if not readers:
        return
    month.add(
        "DynamoDB Streams",
        f"GetRecords ({readers} Pipe{'s' if readers > 1 else ''} x {STREAM_SHARDS} shard x "
        f"{STREAM_POLLS_PER_SECOND}/s)",
        readers * STREAM_SHARDS * STREAM_POLLS_PER_SECOND * SECONDS_PER_MONTH,
        "read units",
        "dynamodb_streams_read_request_unit",
        fixed=True,
    )


def job_events(month: Month) -> None:
    """JobEvents=on: the events Pipe's requests and the Job State Change events on the bus."""
    if not any(pipe.targets_bus for pipe in month.stack.template.stream_pipes.values()):
        return
    # Every write of a job passes the filter (a filter cannot compare old and new status; a
    # webhook's record is a write too); at low traffic each is a batch of its own, so one Pipe
    # request (and one enrichment: EventsFunction's invocations) each.
    writes = month.jobs * len(JOB_WRITES) + month.deliveries
    month.add(
        "EventBridge Pipes",
        "events Pipe requests (every write of a job)",
        writes,
        "requests",
        "pipes_request",
    )
    month.add(
        "EventBridge",
        "Job State Change events",
        month.jobs * STATUS_CHANGES_PER_JOB,
        "events",
        "eventbridge_custom_event",
    )


def webhooks(month: Month) -> None:
    """Webhooks=on: per delivery attempt, the webhook Pipe (the first), the webhook queue's send,
    receive and delete, the record on the job (a read and a write); the secret and its reads."""
    if not month.deliveries:
        return
    usage = month.usage
    first = month.jobs * usage.callback_share
    month.add(
        "EventBridge Pipes", "webhook Pipe requests (a job that ended)", first, "requests", "pipes_request"
    )
    month.add(
        "SQS",
        "webhook queue: send, receive, delete per attempt",
        3 * month.deliveries,
        "requests",
        "sqs_request",
    )
    record = item_bytes(sample_job_item(usage.payload_chars)) + 60 + delivery_record_bytes()
    month.add(
        "DynamoDB",
        f"delivery records ({record} B item, a write per attempt)",
        month.deliveries * math.ceil(record / 1024),
        "WRU",
        "dynamodb_write_request_unit",
    )
    month.add(
        "DynamoDB",
        "delivery records' reads (strongly consistent, one per attempt)",
        month.deliveries,
        "RRU",
        "dynamodb_read_request_unit",
    )
    month.add(
        "Secrets Manager", "webhook signing secret", 1, "secrets", "secretsmanager_secret_month", fixed=True
    )
    warm, _ = environments(month, "WebhookFunction", month.deliveries)
    month.add(
        "Secrets Manager",
        f"GetSecretValue (each warm WebhookFunction every {SECRET_CACHE_SECONDS // 60} min)",
        warm * SECONDS_PER_MONTH / SECRET_CACHE_SECONDS,
        "requests",
        "secretsmanager_api_call",
        prorated=True,
    )
