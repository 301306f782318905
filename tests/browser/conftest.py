"""Browser fixtures: Debian's Chromium, driven by Playwright, against the session's local stack.

Playwright cannot download its own browser here, so it launches the system Chromium
(``apt-get install -y chromium``) by its executable path: ``$CHROMIUM_PATH`` or the first
``chromium`` / ``chromium-browser`` on ``PATH``. Without one the tests fail; they never skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect, sync_playwright

if TYPE_CHECKING:
    from cloudqueue_local.devtools.stack import LocalStack

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Jobs finish in about a second locally; a flaky job's retries back off for a few more.
expect.set_options(timeout=15_000)


def chromium_executable() -> str:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        pytest.fail(f"CHROMIUM_PATH={configured} is not an executable file.", pytrace=False)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium was not found, so the browser tests cannot run. Install Debian's package "
        "(apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium executable.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def open_page(browser: Browser, local_stack: LocalStack) -> Iterator[Callable[..., Page]]:
    """Open the demo page in a fresh browser context (no shared storage, like a new visitor).

    When the test ends, the page must have thrown no uncaught error and must have asked
    nothing of any host but the local stack (the page works offline).
    """
    contexts = []
    page_errors: list[str] = []
    outside: list[str] = []

    def note_request(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            outside.append(url)

    def hold_deliveries_until_answered(route: Route) -> None:
        # The API sends a job's message before it writes the job (enqueue-before-write): on a
        # busy machine the Pipe could deliver first, and the page would show the claim retried
        # (JobNotYetWritten), true but not the path these tests draw. Hold the Pipe until the
        # API has answered.
        if route.request.method != "POST":
            route.continue_()
            return
        for pipe in local_stack.pipes:
            pipe.pause()
        try:
            route.fulfill(response=route.fetch())
        finally:
            for pipe in local_stack.pipes:
                pipe.resume()

    def open_(path: str = "/", *, viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=local_stack.api_url)
        context.route(f"{local_stack.api_url}/jobs", hold_deliveries_until_answered)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.on("request", lambda request: note_request(request.url))
        if path is not None:
            page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not page_errors, f"uncaught errors in the page: {page_errors}"
    assert not outside, f"the page asked hosts other than the local stack: {outside}"


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A new visitor's page in a desktop-sized window, not yet navigated: listen, then goto."""
    return open_page(None)
