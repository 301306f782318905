"""Fixtures shared by every test folder.

``local_stack`` is one embedded CloudQueue for the whole session (moto's backends are
process-wide, so there can be only one), on free loopback ports, with time-based
parameters shortened further than ``cloudqueue dev`` does so that recovery paths run in
seconds. Tests that inject faults remove them when they end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

# As short as the timing order allows (cloudqueue_local.template.timing) while every retry the
# tests count still happens: the state machine's Retry numbers are template parameters, so
# the backoffs are 1 s and the retries the tests do not count are fewer. The worst case is then
# 71 s (claim 29 + process 34 + finalize 8), so a dead worker's job is retaken after about a
# minute. Step and process timeouts stay generous enough for a loaded 2-core machine (a
# demo.sleep of 3 s runs). A poison message reaches the dead-letter queue after 3 receives.
# The template's options, off by default: the local tests run the stack with both on, so that the
# events and webhook tests find their Pipes, queues and functions.
OPTIONS_ON = {"JobEvents": "on", "Webhooks": "on"}

TEST_PARAMETERS = {
    **OPTIONS_ON,
    "StepTimeoutSeconds": "2",
    "ProcessTimeoutSeconds": "4",
    "WorkflowTimeoutSeconds": "71",
    "LeaseSeconds": "71",
    "VisibilityTimeoutSeconds": "101",
    # Above the API function's timeout (10 s), and spanned by the claim's waits for the write
    # (1 + 10 s): the last JobNotYetWritten retry comes after the grace.
    "SubmitGraceSeconds": "11",
    "NotYetWrittenRetryMaxAttempts": "2",
    "NotYetWrittenRetryBackoffRate": "10",
    "NotYetWrittenRetryMaxDelaySeconds": "10",
    # Counted by tests/workflow: 2 Lambda retries, 2 JobLeased, 3 TransientJobError, 1 timeout.
    "LambdaRetryBackoffRate": "1",
    "LambdaRetryMaxDelaySeconds": "1",
    "LeasedRetryBackoffRate": "1",
    "LeasedRetryMaxDelaySeconds": "1",
    "TransientRetryBackoffRate": "1",
    "TransientRetryMaxDelaySeconds": "1",
    "ProcessTimeoutRetryMaxAttempts": "1",
    "MaxReceiveCount": "3",
    "RequeueSchedule": "rate(2 seconds)",
    # The functions' log tests read each invocation's lines: Lambda's (platform.start and
    # platform.report, dropped at the default WARN) and the Powertools INFO lines around them.
    "LogLevel": "INFO",
    "SystemLogLevel": "INFO",
    # Delays up to 3 s go by SQS DelaySeconds, longer ones by a one-time Scheduler schedule, so
    # that the local tests take both paths in seconds.
    "SqsDelayLimitSeconds": "3",
}


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:  # noqa: F821 - imported lazily: unit tests need no moto
    from cloudqueue_local.devtools.stack import LocalStack, StackOptions

    stack = LocalStack(StackOptions(port=0, aws_port=0, parameter_overrides=TEST_PARAMETERS)).start()
    try:
        yield stack
    finally:
        stack.stop(drain_seconds=5)


def set_redelivery(stack: LocalStack, redelivery: str) -> None:  # noqa: F821
    for pipe in stack.pipes:
        pipe.redelivery = redelivery


@pytest.fixture
def redelivery(local_stack: LocalStack) -> Iterator[Callable[[str], None]]:  # noqa: F821
    """Choose when a failed execution's message comes back: ``"visibility"`` (after the
    visibility timeout, as SQS; the default) or ``"immediate"`` (at once). Reset after the test."""
    yield lambda timing: set_redelivery(local_stack, timing)
    set_redelivery(local_stack, "visibility")


@pytest.fixture
def api(local_stack: LocalStack) -> Iterator[httpx.Client]:  # noqa: F821
    with httpx.Client(base_url=local_stack.api_url, timeout=30) as client:
        yield client


@pytest.fixture
def faults(local_stack: LocalStack) -> Iterator[dict]:  # noqa: F821
    """Inject failures into functions by logical id; all removed after the test."""
    yield local_stack.runtime.faults
    local_stack.runtime.faults.clear()
