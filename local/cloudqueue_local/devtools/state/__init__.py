"""State that survives a restart: ``cloudqueue dev --state-dir DIR``.

What is kept, in ``DIR/state.json``:

- every item of the template's tables, with all its attributes in DynamoDB's own JSON
  (``{"S": ...}``, ``{"N": "1.50"}``, ``{"B": base64}``, sets, maps, lists): exact types;
- every message of every queue the template makes (job queue, dead-letter queue, poison-message
  queue): id, body, message and system attributes, sender, ``SentTimestamp``,
  ``ApproximateReceiveCount``, ``ApproximateFirstReceiveTimestamp``, and when it becomes
  visible: a message in flight at the snapshot stays invisible until the end of the visibility
  timeout it was received with, as on SQS, then comes back (its execution did not survive);
- every log group on the local endpoint with its streams and events: the state machine's
  execution history (``GET /jobs/{id}/history`` reads it), the functions' ``/aws/lambda/...``
  groups, and any other.

Not kept: executions in flight (their message comes back and the job is claimed again once its
lease has expired, as after a crash on AWS), Step Functions' record of past executions (Express
keeps none on AWS; the history is in the logs), metrics, and the functions' environments.

The file starts with ``{"format": "cloudqueue-state", "version": 1, "cloudqueue": <version>,
"template": <hash>}``. The hash covers what the data depends on: the tables' names and key
schemas and the queues' names. A file of another format version or another template is
refused as a whole, with one message; so is a damaged one: everything is validated before
anything is restored, and a stack that could not restore does not start.

Snapshots are written every ``interval`` seconds when something changed (a DynamoDB write, a
message sent, received or deleted, a log event), atomically (a temporary file, then
``os.replace``), and once more at a clean stop, after the executions in flight have drained.
After ``kill -9`` the state is that of the last snapshot: at most ``interval`` seconds old,
more when a snapshot itself takes long (the next one waits four times as long as the last
took, so that snapshots never take more than a fifth of the stack's time).

A snapshot is one consistent cut of the table and the queues: it reads them while holding the
lock every DynamoDB write takes (``MotoDynamoDb.lock``), so no job changes state
meanwhile, and reads the source queues before their dead-letter queues, so a message moved to
a dead-letter queue during the read is read at least once. Since the API sends a job's
message before it writes the job, every job that is not finished in the snapshot has its
message in it.

The rooms: ``snapshot`` (the file's model, validated whole), ``save`` (moto's backends to the
file), ``restore`` (the file to moto's backends) and ``directory`` (``StateDir``: the lock, the
check, the restore and the snapshots of one running stack).
"""

from __future__ import annotations

from cloudqueue_local.devtools.state.directory import LOCK_FILE, SNAPSHOT_INTERVAL_SECONDS, StateDir
from cloudqueue_local.devtools.state.restore import Loaded, console_line
from cloudqueue_local.devtools.state.snapshot import (
    FORMAT,
    STATE_FILE,
    VERSION,
    Snapshot,
    StateError,
    read_snapshot,
    template_hash,
    template_resources,
)

__all__ = [
    "FORMAT",
    "LOCK_FILE",
    "SNAPSHOT_INTERVAL_SECONDS",
    "STATE_FILE",
    "VERSION",
    "Loaded",
    "Snapshot",
    "StateDir",
    "StateError",
    "console_line",
    "read_snapshot",
    "template_hash",
    "template_resources",
]
