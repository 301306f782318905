"""``cloudqueue cost``: figures computed from template.yaml and pricing/us-east-1.yaml."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudqueue_local.cli.app import app
from cloudqueue_local.ops import cost
from cloudqueue_local.ops.cost.lines import index_writes

ROOT = Path(__file__).resolve().parents[2]
PRICES = cost.load_prices(ROOT / "pricing" / "us-east-1.yaml")


def stack_with(tmp_path: Path, replace: tuple[str, str] | None = None, **overrides: str) -> cost.Stack:
    """The repository's stack, its template optionally edited (old text -> new text)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for folder in ("statemachine", "frontend"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    text = (ROOT / "template.yaml").read_text()
    if replace:
        assert text.count(replace[0]) == 1
        text = text.replace(*replace)
    (tmp_path / "template.yaml").write_text(text)
    return cost.Stack.read(tmp_path / "template.yaml", overrides or None)


def line(bill: cost.Bill, service: str, starts: str) -> cost.Line:
    (found,) = [each for each in bill.lines if each.service == service and each.item.startswith(starts)]
    return found


def test_raising_a_functions_memory_raises_its_gb_seconds_alike_and_nothing_else(tmp_path: Path) -> None:
    # Given the stack as it is, and the same with ClaimFunction at four times the Globals' memory
    usage = cost.Usage()
    before = cost.compute_bill(stack_with(tmp_path / "a"), PRICES, usage)
    handler = "      Handler: cloudqueue.handlers.claim.handler\n"
    doubled_stack = stack_with(tmp_path / "b", (handler, handler + "      MemorySize: 1024\n"))
    assert doubled_stack.template.functions["ClaimFunction"].memory == 1024

    # When both are priced
    after = cost.compute_bill(doubled_stack, PRICES, usage)

    # Then the claim's GB-seconds (its invocations' and its INIT's) and their price grow fourfold, and
    # no other line moves
    old, new = line(before, "Lambda", "ClaimFunction 256 MB"), line(after, "Lambda", "ClaimFunction 1024 MB")
    old_init, new_init = (
        line(before, "Lambda", "ClaimFunction INIT"),
        line(after, "Lambda", "ClaimFunction INIT"),
    )
    for a, b in ((old, new), (old_init, new_init)):
        assert b.quantity == pytest.approx(4 * a.quantity)
        assert b.usd == pytest.approx(4 * a.usd)
    claims = (old, old_init)
    others = [(a.item, a.usd) for a, b in zip(before.lines, after.lines, strict=True) if a not in claims]
    assert others == [
        (b.item, b.usd) for a, b in zip(before.lines, after.lines, strict=True) if a not in claims
    ]


def test_execution_logging_at_error_costs_less_than_at_all_and_only_in_the_history_lines() -> None:
    # Given the same month priced at both execution log levels
    error, full = cost.bills_by_level(ROOT, cost.Usage(), ("ERROR", "ALL"))

    # Then ALL costs more, and the difference is the execution history alone
    assert error.monthly_usd < full.monthly_usd
    differing = {a.item for a, b in zip(error.lines, full.lines, strict=True) if a.usd != b.usd}
    assert differing and all("execution history" in item for item in differing)


def test_a_month_of_twice_the_jobs_costs_the_same_per_job_apart_from_fixed_lines() -> None:
    # Given one month and a month of twice the jobs
    one, two = (cost.bill_for(ROOT, cost.Usage(jobs_per_month=jobs)) for jobs in (1e6, 2e6))

    # Then every per-job line doubles, every fixed line stays, and every prorated one (a metric's
    # published hours, cold starts, KMS requests of warm environments) grows by less than double
    for a, b in zip(one.lines, two.lines, strict=True):
        if a.prorated:
            assert a.usd <= b.usd <= 2 * a.usd + 1e-12, a.item
        else:
            assert b.usd == pytest.approx(a.usd if a.fixed else 2 * a.usd), a.item


@pytest.mark.parametrize(("batch", "sends"), [(10, 0.1), (25, 0.12), (100, 0.1)])
def test_batch_submits_cut_the_api_and_send_requests_per_job_and_nothing_else(
    batch: int, sends: float
) -> None:
    # Given the same month submitted one job a request, and in batches
    single = cost.bill_for(ROOT, cost.Usage())
    batched = cost.bill_for(ROOT, cost.Usage(submit_batch=batch))
    jobs, reads = cost.Usage().jobs_per_month, cost.Usage().reads_per_job

    # Then the API's requests and invocations are one per batch, the sends one per ten jobs of
    # it, and every other line (the writes, the workflow, the functions' time) is unchanged
    changed = {
        a.item: (a.quantity, b.quantity)
        for a, b in zip(single.lines, batched.lines, strict=True)
        if a.quantity != b.quantity
    }
    assert changed["HTTP API requests"] == (jobs * (1 + reads), pytest.approx(jobs * (1 / batch + reads)))
    assert changed["ApiFunction requests"] == changed["HTTP API requests"]
    before, after = changed["send, receive, delete per job"]
    assert before - after == pytest.approx(jobs * (1 - sends))
    # (fewer ApiFunction invocations may also mean fewer of its cold starts)
    assert {item for item in changed if not item.startswith("ApiFunction INIT")} == {
        "HTTP API requests",
        "ApiFunction requests",
        "send, receive, delete per job",
    }
    assert batched.monthly_usd < single.monthly_usd


def test_the_listing_index_is_written_once_a_job_and_a_copy_of_the_job_on_every_write() -> None:
    # Given a small job item, the keys-only listing index whose key no status change moves,
    # an index that would copy the whole job, and a sparse one
    item = cost.sample_job_item(16)
    size = cost.item_bytes(item)
    listing = {
        "KeySchema": [{"AttributeName": "listShard"}, {"AttributeName": "listKey"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    copied = listing | {"Projection": {"ProjectionType": "ALL"}}
    sparse = listing | {"KeySchema": [{"AttributeName": "pendingShard"}, {"AttributeName": "jobId"}]}

    # Then the listing index is written by the submit only; a full copy on each of the 3 writes
    assert size < 1024
    assert index_writes(listing, item, size)[0] == 1
    assert index_writes(copied, item, size)[0] == 3
    assert index_writes(sparse, item, size)[0] == 0
    # And a payload past 1 KB costs a copying index a unit more on every write, keys only nothing
    big = cost.sample_job_item(600)
    assert index_writes(copied, big, cost.item_bytes(big))[0] == 6
    assert index_writes(listing, big, cost.item_bytes(big))[0] == 1


def test_tracing_adds_an_x_ray_line_only_when_active(tmp_path: Path) -> None:
    quiet = cost.compute_bill(stack_with(tmp_path / "a"), PRICES, cost.Usage())
    traced = cost.compute_bill(stack_with(tmp_path / "b", TracingMode="Active"), PRICES, cost.Usage())

    assert [each for each in quiet.lines if each.service == "X-Ray"] == []
    assert line(traced, "X-Ray", "traces").usd > 0


def test_raising_the_api_throttle_moves_the_binding_quota(tmp_path: Path) -> None:
    # Given a stage throttle of 500 requests/s (the defaults' before they were raised) and a client
    # that reads each job once: it binds first, at two requests a job
    usage = cost.Usage(reads_per_job=1)
    durations = cost.DEFAULT_DURATIONS_MS
    first = cost.capacity(stack_with(tmp_path / "a", ApiThrottleRate="500"), usage, durations)[0]
    assert first.what.startswith("API throttling")
    assert first.jobs_per_second == pytest.approx(250)

    # When ApiThrottleRate is raised ten times  Then another quota binds, at a higher rate
    raised = cost.capacity(stack_with(tmp_path / "b", ApiThrottleRate="5000"), usage, durations)[0]
    assert not raised.what.startswith("API throttling")
    assert raised.jobs_per_second > first.jobs_per_second


def test_cost_json_parses_and_its_lines_add_up_to_the_total() -> None:
    # When the command prints JSON for one log level
    result = CliRunner().invoke(
        app, ["cost", "--json", "--log-level", "ERROR", "--jobs-per-month", "2000000"]
    )

    # Then it parses, and its lines add up to its monthly total and per-million figure
    assert result.exit_code == 0, result.output
    bill = json.loads(result.output)
    assert bill["executionLogLevel"] == "ERROR"
    assert sum(entry["usd"] for entry in bill["lines"]) == pytest.approx(bill["monthlyUsd"], abs=1e-3)
    assert bill["perMillionJobsUsd"] == pytest.approx(bill["monthlyUsd"] / 2, abs=1e-3)


def test_cost_refuses_an_unknown_log_level_and_an_unknown_function() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["cost", "--log-level", "VERBOSE"]).exit_code == 2
    unknown = runner.invoke(app, ["cost", "--duration", "NoSuchFunction=5"])
    assert unknown.exit_code != 0


def test_every_price_names_its_page_and_date() -> None:
    # Given the prices file  Then each price says where and when it was read
    for name, price in PRICES.items():
        assert price.source.startswith("https://aws.amazon.com/"), name
        assert len(price.date) == 10, name


def test_the_bench_results_file_replaces_the_default_durations(tmp_path: Path) -> None:
    # Given a bench results file with a measured claim duration
    (tmp_path / cost.BENCH_RESULTS).write_text(json.dumps({"durationsMs": {"ClaimFunction": 42}}))

    # When the durations are read with a duration given on the command line for another function
    durations = cost.durations_from(tmp_path, {"ProcessFunction": 7.0})

    # Then the file's figure and the given one win over the defaults
    assert (durations["ClaimFunction"], durations["ProcessFunction"]) == (42.0, 7.0)
    assert durations["FinalizeFunction"] == cost.DEFAULT_DURATIONS_MS["FinalizeFunction"]


def test_the_durations_a_bench_run_writes_are_the_ones_cost_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a mixed-load run whose claims took 18.5 ms on average and whose clients' POSTs took 400
    from rich.console import Console

    from cloudqueue_local.bench import runner
    from cloudqueue_local.bench.timing import summary_ms

    mixed = {
        "functions": {"ClaimFunction": summary_ms([0.018, 0.019]), "ApiFunction": summary_ms([0.4])},
        "failures": [],
        "samples": {},
    }
    monkeypatch.setattr(runner, "mixed_scenario", lambda *_: mixed)
    monkeypatch.setattr(runner, "figures_table", lambda *_, **__: "")

    # When the bench writes its figures where cost looks for them
    runner.main(
        scenarios=("mixed",), json_path=tmp_path / cost.BENCH_RESULTS, console=Console(file=io.StringIO())
    )
    durations = cost.durations_from(tmp_path, {})

    # Then cost prices the measured claim, and not the clients' latency as the API's duration
    assert durations["ClaimFunction"] == 18.5
    assert durations["ApiFunction"] == cost.DEFAULT_DURATIONS_MS["ApiFunction"]


def markdown_of(*options: str) -> str:
    """``cloudqueue cost --markdown`` with the default durations, whatever bench results lie about."""
    durations = [f"--duration={name}={ms:g}" for name, ms in cost.DEFAULT_DURATIONS_MS.items()]
    result = CliRunner().invoke(app, ["cost", "--markdown", *durations, *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cost_page_shows_the_figures_the_command_prints_today() -> None:
    # Given the cost page's copy of the cost figures
    page = (ROOT / "docs" / "cost.md").read_text()
    begin, end = "<!-- begin: cloudqueue cost --markdown -->\n", "<!-- end: cloudqueue cost --markdown -->"
    copy = page[page.index(begin) + len(begin) : page.index(end)]

    # Then it is what the command prints from today's template, prices and code
    stale = "docs/cost.md's figures are stale: paste `cloudqueue cost --markdown` between its markers again"
    assert copy == markdown_of(), stale


def test_the_readme_headline_quotes_the_figures_the_command_prints_today() -> None:
    # Given the per-million and floor figures the command prints today
    text = markdown_of()
    per_million = re.search(r"Per million jobs: \$[\d.]+ at ERROR, \$[\d.]+ at ALL", text)
    floor = re.search(r"floor: (\$[\d.]+ per million jobs)", text)
    assert per_million is not None and floor is not None, text

    # Then the README's cost headline quotes both as printed
    readme = (ROOT / "README.md").read_text()
    stale = "the README's cost headline is stale: quote docs/cost.md's figures again"
    assert per_million.group(0) in readme and f"floor: {floor.group(1)}" in readme, stale


def test_the_markdown_shows_the_month_and_ten_times_it_with_totals_per_month_and_per_million() -> None:
    # When two million jobs a month are priced
    text = markdown_of("--jobs-per-month", "2000000")

    # Then the table has columns for 2 M and 20 M jobs at ERROR and ALL
    rows = text.splitlines()
    assert rows[0].split(" | ")[3:] == [
        "2 M quantity",
        "2 M ERROR $",
        "2 M ALL $",
        "20 M quantity",
        "20 M ERROR $",
        "20 M ALL $ |",
    ]
    # And each month's total is its per-million figure times its millions of jobs
    (monthly,) = [row for row in rows if row.startswith("| **total** | **per month** |")]
    (per_million,) = [row for row in rows if row.startswith("| **total** | **per million jobs** |")]

    def figures(row: str) -> list[float]:
        cells = [cell.strip(" *") for cell in row.split("|")[1:-1] if cell.strip()]
        return [float(cell.replace(",", "")) for cell in cells[2:]]

    month, million = figures(monthly), figures(per_million)
    assert month == pytest.approx(
        [2 * million[0], 2 * million[1], 20 * million[2], 20 * million[3]], abs=0.11
    )
    # And per million jobs, the ten-times month costs less: its fixed and prorated lines weigh less
    assert million[2] < million[0] and million[3] < million[1]
    assert "at 20,000,000 a month" in text


def test_the_design_floor_is_the_listed_price_of_each_request_and_write_a_job_makes() -> None:
    # Given the repository's stack and the prices file, read here on their own
    raw = {name: price.usd / price.per for name, price in PRICES.items()}

    # When the bill is priced
    bill = cost.compute_bill(cost.Stack.read(ROOT / "template.yaml"), PRICES, cost.Usage(log_level="ERROR"))

    # Then the floor is one HTTP API request, four Lambda requests, three SQS requests, a Pipe
    # request, an Express execution and three write units, and the bill is above it
    per_job = (
        raw["apigateway_http_request"]
        + 4 * raw["lambda_request"]
        + 3 * raw["sqs_request"]
        + raw["pipes_request"]
        + raw["stepfunctions_express_request"]
        + 3 * raw["dynamodb_write_request_unit"]
    )
    assert sum(bill.floor.values()) == pytest.approx(per_job * 1_000_000)
    assert sum(bill.floor.values()) < bill.per_million_jobs_usd
    assert bill.to_json()["floorPerMillionJobsUsd"] == pytest.approx(per_job * 1_000_000, abs=1e-4)


def test_a_pipe_batch_of_ten_lowers_the_floor_by_what_the_receives_deletes_and_pipe_requests_cost(
    tmp_path: Path,
) -> None:
    # Given the stack as it is, and the same with the Pipe handing over ten messages at a time
    one = cost.design_floor(stack_with(tmp_path / "a"), PRICES)
    batch = "          BatchSize: 1\n"
    ten = cost.design_floor(stack_with(tmp_path / "b", (batch, "          BatchSize: 10\n")), PRICES)

    # Then the SQS and Pipe parts shrink as the bill's lines do, and nothing else moves
    saved = sum(one.values()) - sum(ten.values())
    sqs, pipes = PRICES["sqs_request"], PRICES["pipes_request"]
    assert saved == pytest.approx(1_000_000 * (sqs.usd / sqs.per * 2 * 0.9 + pipes.usd / pipes.per * 0.9))
    assert [usd for part, usd in one.items() if "SQS" not in part and "Pipe" not in part] == [
        usd for part, usd in ten.items() if "SQS" not in part and "Pipe" not in part
    ]


def test_a_function_on_x86_is_priced_at_the_x86_rate_and_the_others_stay_on_arm(tmp_path: Path) -> None:
    # Given the stack (Globals: arm64) with ClaimFunction moved to x86_64
    handler = "      Handler: cloudqueue.handlers.claim.handler\n"
    stack = stack_with(tmp_path, (handler, handler + "      Architectures: [x86_64]\n"))

    # When it is priced
    bill = cost.compute_bill(stack, PRICES, cost.Usage())

    # Then the claim's GB-seconds take the x86 price and the process step's keep arm64's
    assert line(bill, "Lambda", "ClaimFunction 256 MB x86_64").price == "lambda_gb_second_x86_64"
    assert line(bill, "Lambda", "ProcessFunction 128 MB arm64").price == "lambda_gb_second_arm64"


def test_json_report_is_what_cost_json_prints() -> None:
    # Given the command's JSON for both default log levels
    printed = CliRunner().invoke(app, ["cost", "--json"])
    assert printed.exit_code == 0, printed.output

    # Then the renderer gives the same document for the same bills, the tenfold month's too
    usage = cost.Usage(durations_ms=cost.durations_from(ROOT, {}), init_ms=cost.init_from(ROOT))
    tenfold = cost.Usage(
        jobs_per_month=10_000_000, durations_ms=cost.durations_from(ROOT, {}), init_ms=cost.init_from(ROOT)
    )
    report = json.loads(printed.output)
    assert report == cost.json_report(
        list(cost.bills_by_level(ROOT, usage)), list(cost.bills_by_level(ROOT, tenfold))
    )
    # And the fields it had stay, each capacity limit with its jobs/s
    assert {
        "monthlyUsd",
        "perMillionJobsUsd",
        "lines",
        "capacity",
        "floorPerMillionJobsUsd",
        "byLogLevel",
    } <= set(report)
    assert set(report["byJobsPerMonth"]) == {"1000000", "10000000"}
    assert all(limit["jobs_per_second"] > 0 for limit in report["capacity"])


def test_keyed_jobs_and_progress_add_their_writes_and_reads_and_nothing_else(tmp_path: Path) -> None:
    stack = stack_with(tmp_path)
    plain = cost.compute_bill(stack, PRICES, cost.Usage())
    controlled = cost.compute_bill(stack, PRICES, cost.Usage(keyed_share=0.5, reporting_seconds=4))

    added = {(each.item, each.quantity) for each in controlled.lines} - {
        (each.item, each.quantity) for each in plain.lines
    }
    jobs = cost.Usage().jobs_per_month
    assert added == {
        ("concurrency slots (6 writes per keyed job)", jobs * 0.5 * 6),
        ("concurrency slot reads (consistent)", jobs * 0.5),
        ("progress writes (1 a second)", jobs * 4),
        ("cancel checks (2 a second, eventually consistent)", jobs * 4),
    }
