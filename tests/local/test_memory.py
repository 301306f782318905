"""Each function's peak memory, read from its environments' processes as `cloudqueue bench`
reports it for sizing MemorySize."""

from __future__ import annotations

import os

import httpx

from cloudqueue_local.bench.memory import peak_memory, peak_rss_mb
from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_cli import wait_until_succeeded


def test_a_processs_peak_is_its_vmhwm_and_a_gone_process_has_none() -> None:
    mine = peak_rss_mb(os.getpid())

    assert mine is not None
    assert mine > 1
    assert peak_rss_mb(2**22 + 12345) is None  # above the kernel's largest pid


def test_every_function_gets_a_peak_and_one_that_ran_a_job_says_so(
    local_stack: LocalStack, api: httpx.Client
) -> None:
    response = api.post("/jobs", json={"type": "text.transform", "payload": {"text": "measured"}})
    wait_until_succeeded(api, response.json()["jobId"])

    figures = peak_memory(local_stack)

    assert set(figures) == set(local_stack.template.functions)
    for name, memory in figures.items():
        assert memory["environments"] >= 1, name
        # the headroom the template's sizes were chosen with: at least 1.5 times the peak
        assert 1 < 1.5 * memory["peak_mb"] <= memory["memory_size_mb"], (name, memory)
        assert memory["memory_size_mb"] == local_stack.template.functions[name].memory
    for step in ("ApiFunction", "ClaimFunction", "ProcessFunction", "FinalizeFunction"):
        assert figures[step]["measured"] == "under load"
        assert figures[step]["invocations"] >= 1
