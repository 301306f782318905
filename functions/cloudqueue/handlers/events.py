"""EventsFunction: the events Pipe's enrichment. It gets a batch of the jobs table's stream
records and answers one ``Job State Change`` detail for each record that changed a job's
status; the Pipe puts each on the event bus (source and detail-type are the Pipe's). A record
that changed no status is answered with nothing, and the Pipe drops it (``cloudqueue.events``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb.items import from_item
from cloudqueue.events import state_change

logger = Logger()


def _image(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    image = (record.get("dynamodb") or {}).get(name)
    return from_item(image) if image else None


def job_state_changes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The details of the status changes among ``records`` (stream records), in their order."""
    details = []
    for record in records:
        change = state_change(_image(record, "NewImage"), _image(record, "OldImage"))
        if change is not None:
            details.append(change.to_json_dict())
    return details


@logger.inject_lambda_context
def handler(event: list[dict[str, Any]], context: LambdaContext) -> list[dict[str, Any]]:
    details = job_state_changes(event)
    logger.debug("job state changes", extra={"records": len(event), "events": len(details)})
    return details
