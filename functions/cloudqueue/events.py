"""Job events: each change of a job's status, as the ``Job State Change`` event's detail.

The jobs table's stream carries every write; the events Pipe hands its records to
``job_state_changes`` (the Pipe's enrichment), which keeps the writes that changed a job's
status and shapes each as the detail EventBridge delivers. A lease renewal, a recorded
webhook attempt or a write to an item that is not a job (an idempotency key, a sweeper's
cursor) changes no status and makes no event.

Delivery is at least once: a stream record can be read again (a Pipe retries a batch whose
enrichment or PutEvents failed), so a consumer de-duplicates on ``jobId`` + ``status`` +
``run`` (a rerun makes the same statuses again in the next run).
"""

from __future__ import annotations

from typing import Any

from cloudqueue.camel import CamelModel

SOURCE = "cloudqueue"
DETAIL_TYPE = "Job State Change"
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class JobStateChange(CamelModel):
    """The ``detail`` of a ``Job State Change`` event (camelCase on the wire)."""

    job_id: str
    type: str
    owner: str
    status: str
    previous_status: str | None
    # The run this status belongs to: 1, then one more for each rerun.
    run: int
    error: dict[str, Any] | None
    created_at: str
    updated_at: str
    queued_at: str | None
    started_at: str | None
    finished_at: str | None


def state_change(new: dict[str, Any] | None, old: dict[str, Any] | None) -> JobStateChange | None:
    """The event one write of the table makes: None when it is not a job's change of status.

    ``new`` and ``old`` are the item after and before the write (plain values, camelCase keys);
    ``old`` is None for an item written for the first time, ``new`` None for a deletion."""
    if not new or "status" not in new or "type" not in new:
        return None  # deleted (retention), or not a job
    previous = (old or {}).get("status")
    if previous == new["status"]:
        return None
    return JobStateChange(
        job_id=str(new["jobId"]),
        type=str(new["type"]),
        owner=str(new.get("owner", "anonymous")),
        status=str(new["status"]),
        previous_status=previous,
        run=len(new.get("runs") or []) + 1,
        error=new.get("error"),
        created_at=str(new["createdAt"]),
        updated_at=str(new["updatedAt"]),
        queued_at=new.get("queuedAt"),
        started_at=new.get("startedAt"),
        finished_at=new.get("finishedAt"),
    )
