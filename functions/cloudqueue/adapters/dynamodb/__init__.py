"""The jobs table in DynamoDB. Every change of status is one conditional write.

One role a module, over shared keys and codec:

- ``items``: index names, reserved keys, the codec (Python values ↔ attribute values);
- ``table``: ``JobTable``, the client, the table name and the key builders every role uses;
- ``submit``: a new job and its Idempotency-Key record;
- ``changes``: cancel, rerun and the undo of a rerun;
- ``listing``: jobs newest day first, from the ``Listing`` index;
- ``workflow``: claim (the lease), tombstone, executions seen, finalize (fenced by the lease);
- ``recovery``: abandoned jobs failed or redriven, the sweep of ``PendingSends``;
- ``stranded``: the sweep of stranded jobs (QUEUED past the queue's retention), day by day;
- ``store``: ``DynamoJobStore``, all of these in one class (``cloudqueue.ports.JobStore``).

Items:
- a job: key ``jobId`` (a UUIDv7, so ids sort by creation time), the ``Job`` fields in
  camelCase, and the ``Listing`` index's keys (see ``cloudqueue.listing``): ``listShard`` =
  ``<YYYY-MM-DD>#<n>`` (the UTC day it was last queued; n a hash of the id modulo ``shards``,
  past one partition's 1,000 writes/s) and ``listKey`` = ``<owner key>#<jobId>``. Keys only,
  so a listing reads its jobs from the table; the keys are written by the submit and moved
  only by a rerun or a stranded job's re-send, never by a change of status.
- an idempotency record: key ``idem#<sha256 of the key>``, naming the job it made and the
  hash of the request. It has no ``listShard``, so the index never sees it.
- a tombstone: key ``jobId`` with no ``status``, written by a claim for a message whose job
  was never written (the API sends before it writes), so that a late write fails. Short-lived
  (TTL); never a job.
- the sweeper's cursors: key ``sweep#pending``, where the last sweep of pending sends stopped;
  key ``sweeper#stranded``, the last day whose stranded jobs were re-sent (no ``listShard``:
  never listed).

A job that a writer made QUEUED before sending its message carries ``pendingSince`` and
``pendingShard`` = ``PENDING#<n>``: the sparse ``PendingSends`` index (hash ``pendingShard``,
range ``jobId``) lists exactly those jobs, and nothing else, for the sweeper.
"""

from __future__ import annotations

from cloudqueue.adapters.dynamodb.items import LIST_INDEX, PENDING_INDEX, from_item, to_item
from cloudqueue.adapters.dynamodb.store import DynamoJobStore

__all__ = ["LIST_INDEX", "PENDING_INDEX", "DynamoJobStore", "from_item", "to_item"]
