"""The page's time controls on the local stack: a delayed submit from the time picker, and the
recurring schedules list (create, pause, resume, delete)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from .test_demo_page import job_status, open_form, submit

pytestmark = pytest.mark.browser


def test_a_job_submitted_with_a_run_time_reads_scheduled_then_succeeds_not_before_it(page: Page) -> None:
    open_form(page)
    page.locator("details.options summary").first.click()
    # The picker takes the reader's wall clock; 4 s from now, to the second
    due = (datetime.now() + timedelta(seconds=4)).replace(microsecond=0)
    page.get_by_label("Run at").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))

    job_id = submit(page)

    expect(page.locator("#job-id")).to_have_text(job_id)
    expect(job_status(page)).to_have_text("SCHEDULED")
    expect(page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')).to_contain_text("SCHEDULED")
    expect(job_status(page)).to_have_text("SUCCEEDED")
    assert datetime.now() >= due


def test_a_schedule_is_created_paused_resumed_and_deleted_from_the_page(page: Page) -> None:
    open_form(page)
    section = page.locator("#schedules-section")
    section.locator("summary").click()
    section.get_by_label("Name").fill("page-nightly")
    section.get_by_label("Expression").fill("cron(0 2 * * ? *)")
    section.get_by_label("Time zone").fill("Europe/Paris")
    section.get_by_role("button", name="Create schedule").click()

    row = page.locator('#schedule-list .schedule-row[data-schedule="page-nightly"]')
    expect(row).to_contain_text("ENABLED")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator('#schedule-list .schedule-row[data-schedule="page-nightly"]')).to_contain_text(
        "DISABLED"
    )
    page.get_by_role("button", name="resume schedule page-nightly").click()
    expect(page.locator('#schedule-list .schedule-row[data-schedule="page-nightly"]')).to_contain_text(
        "ENABLED"
    )
    page.get_by_role("button", name="Delete schedule page-nightly").click()
    expect(page.locator('#schedule-list .schedule-row[data-schedule="page-nightly"]')).to_have_count(0)

    # A malformed expression is refused with the API's sentence
    section.get_by_label("Name").fill("bad")
    section.get_by_label("Expression").fill("cron(0 2 * * *)")
    section.get_by_role("button", name="Create schedule").click()
    expect(page.locator("#schedule-status")).to_contain_text("6 fields")
