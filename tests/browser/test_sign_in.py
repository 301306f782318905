"""The page on a stack with AuthMode=jwt, in headless Chromium: a visitor signs in through the
local issuer's form (OIDC authorization code + PKCE), sees who is signed in, submits a job
that runs as theirs, and signs out; all under the page's Content-Security-Policy, with no
violation. The token is kept in sessionStorage, never in localStorage.

`make screenshot-auth` sets CLOUDQUEUE_AUTH_SCREENSHOT to docs/assets/signed-in.png (the
docs' picture); a test run writes to a temporary path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.auth_stacks import dev_stack
from tests.browser.conftest import DESKTOP

pytestmark = pytest.mark.browser

SCREENSHOT_TO = "CLOUDQUEUE_AUTH_SCREENSHOT"


@pytest.fixture(scope="module")
def jwt_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_stack("jwt", tmp_path_factory.mktemp("dev-jwt") / "output.txt") as url:
        yield url


@pytest.fixture
def page(browser: Browser, jwt_stack: str) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=jwt_stack)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    def note(message: ConsoleMessage) -> None:
        # Chromium reports each blocked script, style or connection as a console error.
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(f"CSP: {message.text}")

    page.on("console", note)
    # The DOM's own report of a violation, collected in the page (the policy allows no inline
    # script, so the listener is added from here, before any of the page's scripts run).
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield page
    violations = page.evaluate("window.__cspViolations || []") if not page.is_closed() else []
    context.close()
    assert not problems and not violations, problems + violations


def test_a_visitor_signs_in_submits_a_job_as_themself_and_signs_out(
    page: Page, jwt_stack: str, tmp_path: Path
):
    # Given the page, served with its security headers, signed out
    answer = page.goto("/")
    assert answer is not None
    policy = answer.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy or "default-src 'self'" in policy, policy
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#jobs-state")).to_have_text("Sign in to see your jobs.")

    # When they sign in through the issuer's form as alice
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Name").fill("alice")
    page.get_by_role("button", name="Sign in").click()

    # Then the page is back, signed in, the code gone from the address bar
    expect(page.locator("#auth-who")).to_have_text("Signed in as alice")
    assert "code=" not in page.url
    storage = page.evaluate("[Object.keys(sessionStorage), Object.keys(localStorage)]")
    assert storage[0] == ["cloudqueue.token"] and storage[1] == []

    # And a job submitted from the form runs as hers
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/jobs")) as posted:
        page.get_by_role("button", name="Submit job").click()
    assert posted.value.status == 202, posted.value.text()
    assert posted.value.request.headers["authorization"].startswith("Bearer ")
    job_id = posted.value.json()["jobId"]
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED")
    expect(page.locator(f'#job-list [data-job-id="{job_id}"]')).to_be_visible()

    page.locator("#notices").evaluate("element => element.replaceChildren()")
    screenshot = Path(os.environ.get(SCREENSHOT_TO) or tmp_path / "signed-in.png")
    page.screenshot(path=str(screenshot), full_page=False)
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    # When they sign out, the token is gone and the page is signed out again
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("Object.keys(sessionStorage)") == []
