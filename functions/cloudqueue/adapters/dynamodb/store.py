"""``DynamoJobStore``: the one store the handlers use, made of the table's roles."""

from __future__ import annotations

from cloudqueue.adapters.dynamodb.changes import JobChanges
from cloudqueue.adapters.dynamodb.listing import JobListing
from cloudqueue.adapters.dynamodb.recovery import RecoveryWrites
from cloudqueue.adapters.dynamodb.stranded import StrandedWrites
from cloudqueue.adapters.dynamodb.submit import SubmitWrites
from cloudqueue.adapters.dynamodb.workflow import WorkflowWrites
from cloudqueue.settings import Settings


class DynamoJobStore(SubmitWrites, JobChanges, StrandedWrites, JobListing, WorkflowWrites, RecoveryWrites):
    """``cloudqueue.ports.JobStore`` on one DynamoDB table.

    Each base is one role over the same table (``JobTable``: client, name, keys): submit,
    the API's changes (cancel, rerun), the sweep of stranded jobs, listing, the workflow's
    writes, recovery.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoJobStore:
        """The store a function's settings (its environment) describe."""
        return cls(
            settings.table_name,
            shards=settings.list_shards,
            retention_days=settings.retention_days,
            queue_retention_seconds=settings.queue_retention_seconds,
        )
