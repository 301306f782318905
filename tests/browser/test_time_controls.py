"""The page's time and control features in Chromium: a delayed submit from the time picker
(SCHEDULED with its due time, then run; or cancelled before it), a running job's progress bar
and its Cancel button, a submit with a concurrency key that waits for a slot, and the
recurring schedules list (create, pause, resume, delete).

These run on a stack of their own, `cloudqueue dev` with the template's defaults: the
session's stack gives the process function 4 s (``TEST_PARAMETERS``), too short a run for a
bar to be seen moving and a Cancel to be clicked while the job still runs. Every test fails
on any console error, uncaught error or Content-Security-Policy violation.

`make screenshot-controls` sets CLOUDQUEUE_CONTROLS_SCREENSHOTS to docs/assets, where the tests
write delayed-job.png, progress-cancel.png and schedules.png (else to a temporary folder).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, ConsoleMessage, Locator, Page, Request, Route, expect

from tests.auth_stacks import dev_stack
from tests.browser.conftest import DESKTOP
from tests.browser.test_demo_page import PHONE, job_status, json_editor, open_form, submit

pytestmark = pytest.mark.browser

SCREENSHOTS_TO = "CLOUDQUEUE_CONTROLS_SCREENSHOTS"
# The DOM's own report of each violation, collected from before the page's scripts run (the
# policy allows no inline script, so the listener is added from here).
RECORD_VIOLATIONS = (
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


class Watch:
    """What went wrong in the page: console errors, uncaught errors, CSP violations."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def allow(self, words: str) -> None:
        """A test that provokes an error answer (a 422) expects the browser's line about it."""
        self.problems = [problem for problem in self.problems if words not in problem]


@pytest.fixture(scope="module")
def controls_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_stack("none", tmp_path_factory.mktemp("dev-controls") / "output.txt") as url:
        yield url


@pytest.fixture
def api(controls_stack: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=controls_stack, timeout=30) as client:
        yield client


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, controls_stack: str, watch: Watch) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=controls_stack)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: watch.problems.append(f"uncaught: {error}"))
    page.on("console", watch.console)
    page.add_init_script(RECORD_VIOLATIONS)
    yield page
    violations = page.evaluate("window.__cspViolations || []") if not page.is_closed() else []
    context.close()
    assert not watch.problems and not violations, watch.problems + violations


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_TO) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Page, path: Path, *, height: int = 760) -> None:
    """The top of the page (the form beside the open job), without any notice over it."""
    page.locator("#notices").evaluate("element => element.replaceChildren()")
    # A submit scrolls the job into view (smoothly, on a phone): the picture starts at the top
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": DESKTOP["width"], "height": height})
    assert path.read_bytes().startswith(b"\x89PNG")


def open_options(page: Page) -> None:
    page.locator("#job-form details.options summary").click()


def run_at(page: Page, seconds: float) -> datetime:
    """Fill the time picker with now plus seconds (the reader's wall clock, to the second)."""
    due = (datetime.now() + timedelta(seconds=seconds)).replace(microsecond=0)
    page.get_by_label("Run at").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
    return due


def fact(page: Page, term: str) -> Locator:
    """The value beside a term in the open job's facts."""
    return page.locator(f"#job-body dt:text-is('{term}') + dd")


def job_row(page: Page, job_id: str) -> Locator:
    return page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')


def wait_for(api: httpx.Client, job_id: str, status: str, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while (job := api.get(f"/jobs/{job_id}").json())["status"] != status:
        assert time.monotonic() < deadline, f"job {job_id} is {job['status']}, not {status}"
        time.sleep(0.2)
    return job


def posts_a_job(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/jobs")


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


# --- delayed jobs ------------------------------------------------------------------------


def test_a_job_from_the_time_picker_reads_scheduled_with_its_due_time_then_runs_after_it(
    page: Page, api: httpx.Client, shots: Path
) -> None:
    # Given the form, its options open, a run time a few seconds ahead
    open_form(page)
    open_options(page)
    due = run_at(page, 8)

    # When it is submitted
    job_id = submit(page)

    # Then the job reads SCHEDULED, with its due time in the panel and in the list
    job = api.get(f"/jobs/{job_id}").json()
    assert parse(job["runAt"]) == due.astimezone()
    expect(job_status(page)).to_have_text("SCHEDULED")
    expect(fact(page, "Run at").locator("time")).to_have_attribute("datetime", job["runAt"])
    expect(job_row(page, job_id)).to_contain_text("SCHEDULED")
    expect(job_row(page, job_id).locator("time")).to_have_attribute("datetime", job["runAt"])
    expect(job_row(page, job_id)).to_contain_text("due")
    screenshot(page, shots / "delayed-job.png")

    # And then it runs, not before its time, and succeeds
    expect(job_status(page)).to_have_text("SUCCEEDED", timeout=30_000)
    expect(fact(page, "Started")).to_contain_text("after its run time")
    finished = api.get(f"/jobs/{job_id}").json()
    assert parse(finished["startedAt"]) >= parse(job["runAt"])
    expect(job_row(page, job_id)).to_contain_text("SUCCEEDED")


def test_a_job_submitted_while_the_list_loads_stays_listed_as_scheduled(page: Page) -> None:
    # Given the recent jobs' first page read before the submit, and answered only after it
    held: list[tuple[Route, APIResponse]] = []

    def hold_listing(route: Route) -> None:
        if route.request.method == "GET" and not held:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route("**/jobs?*", hold_listing)
    open_form(page)
    deadline = time.monotonic() + 15
    while not held:  # the handler runs while the page is waited on
        assert time.monotonic() < deadline, "the page did not list the recent jobs"
        page.wait_for_timeout(50)
    open_options(page)
    run_at(page, 300)
    job_id = submit(page)
    expect(job_row(page, job_id)).to_contain_text("SCHEDULED")

    # When that older page arrives
    route, answer = held[0]
    assert job_id not in answer.text()
    route.fulfill(response=answer)
    expect(page.locator("#jobs-section")).not_to_have_attribute("aria-busy", "true")

    # Then the job it does not hold is still listed, SCHEDULED, and can be cancelled there
    expect(job_row(page, job_id)).to_contain_text("SCHEDULED")
    job_row(page, job_id).get_by_role("button", name=f"Cancel job {job_id}").click()
    expect(job_row(page, job_id)).to_contain_text("CANCELLED")


def test_a_delayed_job_cancelled_from_the_page_before_its_time_reads_cancelled(
    page: Page, api: httpx.Client
) -> None:
    open_form(page)
    open_options(page)
    due = run_at(page, 120)
    # Folded away, the options still say that a run time is set
    page.locator("#job-form details.options summary").click()
    expect(page.get_by_label("Run at")).to_be_hidden()
    expect(page.locator("#options-set")).to_have_text(f"(run at {due:%Y-%m-%d %H:%M:%S})")
    job_id = submit(page)
    expect(job_status(page)).to_have_text("SCHEDULED")

    page.get_by_role("button", name="Cancel job", exact=True).click()

    expect(job_status(page)).to_have_text("CANCELLED")
    expect(page.get_by_role("button", name="Cancel job", exact=True)).to_have_count(0)
    expect(job_row(page, job_id)).to_contain_text("CANCELLED")
    expect(job_row(page, job_id).get_by_role("button")).to_have_count(0)
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "CANCELLED" and job.get("startedAt") is None


# --- a running job: progress and cancel --------------------------------------------------


def test_a_running_jobs_progress_bar_moves_and_its_cancel_button_ends_it_cancelled(
    page: Page, api: httpx.Client, shots: Path
) -> None:
    # Given demo.sleep running for a while
    open_form(page)
    page.get_by_label("Job type").select_option("demo.sleep")
    job_id = submit(page, payload='{"seconds": 15}')
    expect(job_status(page)).to_have_text("IN PROGRESS")

    # Then its progress bar shows, and grows between two reads
    bar = page.locator("#job-progress progress")
    expect(bar).to_be_visible()
    first = float(bar.get_attribute("value") or 0)
    page.wait_for_function(
        "first => Number(document.querySelector('#job-progress progress')?.value) > first", arg=first
    )
    expect(page.locator("#job-progress")).to_contain_text("slept")
    cancel = page.get_by_role("button", name="Cancel job", exact=True)
    expect(cancel).to_be_enabled()
    screenshot(page, shots / "progress-cancel.png")

    # When its Cancel button is clicked
    cancel.click()

    # Then it ends CANCELLED (not FAILED), with no result, the button and the bar gone
    expect(job_status(page)).to_have_text("CANCELLED")
    expect(cancel).to_have_count(0)
    expect(page.locator("#job-progress")).to_have_count(0)
    expect(page.locator("#job-result")).to_have_count(0)
    expect(job_row(page, job_id)).to_contain_text("CANCELLED")
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "CANCELLED" and job["result"] is None and job["cancelRequestedAt"]
    # It stopped at the cancel, long before its 15 s were slept
    assert (parse(job["finishedAt"]) - parse(job["startedAt"])).total_seconds() < 15


# --- per-key concurrency -------------------------------------------------------------------


def test_a_submit_with_a_concurrency_key_waits_for_a_slot_while_the_keys_jobs_run(
    page: Page, api: httpx.Client
) -> None:
    # Given both of demo.sleep's slots for the key taken by running jobs
    key = f"tenant-{time.time_ns()}"
    running = []
    for _ in range(2):
        job = {"type": "demo.sleep", "payload": {"seconds": 10}, "concurrencyKey": key}
        answer = api.post("/jobs", json=job)
        assert answer.status_code == 202, answer.text
        running.append(answer.json()["jobId"])
    for job_id in running:
        wait_for(api, job_id, "IN_PROGRESS")

    # When a third is submitted from the form with the same key, typed into its field
    open_form(page)
    page.get_by_label("Job type").select_option("demo.sleep")
    json_editor(page).fill('{"seconds": 1}')
    open_options(page)
    # (reached from the keyboard: one Shift+Tab back from the idempotency key)
    page.get_by_label("Idempotency key").focus()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Concurrency key")).to_be_focused()
    page.keyboard.type(key)
    with page.expect_request(posts_a_job) as sent:
        job_id = submit(page)
    assert sent.value.post_data_json["concurrencyKey"] == key

    # Then the page says it waits for a slot of that key, then runs it after one freed
    expect(fact(page, "Concurrency key")).to_have_text(key)
    expect(page.locator("#job-waiting")).to_contain_text(f"Waiting for a slot: other jobs with the key {key}")
    expect(job_status(page)).to_have_text("QUEUED")
    expect(job_status(page)).to_have_text("SUCCEEDED", timeout=30_000)
    expect(page.locator("#job-waiting")).to_have_count(0)
    finished = [wait_for(api, other, "SUCCEEDED") for other in running]
    started = parse(api.get(f"/jobs/{job_id}").json()["startedAt"])
    assert started >= min(parse(other["finishedAt"]) for other in finished)


# --- recurring schedules ------------------------------------------------------------------


def schedule_row(page: Page, name: str) -> Locator:
    return page.locator(f'#schedule-list .schedule-row[data-schedule="{name}"]')


def test_on_a_phone_the_schedules_come_after_the_form_the_job_and_the_recent_jobs(page: Page) -> None:
    page.set_viewport_size(PHONE)
    open_form(page)

    cards = ["#job-form", "#job-section", "#jobs-section", "#schedules-section"]
    tops = [(page.locator(card).bounding_box() or {"y": -1})["y"] for card in cards]

    assert tops == sorted(tops) and len(set(tops)) == len(tops), dict(zip(cards, tops, strict=True))


def test_a_schedule_is_created_paused_resumed_and_deleted_from_the_page(
    page: Page, api: httpx.Client, watch: Watch, shots: Path
) -> None:
    # Given a schedule made through the API, and the page open
    made = api.post(
        "/schedules",
        json={
            "name": "weekday-digest",
            "expression": "cron(30 6 ? * MON-FRI *)",
            "timezone": "Europe/London",
            "job": {"type": "text.transform", "payload": {"text": "digest"}},
        },
    )
    assert made.status_code == 201, made.text
    open_form(page)
    expect(schedule_row(page, "weekday-digest")).to_contain_text("ENABLED")

    # When one is created from the page, for the submit form's job and concurrency key
    open_options(page)
    page.get_by_label("Concurrency key").fill("reports")
    section = page.locator("#schedules-section")
    section.locator("summary").click()
    section.get_by_label("Name").fill("page-nightly")
    section.get_by_label("Expression").fill("cron(0 2 * * ? *)")
    section.get_by_label("Time zone").fill("Europe/Paris")
    section.get_by_role("button", name="Create schedule").click()

    # Then it is listed, enabled, with its expression, zone and job type, and it can be paused
    row = schedule_row(page, "page-nightly")
    expect(row).to_contain_text("ENABLED")
    expect(row).to_contain_text("cron(0 2 * * ? *)")
    expect(row).to_contain_text("Europe/Paris · text.transform · key reports")
    expect(section.locator("#schedule-status")).to_have_text("Created schedule page-nightly.")
    assert api.get("/schedules/page-nightly").json()["job"]["concurrencyKey"] == "reports"
    page.get_by_role("button", name="pause schedule weekday-digest").click()
    expect(schedule_row(page, "weekday-digest")).to_contain_text("DISABLED")
    assert api.get("/schedules/weekday-digest").json()["state"] == "DISABLED"
    section.screenshot(path=str(shots / "schedules.png"))

    # And resumed, and deleted
    page.get_by_role("button", name="resume schedule weekday-digest").click()
    expect(schedule_row(page, "weekday-digest")).to_contain_text("ENABLED")
    assert api.get("/schedules/weekday-digest").json()["state"] == "ENABLED"
    for name in ("weekday-digest", "page-nightly"):
        page.get_by_role("button", name=f"Delete schedule {name}").click()
        expect(schedule_row(page, name)).to_have_count(0)
    assert api.get("/schedules").json()["schedules"] == []
    expect(section.locator("#schedules-state")).to_have_text("No schedules yet.")

    # And a malformed expression is refused with the API's sentence
    section.get_by_label("Name").fill("bad")
    section.get_by_label("Expression").fill("cron(0 2 * * *)")
    section.get_by_role("button", name="Create schedule").click()
    expect(section.locator("#schedule-status")).to_contain_text("6 fields")
    watch.allow("422")
