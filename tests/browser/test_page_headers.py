"""The page runs under the security headers CloudFront adds (template.yaml's response headers
policy, which the local gateway sends too): no Content-Security-Policy violation while it loads,
submits a job and draws its workflow."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_demo_page import job_status, submit

# Reported by the page itself: every CSP violation, with what was blocked.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_page_carries_the_security_headers_and_runs_under_its_csp(page: Page) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    document = page.goto("/")
    assert document is not None
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()
    headers = document.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["strict-transport-security"].startswith("max-age=")

    submit(page)
    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(page.locator('.execution[open] .workflow-graph .node[data-state="ProcessJob"]')).to_be_visible()

    assert page.evaluate("window.__cspViolations") == []
