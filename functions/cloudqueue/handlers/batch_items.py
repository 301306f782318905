"""``POST /jobs/batch``'s items: each validated on its own, and each result as the API answers it.

The route validates only the envelope (``{"jobs": [...]}``); an item that does not match its
job type's schema becomes that item's error, the way a single submit's body would be
refused, and the other items go on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cloudqueue.api_models import (
    BatchItemRequest,
    BatchItemResult,
    ErrorDetail,
    callback_url_of,
    concurrency_key_of,
    due_time,
    payload_of,
    timing_of,
    type_of,
)
from cloudqueue.batch import MAX_BATCH_ITEMS, BatchItem, ItemError, ItemResult
from cloudqueue.errors import ApiError, InvalidBatch
from cloudqueue.handlers.http_errors import describe_validation_errors
from cloudqueue.jobtypes import JOB_TYPES


@cache
def _item_adapter() -> TypeAdapter[Any]:
    # Built on the first batch, not at the API's cold start.
    return TypeAdapter(BatchItemRequest)  # type: ignore[arg-type]


def parse_items(
    raw_items: list[Any], now: datetime, check_callback: Callable[[str | None], str | None]
) -> list[BatchItem | ItemError]:
    """Each item validated alone: a ``BatchItem``, or the ``ItemError`` a single submit of that
    body would have been answered. InvalidBatch (422) for no items or too many. ``now``: what a
    ``delaySeconds`` counts from; ``check_callback``: the single submit's check of a
    ``callbackUrl`` (an ApiError when refused)."""
    if not raw_items:
        raise InvalidBatch("a batch needs at least one job in 'jobs'")
    if len(raw_items) > MAX_BATCH_ITEMS:
        raise InvalidBatch(
            f"a batch takes at most {MAX_BATCH_ITEMS} jobs, not {len(raw_items)}: split it",
            details={"maxJobs": MAX_BATCH_ITEMS, "jobs": len(raw_items)},
        )
    return [_parse_item(raw, now, check_callback) for raw in raw_items]


def _parse_item(
    raw: Any, now: datetime, check_callback: Callable[[str | None], str | None]
) -> BatchItem | ItemError:
    try:
        request = _item_adapter().validate_python(raw)
    except ValidationError as error:
        # As the single submit reports its body ("body" first, so the same readable sentence).
        errors: list[dict[str, Any]] = [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        _, code, message = describe_validation_errors(errors)
        details = [
            {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]} for item in error.errors()
        ]
        return ItemError(code, message, details)
    try:
        callback_url = check_callback(callback_url_of(request))
    except ApiError as refused:
        return ItemError.of(refused)
    job_type = type_of(request)
    return BatchItem(
        job_type,
        payload_of(request),
        request.idempotency_key,
        run_at=due_time(request, now),
        timing=timing_of(request),
        concurrency_key=concurrency_key_of(request),
        concurrency_limit=JOB_TYPES[job_type].concurrency_limit,
        callback_url=callback_url,
    )


def result_view(result: ItemResult) -> BatchItemResult:
    """One item's result as answered: ``{jobId, status: 201|200}`` or ``{error}``."""
    if result.job is not None:
        status = HTTPStatus.CREATED if result.created else HTTPStatus.OK
        return BatchItemResult(job_id=result.job.job_id, status=int(status))
    error = result.error or ItemError("internal_error", "this item was not handled; please retry")
    return BatchItemResult(error=ErrorDetail(code=error.code, message=error.message, details=error.details))
