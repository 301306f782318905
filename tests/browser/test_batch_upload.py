"""The page's batch upload in headless Chromium against the local stack: a CSV file (a quoted
JSON payload, a header, a row that is not JSON, an unknown type) and a JSON-lines file, each
line's result listed, the accepted jobs run."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_demo_page import open_form

pytestmark = pytest.mark.browser

CSV = (
    "type,payload,idempotencyKey\n"
    'text.transform,"{""text"": ""from, a csv""}",\n'
    "text.transform,{not json},\n"
    'no.such.type,"{}",\n'
    'text.transform,"{""text"": ""second""}",csv-key-1\n'
)


def upload(page: Page, name: str, mime: str, content: str) -> None:
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Submit file").click()


def test_a_csv_upload_lists_each_lines_result_and_the_jobs_run(page: Page, api: httpx.Client) -> None:
    open_form(page)

    upload(page, "jobs.csv", "text/csv", CSV)

    expect(page.locator("#batch-status")).to_have_text("2 submitted, 2 refused.")
    rows = page.locator("#batch-results li")
    expect(rows).to_have_count(4)
    expect(page.locator("#batch-results")).to_contain_text("Line 3: the payload is not JSON")
    expect(page.locator("#batch-results")).to_contain_text("Line 4: unknown_job_type")
    ids = [
        re.sub(r"\s", "", text) for text in page.locator("#batch-results li.batch-ok code").all_inner_texts()
    ]
    assert len(ids) == 2
    for job_id in ids:
        expect(page.locator(f'#job-list .job-row[data-job-id="{job_id}"]')).to_be_visible()

    upload(page, "again.csv", "text/csv", CSV)  # the keyed line is answered as already submitted

    expect(page.locator("#batch-results")).to_contain_text(f"{ids[1]} (already submitted)")
    assert api.get(f"/jobs/{ids[0]}").json()["payload"] == {"text": "from, a csv"}


def test_a_json_lines_upload_submits_each_line(page: Page) -> None:
    open_form(page)
    lines = "\n".join(f'{{"type": "text.transform", "payload": {{"text": "line {n}"}}}}' for n in range(3))

    upload(page, "jobs.jsonl", "application/x-ndjson", lines + "\n")

    expect(page.locator("#batch-status")).to_have_text("3 submitted, 0 refused.")
    expect(page.locator("#batch-results li.batch-ok")).to_have_count(3)
