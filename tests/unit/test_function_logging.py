"""The functions' logging: Lambda's platform lines as LoggingConfig asks (emulated), the
template's defaults, and the handlers' Powertools level when Lambda's advanced logging
controls set their own."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Logger

from cloudqueue.handlers.log_level import service_logger
from cloudqueue_local.emulator.awslambda.platform_logs import PlatformLog, Report, is_report
from cloudqueue_local.template import LoggingSpec
from tests.unit.test_template_operations import PARAMETERS, TEMPLATE, resolver

REPORT = Report("req-1", duration_ms=12.345, memory_mb=256, max_memory_mb=80, init_duration_ms=300.5)


def test_text_format_writes_start_end_and_report_whatever_the_system_level() -> None:
    platform = PlatformLog(LoggingSpec("Text", "WARN"))

    assert platform.start("req-1") == ["START RequestId: req-1 Version: $LATEST"]
    end, report = platform.report(REPORT)
    assert end == "END RequestId: req-1"
    assert report == (
        "REPORT RequestId: req-1\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 80 MB\tInit Duration: 300.50 ms"
    )
    assert platform.environment() == {}


def test_json_format_at_info_writes_platform_start_and_report_objects_and_no_end() -> None:
    platform = PlatformLog(LoggingSpec("JSON", "INFO"))

    (start,) = platform.start("req-1")
    (report,) = platform.report(REPORT)

    assert json.loads(start)["type"] == "platform.start"
    assert json.loads(start)["record"] == {"requestId": "req-1", "version": "$LATEST"}
    parsed = json.loads(report)
    assert parsed["type"] == "platform.report"
    assert parsed["record"] == {
        "requestId": "req-1",
        "metrics": {
            "durationMs": 12.345,
            "billedDurationMs": 13,
            "memorySizeMB": 256,
            "maxMemoryUsedMB": 80,
            "initDurationMs": 300.5,
        },
        "status": "success",
    }
    assert is_report(report)
    assert not is_report(start)


def test_json_format_at_warn_writes_no_line_around_an_invocation() -> None:
    platform = PlatformLog(LoggingSpec("JSON", "WARN"))

    assert platform.start("req-1") == []
    assert platform.report(REPORT) == []
    assert platform.report(Report("req-1", 5.0, 256, 80, status="timeout")) == []
    assert platform.crashed("req-1", "signal: killed", "Runtime.ExitError") == []


def test_json_format_tells_the_runtime_and_drops_application_lines_below_its_level() -> None:
    default = PlatformLog(LoggingSpec("JSON", "WARN"))
    strict = PlatformLog(LoggingSpec("JSON", "WARN", "ERROR"))

    assert default.environment() == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    assert not default.keeps('{"level":"DEBUG","message":"x"}')
    assert default.keeps('{"level":"INFO","message":"x"}')
    assert default.keeps('{"_aws":{"CloudWatchMetrics":[]},"JobsFailed":[1]}')  # EMF: no level, INFO
    assert default.keeps("plain text")
    assert not strict.keeps('{"level":"WARNING","message":"x"}')
    assert strict.keeps('{"level":"ERROR","message":"x"}')
    # (which is why ApplicationLogLevel stays unset: a level above INFO drops the EMF lines)
    assert not strict.keeps('{"_aws":{"CloudWatchMetrics":[]},"JobsFailed":[1]}')


# --- the template ----------------------------------------------------------------------------


def test_the_functions_log_json_without_lambdas_per_invocation_lines_and_keep_emf() -> None:
    config = resolver().resolve(TEMPLATE["Globals"]["Function"]["LoggingConfig"])

    assert config == {"LogFormat": "JSON", "SystemLogLevel": "WARN"}
    assert "ApplicationLogLevel" not in TEMPLATE["Globals"]["Function"]["LoggingConfig"]
    assert PlatformLog(LoggingSpec(**_spec(config))).start("r") == []


def _spec(config: dict[str, str]) -> dict[str, str]:
    return {"log_format": config["LogFormat"], "system_log_level": config["SystemLogLevel"]}


def test_the_functions_log_level_defaults_to_warning_and_info_stays_available() -> None:
    assert PARAMETERS["LogLevel"]["Default"] == "WARNING"
    assert {"INFO", "WARNING"} <= set(PARAMETERS["LogLevel"]["AllowedValues"])
    assert PARAMETERS["SystemLogLevel"]["Default"] == "WARN"
    assert {"INFO", "WARN"} <= set(PARAMETERS["SystemLogLevel"]["AllowedValues"])


# --- the handlers' Powertools level ------------------------------------------------------------


def emitted(logger: Logger, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The messages ``logger`` writes (Powertools writes JSON lines to stdout) of an INFO line
    and a warning."""
    capsys.readouterr()
    logger.info("an info line")
    logger.warning("a warning")
    return [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("alc", [None, "INFO"])
def test_a_handlers_logger_logs_warnings_and_not_info_at_warning_even_under_lambdas_info(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], alc: str | None
) -> None:
    # Given LogLevel WARNING and, on Lambda with LogFormat JSON, the runtime's own INFO level
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"cloudqueue-test-{alc}")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    if alc is None:
        monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", alc)

    # When a handler's logger logs an INFO line and a warning
    messages = emitted(service_logger(), capsys)

    # Then only the warning is written
    assert messages == ["a warning"]


def test_plain_powertools_would_log_info_under_lambdas_info_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # (what service_logger guards against: Powertools prefers AWS_LAMBDA_LOG_LEVEL)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cloudqueue-test-plain")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "INFO")

    assert emitted(Logger(), capsys) == ["an info line", "a warning"]


def test_info_stays_available(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cloudqueue-test-info")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "INFO")

    assert emitted(service_logger(), capsys) == ["an info line", "a warning"]
