"""``cloudqueue cost``'s lines beyond requests and writes: metrics read from the code and prorated
by the hour, the functions' logs under LoggingConfig, KMS, data transfer, INIT, dashboards."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cloudqueue.handlers import api
from cloudqueue_local.ops import cost
from cloudqueue_local.ops.cost.metrics import UnresolvedMetric
from cloudqueue_local.ops.cost.sizes import sample_job
from tests.fakes import (
    FakeExecutionLog,
    FakeJobQueue,
    FakeJobStore,
    FakeLambdaContext,
    FakeWorkflow,
    http_event,
)
from tests.unit.test_cost import PRICES, ROOT, line, stack_with

GLOBALS = "    Tracing: !Ref TracingMode\n"


def metric_lines(bill: cost.Bill) -> dict[str, cost.Line]:
    return {each.item.split()[1]: each for each in bill.lines if each.item.startswith("metric ")}


def test_every_metric_the_code_emits_is_one_the_model_prices() -> None:
    # Given the metric names found in the deployed code's add_metric calls
    emitted = cost.emitted_metrics()

    # Then the model knows how often each is published
    unknown = set(emitted) - set(cost.PUBLICATIONS)
    assert unknown == set(), "say in metrics.PUBLICATIONS how often each is published"
    # And the bill prices each of them, and no other
    every_option = cost.Usage(parameters={"JobEvents": "on", "Webhooks": "on"})
    assert set(metric_lines(cost.bill_for(ROOT, every_option))) == set(emitted)
    # And the finalize step's failure metric is found by name (a success emits none)
    assert emitted["JobsFailed"] == "cloudqueue.handlers.finalize"
    assert "JobsSucceeded" not in emitted


def test_a_new_metric_in_the_code_is_found_and_is_unknown_to_the_model(tmp_path: Path) -> None:
    # Given a handler that emits metrics by literal, variable, dict, module constant and loop
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text(
        "NAMES = {1: 'FromDict'}\n"
        "CONSTANT = 'FromConstant'\n"
        "LOOPED = ('FromLoopA', 'FromLoopB')\n"
        "def handler(event, metrics):\n"
        "    chosen = 'Left' if event else 'Right'\n"
        "    metrics.add_metric(name='JobsTeleported', unit='Count', value=1)\n"
        "    metrics.add_metric(name=chosen, unit='Count', value=1)\n"
        "    metrics.add_metric(name=NAMES.get(event), unit='Count', value=1)\n"
        "    metrics.add_metric(name=CONSTANT, unit='Count', value=1)\n"
        "    for each in LOOPED:\n"
        "        metrics.add_metric(name=each, unit='Count', value=1)\n"
    )

    # When its metrics are read  Then each name is found, and none is one the model prices
    found = cost.emitted_metrics(tmp_path / "pkg")
    expected = {"JobsTeleported", "Left", "Right", "FromDict", "FromConstant", "FromLoopA", "FromLoopB"}
    assert set(found) == expected
    assert not set(found) & set(cost.PUBLICATIONS)


def test_a_metric_name_built_at_run_time_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text(
        "def handler(status, metrics):\n"
        "    metrics.add_metric(name=f'Jobs{status.title()}', unit='Count', value=1)\n"
    )
    with pytest.raises(UnresolvedMetric, match="Jobs"):
        cost.emitted_metrics(tmp_path / "pkg")


def test_a_rare_metric_costs_a_fraction_of_one_published_every_hour() -> None:
    # Given a month's bill at 1 M jobs and at 10 M
    one, ten = (cost.bill_for(ROOT, cost.Usage(jobs_per_month=jobs)) for jobs in (1e6, 1e7))
    metric_price = PRICES["cloudwatch_custom_metric_month"].usd

    # Then a metric published with every failed job (1 % of them) is a whole metric, a redriven
    # dead letter's a small part
    lines = metric_lines(one)
    assert lines["JobsFailed"].usd == pytest.approx(metric_price, rel=1e-3)
    assert lines["JobsRedriven"].usd < 0.05 * metric_price
    # And the hours it is published grow with the jobs, as 1 - exp(-rate per hour)
    rare_one, rare_ten = (
        lines["JobsRedriven"].quantity,
        metric_lines(ten)["JobsRedriven"].quantity,
    )
    assert rare_one < rare_ten < 10 * rare_one
    assert rare_one == pytest.approx(cost.published_fraction(1e6 * cost.Usage().rare_rate / 720))


def test_json_logs_with_system_log_level_warn_drop_the_platform_lines(tmp_path: Path) -> None:
    # Given the stack (JSON logs, SystemLogLevel WARN), the same at SystemLogLevel INFO, and the
    # same in Lambda's text format
    quiet = stack_with(tmp_path / "a")
    json_info = stack_with(tmp_path / "b", SystemLogLevel="INFO")
    text = stack_with(tmp_path / "c", ("      LogFormat: JSON\n", "      LogFormat: Text\n"))
    from cloudqueue_local.ops.cost.assumptions import PLATFORM_JSON_LOG_BYTES, PLATFORM_LOG_BYTES

    # Then at WARN a job logs no platform record: at INFO its platform.start and platform.report,
    # in text its START, END and REPORT lines, for four invocations (submit, claim, process,
    # finalize) and one read each
    def saved(other: Any) -> float:
        return cost.function_log_bytes(other, reads_per_job=1) - cost.function_log_bytes(
            quiet, reads_per_job=1
        )

    assert saved(json_info) == pytest.approx(5 * PLATFORM_JSON_LOG_BYTES)
    assert saved(text) == pytest.approx(5 * PLATFORM_LOG_BYTES)


def test_an_application_log_level_of_warn_drops_the_metrics_lines_too(tmp_path: Path) -> None:
    # Given Powertools at WARNING (its INFO lines go) and Lambda's ApplicationLogLevel at WARN
    from cloudqueue_local.ops.cost.assumptions import EMF_LINE_BYTES, INFO_LINE_BYTES, LOG_LINES

    warning = stack_with(tmp_path / "a", LogLevel="WARNING")
    level = "      SystemLogLevel: !Ref SystemLogLevel\n"
    filtered = stack_with(tmp_path / "b", (level, level + "      ApplicationLogLevel: WARN\n"))

    # Then Powertools' level drops its INFO lines and keeps the EMF lines (no level)
    lines = LOG_LINES["ClaimFunction"]
    full = cost.invocation_log_bytes(stack_with(tmp_path / "c", LogLevel="INFO"), "ClaimFunction", lines)
    assert full - cost.invocation_log_bytes(warning, "ClaimFunction", lines) == pytest.approx(INFO_LINE_BYTES)
    # And Lambda's filter drops both: the metrics would not be published
    json_full = cost.invocation_log_bytes(filtered, "ClaimFunction", (0, 0))
    assert cost.invocation_log_bytes(filtered, "ClaimFunction", lines) == pytest.approx(json_full)
    assert EMF_LINE_BYTES > 0


def test_the_table_key_is_priced_as_the_template_configures_it(tmp_path: Path) -> None:
    # Given the template (the AWS owned key unless TableKmsKeyArn names one), the AWS managed
    # key, and a customer managed key
    owned = cost.compute_bill(stack_with(tmp_path / "a"), PRICES, cost.Usage())
    managed = cost.compute_bill(
        stack_with(tmp_path / "b", ("        - SSEEnabled: false\n", "        - SSEEnabled: true\n")),
        PRICES,
        cost.Usage(),
    )
    customer = cost.compute_bill(
        stack_with(tmp_path / "c", TableKmsKeyArn="alias/cloudqueue"), PRICES, cost.Usage()
    )

    def kms(bill: cost.Bill) -> list[cost.Line]:
        return [each for each in bill.lines if each.service == "KMS"]

    # Then the AWS owned key costs nothing, the AWS managed key its requests, a customer key $1 more
    assert kms(owned) == []
    assert [each.price for each in kms(managed)] == ["kms_request"]
    assert kms(managed)[0].usd > 0
    assert sum(each.usd for each in kms(customer)) == pytest.approx(kms(managed)[0].usd + 1.0)


def test_dashboards_past_the_three_free_ones_are_billed_by_the_month(tmp_path: Path) -> None:
    # Given the template (its operations dashboard), then the same with three more dashboards
    alarm = "  DeadLetterAlarm:\n"
    body = "    Properties:\n      DashboardBody: '{}'\n\n"
    extra = "".join(f"  ExtraDashboard{n}:\n    Type: AWS::CloudWatch::Dashboard\n{body}" for n in range(3))
    template = cost.compute_bill(stack_with(tmp_path / "a"), PRICES, cost.Usage())
    four = cost.compute_bill(stack_with(tmp_path / "b", (alarm, extra + alarm)), PRICES, cost.Usage())

    # Then the template's one dashboard is within the account's free three, and a fourth costs $3
    assert line(template, "CloudWatch", "dashboards").item.startswith("dashboards (1;")
    assert line(template, "CloudWatch", "dashboards").usd == 0
    assert line(four, "CloudWatch", "dashboards").usd == pytest.approx(3.0)
    assert four.monthly_usd - template.monthly_usd == pytest.approx(3.0)


def test_data_transfer_prices_the_bytes_the_api_handler_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the API handler with fakes, and a finished job in its store
    monkeypatch.setenv("TABLE_NAME", "cloudqueue-jobs")
    monkeypatch.setenv("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/cloudqueue-jobs")
    monkeypatch.setenv("EXECUTION_LOG_GROUP", "/aws/vendedlogs/states/cloudqueue-jobs")
    monkeypatch.delenv("CONSOLE_LINKS", raising=False)
    api.settings.cache_clear()
    job = sample_job(16)
    ports = {
        "store": FakeJobStore(job),
        "queue": FakeJobQueue(),
        "log": FakeExecutionLog(),
        "workflow": FakeWorkflow(),
    }

    def body(method: str, path: str, **event: object) -> str:
        response = api.handler(http_event(method, path, **event), FakeLambdaContext(), **ports)  # type: ignore[arg-type]
        return str(response["body"])

    read = body("GET", f"/jobs/{job.job_id}")
    submitted = body("POST", "/jobs", body={"type": "text.transform", "payload": {"text": "x" * 16}})
    api.settings.cache_clear()

    # When the model sizes a submit's and a read's responses
    submit_bytes, read_bytes, per_job = cost.response_bytes(16, reads_per_job=1)
    from cloudqueue_local.ops.cost.assumptions import RESPONSE_HEADER_BYTES

    # Then the read's body is the handler's to the byte, the submit's within its timestamps' digits
    assert read_bytes - RESPONSE_HEADER_BYTES == len(read.encode())
    assert abs(submit_bytes - RESPONSE_HEADER_BYTES - len(submitted.encode())) <= 8
    assert json.loads(submitted)["status"] == "QUEUED"
    # And the bill's line is those bytes per job at the list price per GB
    bill = cost.bill_for(ROOT, cost.Usage(reads_per_job=1))
    out = line(bill, "Data transfer", "API responses out")
    assert out.quantity == pytest.approx(1e6 * per_job / 1024**3)
    assert out.usd == pytest.approx(out.quantity * PRICES["data_transfer_out_gb"].usd)


def test_init_is_billed_per_cold_start_and_follows_its_measured_duration() -> None:
    usage = cost.Usage()
    slower = replace(usage, init_ms=usage.init_ms | {"ApiFunction": 2 * usage.init_ms["ApiFunction"]})
    base, slow = (cost.bill_for(ROOT, each) for each in (usage, slower))

    # Then doubling the API's INIT doubles its INIT line alone
    assert line(slow, "Lambda", "ApiFunction INIT").usd == pytest.approx(
        2 * line(base, "Lambda", "ApiFunction INIT").usd
    )

    # And a function invoked every 43 minutes on average starts cold on most invocations (those
    # after an idle gap of 10 minutes or more), a busy one on a tiny share of them
    def cold_starts(name: str) -> float:
        (sized,) = [
            each.item for each in base.lines if each.item.startswith(f"{name} ") and " MB " in each.item
        ]
        memory_gb = int(sized.split()[1]) / 1024  # "Name 256 MB arm64 x ..."
        return line(base, "Lambda", f"{name} INIT").quantity / (usage.init_ms[name] / 1000) / memory_gb

    dead_letters = line(base, "Lambda", "DeadLetterFunction requests").quantity
    assert 0.75 * dead_letters < cold_starts("DeadLetterFunction")
    assert cold_starts("ApiFunction") < 0.001 * line(base, "Lambda", "ApiFunction requests").quantity


def test_init_comes_from_the_bench_import_ratios_and_a_measured_init_wins(tmp_path: Path) -> None:
    from cloudqueue_local.ops.cost.assumptions import BOTO3_IMPORT_MS, RUNTIME_INIT_MS

    # Given a bench results file: the claim's import at twice `import boto3`, the API's INIT measured
    report = {
        "imports": {"ClaimFunction": {"ratio": 2.0}, "ApiFunction": {"ratio": 3.0}},
        "initMs": {"ApiFunction": 777},
    }
    (tmp_path / cost.BENCH_RESULTS).write_text(json.dumps(report))

    # When the INIT durations are read
    init = cost.init_from(tmp_path)

    # Then the claim's follows its ratio, the API's is the measured one, the others keep theirs
    assert init["ClaimFunction"] == pytest.approx(RUNTIME_INIT_MS + 2.0 * BOTO3_IMPORT_MS)
    assert init["ApiFunction"] == 777
    assert init["ProcessFunction"] == cost.DEFAULT_INIT_MS["ProcessFunction"]


def test_the_sized_item_is_the_one_the_store_writes_with_the_listing_index_keys() -> None:
    # Given the table's indexes in the template, and the item the model sizes
    stack = cost.Stack.read(ROOT / "template.yaml")
    item = cost.sample_job_item(16)

    # Then the item holds the keys of an index a job enters at submit (the store wrote them), so
    # that index's writes are billed; a sparse index a job enters only when its send is overdue
    # has none of its keys in it
    indexes = {index["IndexName"]: index for index in stack.table()["GlobalSecondaryIndexes"]}
    keyed = {
        name
        for name, index in indexes.items()
        if {k["AttributeName"] for k in index["KeySchema"]} <= set(item)
    }
    assert keyed and keyed != set(indexes)


def test_a_metric_named_in_another_module_and_emitted_under_a_condition(tmp_path: Path) -> None:
    # Given a package whose handler emits a name from its names module, only when it sent something
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "names.py").write_text(
        "from typing import Final\nPENDING_JOBS_SENT: Final = 'PendingJobsSent'\n"
    )
    (package / "sweeper.py").write_text(
        "from pkg import names\n"
        "def handler(sent, metrics):\n"
        "    if sent:\n"
        "        metrics.add_metric(name=names.PENDING_JOBS_SENT, unit='Count', value=len(sent))\n"
    )

    # When its metrics are read  Then the name is found, and known to be emitted only sometimes
    (emission,) = cost.scan_metrics(package).values()
    assert emission.module == "pkg.sweeper" and emission.guarded

    # And the bill prices it as a sweep that sends, a small part of the metric every sweep is
    from cloudqueue_local.ops.cost.metrics import metric_months

    sweeps = 8640.0
    always = metric_months(cost.Usage(), sweeps)["PendingJobsSent"][1]
    sometimes = metric_months(cost.Usage(), sweeps, frozenset({"PendingJobsSent"}))["PendingJobsSent"][1]
    assert always == pytest.approx(1.0, abs=1e-4)  # 12 sweeps an hour: 1 - exp(-12)
    assert sometimes < 0.1
