"""``cloudqueue submit-batch FILE``: many jobs from a file, 100 to a ``POST /jobs/batch``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.jobs import connect
from cloudqueue_local.cli.options import ApiUrl, AsJson, CliError, SigV4, Token
from cloudqueue_local.client.api import DEFAULT_API_URL

# The API's limit per request; a longer file goes in several requests, in order.
BATCH_SIZE = 100


def read_items(text: str) -> list[dict[str, Any]]:
    """The items of a JSON array, or of JSON lines (one object a line; blank lines skipped).

    Each item is a single submit's body, ``{"type", "payload"}``, with an optional
    ``idempotencyKey``; the API checks each one. Raises CliError when the text is neither."""
    stripped = text.strip()
    if not stripped:
        raise CliError("the file holds no jobs")
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError as error:
            raise CliError(f"not a JSON array: {error}") from None
    else:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as error:
                raise CliError(f"line {number} is not JSON: {error}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CliError('each job must be a JSON object: {"type": ..., "payload": {...}}')
    return items


def result_line(number: int, result: dict[str, Any]) -> str:
    """One item's result in one line: its number, then its job id and status, or its error."""
    if "jobId" in result:
        replayed = " (replayed)" if result.get("status") == 200 else ""
        return f"{number} {result['jobId']} {result.get('status')}{replayed}"
    error = result.get("error") or {}
    return f"{number} error {error.get('code')}: {error.get('message')}"


def submit_batch(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="A JSON array or JSON lines of jobs; - for stdin.")
    ],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    sigv4: SigV4 = False,
    as_json: AsJson = False,
) -> None:
    """Submit many jobs, 100 to a request; print one line per job (exit 1 if any was refused)."""
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"no file {path}", param_hint="FILE")
        text = path.read_text()
    items = read_items(text)
    results: list[dict[str, Any]] = []
    with connect(api_url, token, sigv4) as api:
        for start in range(0, len(items), BATCH_SIZE):
            answered = api.submit_batch(items[start : start + BATCH_SIZE])
            if not as_json:
                for offset, result in enumerate(answered):
                    render.out.print(result_line(start + offset + 1, result), markup=False, highlight=False)
            results += answered
    if as_json:
        render.print_json(results)
    if any("error" in result for result in results):
        raise typer.Exit(1)
