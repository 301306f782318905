"""The custom metrics: none is published on every job (CloudWatch bills each metric for every
hour it is published), each handler emits only the names ``metric_names`` lists for it, and
the alarms watch metrics that exist."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cloudqueue.handlers import api, claim, dead_letter, finalize, metric_names, requeue
from cloudqueue.models import JobStatus, utc_now
from cloudqueue_local.template import read_template
from tests.fakes import (
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    claim_event,
    finalize_event,
    job_id,
    lambda_cause,
    make_job,
    schedule_event,
)
from tests.unit.test_api_handler import A_JOB, Ports, call, ports  # noqa: F401 - `ports`: a fixture
from tests.unit.test_handlers import environment  # noqa: F401 - the handlers' settings, as a fixture

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "functions" / "cloudqueue" / "handlers"
TEMPLATE = read_template(ROOT / "template.yaml")
MODULES = {
    "ApiFunction": "api",
    "ClaimFunction": "claim",
    "ProcessFunction": "process",
    "FinalizeFunction": "finalize",
    "DeadLetterFunction": "dead_letter",
    "RequeueFunction": "requeue",
    "EventsFunction": "events",
    "WebhookFunction": "webhook",
}


def named_metrics(module: str) -> set[str]:
    """The ``metric_names`` constants a handler's module names (its add_metric calls use them)."""
    tree = ast.parse((HANDLERS / f"{module}.py").read_text())
    return {
        getattr(metric_names, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "metric_names"
        and node.attr.isupper()
        and node.attr != "NAMESPACE"
    }


def literal_metric_names(module: str) -> list[str]:
    """add_metric calls whose name is not a ``metric_names`` constant (a literal, an f-string)."""
    tree = ast.parse((HANDLERS / f"{module}.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
            name = next((keyword.value for keyword in node.keywords if keyword.arg == "name"), None)
            if not isinstance(name, ast.Attribute | ast.Name):
                found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize(("function", "module"), sorted(MODULES.items()))
def test_each_handler_emits_exactly_the_metric_names_listed_for_its_function(
    function: str, module: str
) -> None:
    assert literal_metric_names(module) == []
    assert named_metrics(module) == metric_names.BY_FUNCTION[function]


def test_the_list_covers_every_function_of_the_template_and_no_metric_is_per_job() -> None:
    functions = {name for name, each in TEMPLATE["Resources"].items() if each["Type"].endswith("::Function")}
    assert set(metric_names.BY_FUNCTION) == functions
    assert not metric_names.PER_JOB


def test_each_custom_metric_alarm_watches_a_metric_its_function_emits() -> None:
    services = {
        "cloudqueue-" + module.replace("_", "-"): metric_names.BY_FUNCTION[function]
        for function, module in MODULES.items()
    }
    alarms = [
        each["Properties"]
        for each in TEMPLATE["Resources"].values()
        if each["Type"] == "AWS::CloudWatch::Alarm"
    ]
    custom = [alarm for alarm in alarms if alarm["Namespace"] == metric_names.NAMESPACE]
    assert custom, "no alarm on a custom metric"
    for alarm in custom:
        (dimension,) = alarm["Dimensions"]
        assert alarm["MetricName"] in services[dimension["Value"]], alarm


# --- what a job's handlers emit -------------------------------------------------------------


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names every handler's Metrics is handed while the test runs."""
    names: list[str] = []
    for module in (api, claim, dead_letter, finalize, requeue):

        def record(*, name: str, unit: Any, value: float, **_: Any) -> None:
            names.append(name)

        monkeypatch.setattr(module.metrics, "add_metric", record)
    yield names


def test_a_job_claimed_and_finished_emits_no_custom_metric(emitted: list[str]) -> None:
    store = FakeJobStore(job := make_job())
    token = claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)["leaseToken"]

    finalize.handler(
        finalize_event(job.job_id, lease_token=token, result={}), FakeLambdaContext(), store=store
    )

    assert store.get_job(job.job_id).status is JobStatus.SUCCEEDED
    assert emitted == []


def test_a_job_that_fails_emits_jobs_failed_once(emitted: list[str]) -> None:
    store = FakeJobStore(job := make_job())
    token = claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)["leaseToken"]
    event = finalize_event(
        job.job_id, lease_token=token, outcome="FAILED", error="PermanentJobError", cause=lambda_cause("no")
    )

    finalize.handler(event, FakeLambdaContext(), store=store)

    assert emitted == [metric_names.JOBS_FAILED]


def test_a_duplicate_delivery_is_counted(emitted: list[str]) -> None:
    store = FakeJobStore(job := make_job(status=JobStatus.SUCCEEDED))

    claim.handler(claim_event(job.job_id), FakeLambdaContext(), store=store)

    assert emitted == [metric_names.DUPLICATE_DELIVERIES_SKIPPED]


def test_a_sweep_that_sends_nothing_emits_nothing_and_one_that_sends_counts_them(emitted: list[str]) -> None:
    store, queue = FakeJobStore(make_job(job_id=job_id(1))), FakeJobQueue()

    requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)
    assert emitted == []

    store.put(make_job(job_id=job_id(2), pending_since=int((utc_now() - timedelta(seconds=60)).timestamp())))
    requeue.handler(schedule_event(), FakeLambdaContext(), store=store, queue=queue)
    assert emitted == [metric_names.PENDING_JOBS_SENT]


def test_a_submit_and_a_cancel_emit_no_custom_metric(emitted: list[str], ports: Ports) -> None:  # noqa: F811
    submitted = call("POST", "/jobs", body=A_JOB)
    assert submitted.status == 202
    assert emitted == []

    assert call("DELETE", f"/jobs/{submitted.body['jobId']}").status == 200
    assert emitted == []
