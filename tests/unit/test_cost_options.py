"""The template's options in the bill: the defaults deploy neither job events nor webhooks and
pay for neither; `cloudqueue cost --events` / `--webhooks` price each on, and only its lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudqueue_local.cli.app import app
from cloudqueue_local.ops import cost

ROOT = Path(__file__).resolve().parents[2]
EVENTS_LINES = {"events Pipe requests (every write of a job)", "Job State Change events"}
WEBHOOK_SERVICES = {"Secrets Manager"}


def bill(**parameters: str) -> cost.Bill:
    return cost.bill_for(ROOT, cost.Usage(log_level="ERROR", parameters=parameters))


def items(priced: cost.Bill) -> set[str]:
    return {line.item for line in priced.lines}


def test_the_default_stack_pays_for_no_stream_pipe_event_or_secret() -> None:
    default = bill()
    assert not any(
        line.service in {"DynamoDB Streams", "EventBridge", "Secrets Manager"} for line in default.lines
    )
    assert not any(line.item.startswith(("EventsFunction", "WebhookFunction")) for line in default.lines)
    assert not any("Webhooks" in line.item for line in default.lines)  # no metric of an absent function
    assert default.per_million_jobs_usd <= 10.0  # issue 17's goal


@pytest.mark.parametrize(
    ("parameters", "adds_events", "adds_webhooks", "pipes"),
    [
        ({"JobEvents": "on"}, True, False, 1),
        ({"Webhooks": "on"}, False, True, 1),
        ({"JobEvents": "on", "Webhooks": "on"}, True, True, 2),
    ],
)
def test_each_option_adds_its_own_lines_and_the_streams_polls_per_pipe(
    parameters: dict[str, str], adds_events: bool, adds_webhooks: bool, pipes: int
) -> None:
    default, priced = bill(), bill(**parameters)
    added = items(priced) - items(default)
    assert (added >= EVENTS_LINES) == adds_events
    assert ("webhook signing secret" in added) == adds_webhooks
    assert any(f"GetRecords ({pipes} Pipe" in item for item in added)
    assert priced.per_million_jobs_usd > default.per_million_jobs_usd


def test_with_both_on_each_delivery_record_is_one_more_events_pipe_request() -> None:
    events, both = bill(JobEvents="on"), bill(JobEvents="on", Webhooks="on")

    def pipe_requests(priced: cost.Bill) -> float:
        return next(line.quantity for line in priced.lines if line.item.startswith("events Pipe requests"))

    deliveries = next(line.quantity for line in both.lines if line.item == "WebhookFunction requests")
    assert pipe_requests(both) - pipe_requests(events) == pytest.approx(deliveries)


def test_the_cli_flags_price_the_options() -> None:
    def per_million(*flags: str) -> float:
        result = CliRunner().invoke(app, ["cost", "--log-level", "ERROR", "--json", *flags])
        assert result.exit_code == 0, result.output
        return float(json.loads(result.output)["perMillionJobsUsd"])

    default, events, webhooks = per_million(), per_million("--events"), per_million("--webhooks")
    both = per_million("--events", "--webhooks")
    assert default < min(events, webhooks) <= max(events, webhooks) < both
