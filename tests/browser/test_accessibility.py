"""axe-core (pinned in package.json, installed by `npm ci`) run inside the demo page: no
violations at desktop and at phone width, with a finished job and its history on screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_demo_page import submit

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run `npm ci` (make test and .ci/run do)", pytrace=False)
    # The page's Content-Security-Policy allows scripts from its own origin only (no inline
    # script): axe is served as a file of that origin, and the page keeps its real headers.
    page.route("**/__axe.min.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url="/__axe.min.js")
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_with_a_finished_job_has_no_axe_violations(
    open_page: Callable[..., Page], width: str
) -> None:
    page = open_page("/", viewport=WIDTHS[width])
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()
    # A job that was retried, so that everything a finished job can show is on screen: the
    # graph, the failed attempts (with their heading) and the event table.
    submit(page, "demo.flaky", '{"failTimes": 1}')
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED")
    expect(page.locator(".execution[open] .failures li")).to_have_count(1)
    expect(page.locator(".execution[open] table.events")).to_contain_text("ExecutionSucceeded")

    violations = axe_violations(page)

    assert violations == [], json.dumps(violations, indent=2)
