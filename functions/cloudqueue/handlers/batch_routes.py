"""The HTTP API's batch submit (``POST /jobs/batch``), included in ApiFunction's resolver: up
to 100 jobs, each checked and accepted on its own with a single submit's guarantees
(``cloudqueue.batch``)."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from cloudqueue import batch
from cloudqueue.api_models import BatchSubmitRequest, BatchSubmitResult
from cloudqueue.batch import BatchItem
from cloudqueue.handlers.api_ports import delayed_sends_of, handed_in, queue_of, settings, store_of
from cloudqueue.handlers.batch_items import parse_items, result_view
from cloudqueue.handlers.callback_urls import checked_callback_url
from cloudqueue.handlers.callers import caller_of
from cloudqueue.handlers.http_errors import ERROR_RESPONSES
from cloudqueue.models import utc_now

logger = logging.getLogger(__name__)
router = Router()  # type: ignore[no-untyped-call]


@router.post(
    "/jobs/batch",
    summary="Submit up to 100 jobs",
    description="One result per item, in order: `{jobId, status}` (201 new, 200 an idempotent replay) "
    "or `{error}`. Each item is a single submit's body with an optional `idempotencyKey`, checked "
    "and accepted on its own, with a single submit's guarantees.",
    responses={
        200: {
            "description": "Each item's result",
            "content": {"application/json": {"model": BatchSubmitResult}},
        },
        **ERROR_RESPONSES,
    },
)
def submit_batch(request: Annotated[BatchSubmitRequest, Body(embed=False)]) -> dict[str, Any]:
    now = utc_now()
    config, resolver = settings(), handed_in(router.context).resolver
    items = parse_items(request.jobs, now, lambda url: checked_callback_url(url, config, resolver))
    delayed = any(isinstance(item, BatchItem) and item.run_at is not None for item in items)
    results = batch.submit_batch(
        items,
        store=store_of(router.context),
        queue=queue_of(router.context),
        now=now,
        retention_days=settings().retention_days,
        owner=caller_of(cast("APIGatewayProxyEventV2", router.current_event)).owner,
        delayed_sends=delayed_sends_of(router.context) if delayed else None,
        sqs_delay_limit_seconds=settings().sqs_delay_limit_seconds,
        # Stop starting items 2 s before the timeout, so that the batch is answered.
        deadline=time.monotonic() + router.lambda_context.get_remaining_time_in_millis() / 1000 - 2,
    )
    logger.info("batch submitted", extra={"jobs": len(results), "new": sum(r.created for r in results)})
    # Each result has either jobId and status or error: the other keys are left out, not null.
    return {"results": [result_view(result).to_json_dict(exclude_none=True) for result in results]}
