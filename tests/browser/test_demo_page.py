"""The demo page in real headless Chromium against the local stack: a new visitor submits
jobs, watches them finish, reads their execution history, cancels, and reopens links."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.conftest import TEST_PARAMETERS

pytestmark = pytest.mark.browser

# `make screenshot` sets this to frontend/demo-screenshot.png (the README's picture); a test run
# writes to a temporary path, so that it changes nothing tracked.
SCREENSHOT_TO = "CLOUDQUEUE_SCREENSHOT"
PHONE = {"width": 375, "height": 740}


# --- helpers ---------------------------------------------------------------------------


def open_form(page: Page, path: str = "/") -> None:
    page.goto(path)
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()


def json_editor(page: Page) -> Locator:
    """The payload's JSON editor, switched to from the generated form."""
    page.get_by_label("JSON", exact=True).check()
    return page.get_by_label("Payload (JSON)")


def submit(page: Page, job_type: str | None = None, payload: str | None = None) -> str:
    """Submit through the form; the id the API gave the job."""
    if job_type is not None:
        page.get_by_label("Job type").select_option(job_type)
    if payload is not None:
        json_editor(page).fill(payload)
    with page.expect_response(
        lambda answer: answer.request.method == "POST" and answer.url.endswith("/jobs")
    ) as answer:
        page.get_by_role("button", name="Submit job").click()
    assert answer.value.status == 202, answer.value.text()
    return str(answer.value.json()["jobId"])


def job_status(page: Page) -> Locator:
    return page.locator("#job-status")


def state_node(page: Page, state: str) -> Locator:
    """The node of a state in the open execution's workflow graph."""
    return page.locator(f'.execution[open] .workflow-graph .node[data-state="{state}"]')


def posts_to_jobs(page: Page) -> list[Request]:
    seen: list[Request] = []
    page.on(
        "request",
        lambda request: seen.append(request) if request.method == "POST" and "/jobs" in request.url else None,
    )
    return seen


def hold_claims(event: Any) -> None:
    """An injected fault: every claim fails, so a submitted job stays QUEUED."""
    raise RuntimeError("claims are held by the test")


def fail_first_finalize_of(uppercase: str) -> Callable[[Any], None]:
    """An injected fault: the first attempt to record the job whose result is ``uppercase``
    fails, as if its worker died before writing; every other call runs normally."""
    failed: list[Any] = []

    def fault(event: Any) -> None:
        if (
            not failed
            and isinstance(event, dict)
            and (event.get("result") or {}).get("uppercase") == uppercase
        ):
            failed.append(event)
            raise RuntimeError("the worker died before recording the result")

    return fault


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def submit_by_api(api: httpx.Client, job_type: str, payload: dict[str, Any]) -> str:
    answer = api.post("/jobs", json={"type": job_type, "payload": payload})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["jobId"])


# --- submitting and following a job --------------------------------------------------


def test_the_seed_text_job_shows_its_id_then_succeeded_and_the_uppercased_text(page: Page) -> None:
    open_form(page)
    expect(page.get_by_label("Job type")).to_have_value("text.transform")
    expect(page.get_by_label("Payload (JSON)")).to_have_value(re.compile(r'"text":\s*"hello cloudqueue"'))

    job_id = submit(page)  # the Pipe is held until the API answered (conftest.open_page)

    expect(page.locator("#job-id")).to_have_text(job_id)
    expect(page).to_have_url(re.compile(f"#{job_id}$"))
    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(page.locator("#job-result")).to_contain_text("HELLO CLOUDQUEUE")
    for state in ("ParseMessage", "ClaimJob", "IsClaimed", "ProcessJob", "RecordSuccess", "Done"):
        expect(state_node(page, state)).to_have_attribute("data-outcome", "succeeded")
    for state in ("AlreadyHandled", "RecordFailure", "WorkerUnavailable", "Superseded"):
        expect(state_node(page, state)).to_have_attribute("data-outcome", "skipped")
    expect(page.locator(".execution[open] table.events")).to_contain_text("ExecutionSucceeded")
    expect(page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')).to_contain_text("SUCCEEDED")


def test_the_job_id_is_shown_as_soon_as_the_api_accepts_the_job(page: Page, faults: dict) -> None:
    faults["ClaimFunction"] = hold_claims
    open_form(page)

    job_id = submit(page, "text.transform", '{"text": "not yet"}')

    expect(page.locator("#job-id")).to_have_text(job_id)
    expect(job_status(page)).to_have_text("QUEUED")
    expect(page.locator("#job-section")).to_contain_text("Waiting in the queue")
    expect(page.locator("#history-section")).to_contain_text("No execution yet")


def test_a_permanently_failing_job_shows_failed_and_its_error(page: Page) -> None:
    open_form(page)

    submit(page, "demo.fail", '{"reason": "the disk is on fire"}')

    expect(job_status(page)).to_have_text("FAILED")
    expect(page.locator("#job-error")).to_contain_text("PermanentJobError")
    expect(page.locator("#job-error")).to_contain_text("the disk is on fire")
    expect(page.locator("#job-result")).to_have_count(0)
    expect(state_node(page, "ProcessJob")).to_have_attribute("data-outcome", "caught")
    expect(state_node(page, "RecordFailure")).to_have_attribute("data-outcome", "succeeded")
    expect(state_node(page, "RecordSuccess")).to_have_attribute("data-outcome", "skipped")
    expect(page.locator(".execution[open] table.events tr.row-failed")).to_contain_text("the disk is on fire")


def test_a_flaky_job_shows_its_retries_in_the_graph(page: Page, tmp_path: Path) -> None:
    open_form(page)

    submit(page, "demo.flaky", '{"failTimes": 2}')

    expect(job_status(page)).to_have_text("SUCCEEDED")
    process = state_node(page, "ProcessJob")
    expect(process).to_have_attribute("data-outcome", "retried")
    expect(process).to_contain_text("retried 2 times")
    expect(page.locator(".execution[open] .failures li")).to_have_count(2)
    expect(page.locator(".execution[open] .failures")).to_contain_text("simulated transient failure 2 of 2")
    expect(page.locator(".execution[open] table.events")).to_contain_text("ExecutionSucceeded")
    # The README's picture: a finished job with retries, its graph and its event table.
    page.locator("#notices").evaluate("element => element.replaceChildren()")
    screenshot = Path(os.environ.get(SCREENSHOT_TO) or tmp_path / "demo-screenshot.png")
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")


# The second execution starts only after the message's visibility timeout (past the lease),
# so this test waits at least that long: its deadline is the visibility timeout and as much
# again for a busy machine, and pytest's own limit lies past it.
REDELIVERY_DEADLINE_S = 2 * int(TEST_PARAMETERS["VisibilityTimeoutSeconds"])


@pytest.mark.timeout(REDELIVERY_DEADLINE_S + 120)
def test_a_job_that_ran_twice_shows_both_executions(page: Page, faults: dict) -> None:
    # The first execution fails in RecordSuccess; SQS redelivers the message after its
    # visibility timeout (past the lease: VisibilityTimeoutSeconds in the test stack) and a second execution
    # re-claims the job and finishes it.
    faults["FinalizeFunction"] = fail_first_finalize_of("RUN ME TWICE")
    open_form(page)

    submit(page, "text.transform", '{"text": "run me twice"}')

    expect(job_status(page)).to_have_text("SUCCEEDED", timeout=REDELIVERY_DEADLINE_S * 1000)
    executions = page.locator(".execution")
    expect(executions).to_have_count(2)
    first, second = executions.nth(0), executions.nth(1)
    expect(first.locator("summary")).to_contain_text("Execution 1 of 2 · failed")
    expect(second.locator("summary")).to_contain_text("Execution 2 of 2 · succeeded")
    first.locator("summary").click()
    expect(first.locator('.node[data-state="RecordSuccess"]')).to_have_attribute("data-outcome", "failed")
    expect(first).to_contain_text("the worker died before recording the result")
    expect(second.locator('.node[data-state="RecordSuccess"]')).to_have_attribute("data-outcome", "succeeded")
    expect(page.locator("#job-section")).to_contain_text("claimed again after a worker was lost")


# --- checks before sending -------------------------------------------------------------


def test_invalid_json_is_refused_with_a_message_before_anything_is_sent(page: Page) -> None:
    posts = posts_to_jobs(page)
    open_form(page)
    editor = json_editor(page)

    editor.fill('{"text": "hello cloudqueue"')
    page.get_by_role("button", name="Submit job").click()

    expect(page.locator("#payload-error")).to_contain_text("not valid JSON")
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(editor).to_be_focused()
    assert posts == []


def test_a_payload_that_breaks_the_type_schema_is_refused_before_anything_is_sent(page: Page) -> None:
    posts = posts_to_jobs(page)
    open_form(page)

    json_editor(page).fill('{"text": "", "colour": "red"}')
    page.get_by_role("button", name="Submit job").click()

    problems = page.locator("#payload-error")
    expect(problems).to_contain_text("text must not be empty")
    expect(problems).to_contain_text("colour is not an allowed field")
    page.get_by_label("Job type").select_option("demo.sleep")
    json_editor(page).fill('{"seconds": "five"}')
    page.get_by_role("button", name="Submit job").click()
    expect(problems).to_contain_text("seconds must be a number")
    assert posts == []


# --- cancel, links and errors -----------------------------------------------------------


def test_a_queued_job_is_cancelled_from_the_page(page: Page, api: httpx.Client, faults: dict) -> None:
    faults["ClaimFunction"] = hold_claims
    job_id = submit_by_api(api, "demo.sleep", {"seconds": 1})
    page.goto(f"/#{job_id}")
    expect(job_status(page)).to_have_text("QUEUED")

    page.get_by_role("button", name="Cancel job", exact=True).click()

    expect(job_status(page)).to_have_text("CANCELLED")
    expect(page.get_by_role("button", name="Cancel job", exact=True)).to_have_count(0)
    expect(page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')).to_contain_text("CANCELLED")
    assert api.get(f"/jobs/{job_id}").json()["status"] == "CANCELLED"


def test_a_queued_job_is_cancelled_from_the_recent_jobs_list(
    page: Page, api: httpx.Client, faults: dict
) -> None:
    faults["ClaimFunction"] = hold_claims
    job_id = submit_by_api(api, "text.transform", {"text": "cancel me from the list"})
    open_form(page)
    page.get_by_label("Show jobs with status").select_option("QUEUED")
    row = page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')
    expect(row).to_contain_text("QUEUED")

    row.get_by_role("button", name=f"Cancel job {job_id}").click()

    expect(row).to_contain_text("CANCELLED")
    expect(row.get_by_role("button")).to_have_count(0)
    assert api.get(f"/jobs/{job_id}").json()["status"] == "CANCELLED"


def test_a_job_listed_twice_while_it_changed_is_shown_once_with_its_newest_status(page: Page) -> None:
    # An unfiltered GET /jobs reads one status after another, so a job cancelled meanwhile
    # can come back twice: QUEUED (read first) and CANCELLED.
    job = {
        "jobId": "01a22089-0000-7000-8000-000000000001",
        "type": "demo.sleep",
        "payload": {"seconds": 1},
        "status": "QUEUED",
        "attempts": 0,
        "createdAt": "2026-11-28T05:00:00.000Z",
        "updatedAt": "2026-11-28T05:00:00.000Z",
        "startedAt": None,
        "finishedAt": None,
        "result": None,
        "error": None,
        "leaseExpiresAt": None,
        "executions": [],
        "idempotencyKey": None,
    }
    cancelled = job | {
        "status": "CANCELLED",
        "updatedAt": "2026-11-28T05:00:01.000Z",
        "finishedAt": "2026-11-28T05:00:01.000Z",
    }
    page.route(
        re.compile(r"/jobs\?"),
        lambda route: route.fulfill(json={"jobs": [job, cancelled], "nextToken": None}),
    )

    open_form(page)

    rows = page.locator(f'#job-list .job-row[data-job-id="{job["jobId"]}"]')
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("CANCELLED")


def test_reopening_a_job_link_in_a_fresh_page_shows_the_job(open_page: Callable[..., Page]) -> None:
    first = open_page("/")
    expect(first.get_by_role("button", name="Submit job")).to_be_enabled()
    job_id = submit(first, "text.transform", '{"text": "open me again"}')
    expect(job_status(first)).to_have_text("SUCCEEDED")
    link = first.url

    again = open_page(None)
    again.goto(link)

    expect(again.locator("#job-id")).to_have_text(job_id)
    expect(job_status(again)).to_have_text("SUCCEEDED")
    expect(again.locator("#job-result")).to_contain_text("OPEN ME AGAIN")
    expect(state_node(again, "ProcessJob")).to_have_attribute("data-outcome", "succeeded")


def test_a_recent_job_link_switches_the_page_to_that_job_and_back(page: Page, api: httpx.Client) -> None:
    text_job = submit_by_api(api, "text.transform", {"text": "first of two"})
    failing_job = submit_by_api(api, "demo.fail", {"reason": "second of two"})
    page.goto(f"/#{failing_job}")
    expect(job_status(page)).to_have_text("FAILED")

    page.locator(f'#job-list a[href="#{text_job}"]').click()

    expect(page.locator("#job-id")).to_have_text(text_job)
    expect(page.locator("#job-result")).to_contain_text("FIRST OF TWO")
    expect(page.locator(f'#job-list a[href="#{text_job}"]')).to_have_attribute("aria-current", "true")
    page.go_back()
    expect(page.locator("#job-id")).to_have_text(failing_job)
    expect(page.locator("#job-error")).to_contain_text("second of two")


def test_an_unknown_job_id_shows_the_api_error_in_words(page: Page) -> None:
    page.goto("/#no-such-job")

    expect(page.locator("#notices")).to_contain_text("Job no-such-job was not found")
    expect(page.locator("#notices")).to_contain_text("no job no-such-job")
    expect(page.locator("#job-section")).to_contain_text("No job with id no-such-job")
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()  # the rest of the page still works


def test_a_refused_submit_is_explained_in_words(page: Page) -> None:
    refusal = {"error": {"code": "queue_unavailable", "message": "the job could not be queued; retry"}}
    page.route(
        re.compile(r"/jobs$"),
        lambda route: (
            route.fulfill(status=503, json=refusal) if route.request.method == "POST" else route.fallback()
        ),
    )
    open_form(page)

    page.get_by_role("button", name="Submit job").click()

    expect(page.locator("#notices")).to_contain_text("The job was not submitted")
    expect(page.locator("#notices")).to_contain_text("the job could not be queued; retry (HTTP 503")
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()


def test_an_unreachable_api_is_explained_in_words(page: Page) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}"
    page.route(
        "**/config.json", lambda route: route.fulfill(json={"apiUrl": nowhere, "environment": "local"})
    )

    page.goto("/")

    expect(page.locator("#notices")).to_contain_text("Could not load the job types")
    expect(page.locator("#notices")).to_contain_text(f"Could not reach the API at {nowhere}")
    expect(page.locator("#types-problem")).to_be_visible()


def test_without_the_workflow_definition_the_history_still_shows_the_steps_taken(page: Page) -> None:
    unavailable = {"error": {"code": "unavailable", "message": "the workflow is unavailable"}}
    page.route(re.compile(r"/workflow$"), lambda route: route.fulfill(status=503, json=unavailable))
    open_form(page)

    submit(page)

    expect(page.locator("#notices")).to_contain_text("Could not read the workflow definition")
    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(state_node(page, "ProcessJob")).to_have_attribute("data-outcome", "succeeded")
    expect(state_node(page, "RecordFailure")).to_have_count(0)  # only the states the execution went through


def history_reads(page: Page) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda request: seen.append(request) if request.url.endswith("/history") else None)
    return seen


def history_unrecorded(page: Page) -> None:
    """Each execution's history as the API answers it when nothing of it was logged (a run
    without errors at ERROR): no events, so no end, so RUNNING."""

    def answer(route: Any) -> None:
        real = route.fetch().json()
        empty = {"status": "RUNNING", "stoppedAt": None, "durationMs": None, "steps": [], "events": []}
        route.fulfill(json=real | {"executions": [execution | empty for execution in real["executions"]]})

    page.route(re.compile(r"/history$"), answer)


def workflow_recording(page: Page, level: str) -> None:
    """The page is told the stack's history records at ``level`` (the local stack logs ALL)."""

    def answer(route: Any) -> None:
        real = route.fetch()
        route.fulfill(response=real, json=real.json() | {"historyLevel": level})

    page.route(re.compile(r"/workflow$"), answer)


def test_at_error_level_a_succeeded_jobs_history_is_read_once_and_the_page_says_why(page: Page) -> None:
    # Given a stack whose history records only errors (ExecutionLogLevel ERROR)
    workflow_recording(page, "ERROR")
    history_unrecorded(page)
    reads = history_reads(page)
    open_form(page)

    with page.expect_response(lambda answer: answer.url.endswith("/history"), timeout=30_000):
        submit(page)
        expect(job_status(page)).to_have_text("SUCCEEDED")

    # Then the job was followed to its end, its history read once after it (not at every poll,
    # nor a dozen times waiting for records that never come), and the page says why it is empty
    expect(page.locator("#history-body .history-level")).to_contain_text("ExecutionLogLevel ERROR")
    expect(page.get_by_role("button", name="Refresh history")).to_be_visible()
    assert len(reads) == 1
    expect(page.locator("#history-body .execution")).to_have_count(0)  # an unrecorded run is not "running"


def test_at_off_level_the_page_never_asks_for_the_history(page: Page) -> None:
    workflow_recording(page, "OFF")
    reads = history_reads(page)
    open_form(page)

    submit(page)

    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(page.locator("#history-body .history-level")).to_contain_text("does not record execution history")
    assert reads == []


def test_a_missing_config_json_is_explained_in_words(page: Page) -> None:
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="Not Found"))

    page.goto("/")

    expect(page.locator("#notices")).to_contain_text("The page does not know where the API is")
    expect(page.locator("#notices")).to_contain_text("config.json")
    expect(page.locator("#app-state")).to_contain_text("Not connected")


# --- keyboard and phone ------------------------------------------------------------------


def test_every_control_is_labelled_and_a_job_can_be_sent_from_the_keyboard(page: Page) -> None:
    open_form(page)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("select, textarea, input, button")]
              .filter((el) => !el.labels?.length && !el.getAttribute("aria-label") && !el.textContent.trim())
              .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []

    page.get_by_label("Job type").focus()
    page.keyboard.press("Tab")  # the Form / JSON switch
    page.keyboard.press("Tab")  # "Reset to example"
    page.keyboard.press("Tab")
    expect(page.get_by_label("text")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type('{"text": "typed on a keyboard"}')
    page.keyboard.press("Control+Enter")

    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(page.locator("#job-result")).to_contain_text("TYPED ON A KEYBOARD")


def test_the_page_fits_a_phone_screen(open_page: Callable[..., Page]) -> None:
    page = open_page("/", viewport=PHONE)
    expect(page.get_by_role("button", name="Submit job")).to_be_enabled()

    submit(page)

    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(state_node(page, "ProcessJob")).to_be_visible()
    expect(page.locator(".execution[open] table.events")).to_contain_text("ExecutionSucceeded")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# --- the payload form and rerun -----------------------------------------------------------


def test_the_payload_form_is_built_from_the_schema_and_kept_in_sync_with_the_json(page: Page) -> None:
    posts = posts_to_jobs(page)
    open_form(page)
    text = page.get_by_label("text")
    expect(text).to_have_value("hello cloudqueue")

    text.fill("from the form")
    expect(page.get_by_label("Payload (JSON)")).to_have_value(re.compile(r'"text":\s*"from the form"'))
    json_editor(page).fill('{"text": "from the JSON"}')
    page.get_by_label("Form", exact=True).check()
    expect(text).to_have_value("from the JSON")

    page.get_by_label("Job type").select_option("demo.sleep")
    seconds = page.get_by_label("seconds")
    expect(seconds).to_have_attribute("type", "number")
    # demo.sleep's limit follows the process timeout (the test stack's, less 1 s).
    limit = int(TEST_PARAMETERS["ProcessTimeoutSeconds"]) - 1
    expect(seconds).to_have_attribute("max", str(limit))
    seconds.fill(str(limit + 1))
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#payload-error")).to_contain_text(f"seconds must be at most {limit}")
    expect(seconds).to_have_attribute("aria-invalid", "true")
    expect(seconds).to_be_focused()
    assert posts == []

    page.get_by_label("Job type").select_option("text.transform")
    expect(text).to_have_value("from the JSON")  # each type keeps its draft
    text.fill("sent from the form")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#job-result")).to_contain_text("SENT FROM THE FORM")


def test_the_rerun_button_shows_only_for_a_failed_job_and_reruns_it(page: Page, api: httpx.Client) -> None:
    succeeded = submit_by_api(api, "text.transform", {"text": "fine"})
    page.goto(f"/#{succeeded}")
    expect(job_status(page)).to_have_text("SUCCEEDED")
    expect(page.locator("#rerun-job")).to_have_count(0)

    failed = submit_by_api(api, "demo.fail", {"reason": "first run"})
    page.goto(f"/#{failed}")
    expect(job_status(page)).to_have_text("FAILED")
    page.get_by_role("button", name="Rerun job").click()

    expect(page.locator("#job-runs")).to_contain_text("Run 1:")
    expect(page.locator("#job-runs")).to_contain_text("PermanentJobError: first run")
    expect(job_status(page)).to_have_text("FAILED")
    expect(page.locator("#job-section dl")).to_contain_text("2")
    expect(page.locator("#history-section")).to_contain_text("ran in 2 executions")
    expect(page.get_by_role("button", name="Rerun job")).to_be_visible()


def test_a_job_with_a_callback_shows_its_webhook_deliveries(
    page: Page, api: httpx.Client, local_stack: Any
) -> None:
    from cloudqueue.callbacks import whsec_form
    from tests.local.test_end_to_end import wait_for
    from tests.local.test_webhooks import Receiver

    # Given a job whose callback answered 500, then 204 (the session's stack has webhooks on)
    receiver = Receiver(whsec_form(local_stack.secrets["WebhookSecret"]))
    receiver.answers = [500]
    try:
        response = api.post(
            "/jobs", json={"type": "text.transform", "payload": {"text": "hook"}, "callbackUrl": receiver.url}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["jobId"]
        wait_for(lambda: len(api.get(f"/jobs/{job_id}").json()["deliveries"]) == 2, timeout=60)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

    # When its page is opened
    page.goto(f"/#{job_id}")

    # Then the job view lists both attempts: their answers and outcomes
    deliveries = page.locator("#job-deliveries")
    expect(deliveries).to_contain_text("Webhook deliveries (2)")
    expect(deliveries.locator("tbody tr")).to_have_count(2)
    expect(deliveries.locator("tbody tr").nth(0)).to_contain_text("HTTP 500")
    expect(deliveries.locator("tbody tr").nth(0)).to_contain_text("RETRYING")
    expect(deliveries.locator("tbody tr").nth(1)).to_contain_text("HTTP 204")
    expect(deliveries.locator("tbody tr").nth(1)).to_contain_text("DELIVERED")
