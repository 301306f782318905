"""The state directory of one running stack: taken with a lock (one stack at a time),
checked before the stack starts, restored after provisioning, and snapshotted in the
background while the stack runs."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cloudqueue_local.devtools.state.restore import Loaded, restore_snapshot
from cloudqueue_local.devtools.state.save import capture, fingerprint, write_atomically
from cloudqueue_local.devtools.state.snapshot import (
    STATE_FILE,
    Snapshot,
    StateError,
    read_snapshot,
    template_resources,
)
from cloudqueue_local.template import LocalTemplate

logger = logging.getLogger("cloudqueue.local")

LOCK_FILE = "lock"
SNAPSHOT_INTERVAL_SECONDS = 2.0


class StateDir:
    """A state directory for one running stack: ``check`` before starting, ``restore`` after
    provisioning and before anything polls, ``start`` the snapshots, ``close`` at the stop."""

    def __init__(
        self,
        directory: Path,
        template: LocalTemplate,
        *,
        account: str,
        region: str,
        dynamodb_lock: contextlib.AbstractContextManager[Any],
        dynamodb_writes: Callable[[], int],
        interval: float = SNAPSHOT_INTERVAL_SECONDS,
    ) -> None:
        self.directory = directory
        self.template = template
        self.account = account
        self.region = region
        self.dynamodb_lock = dynamodb_lock
        self.dynamodb_writes = dynamodb_writes
        self.interval = interval
        self.resources = template_resources(template)
        self.loaded: Loaded | None = None
        self.restored = False
        self._snapshot: Snapshot | None = None
        self._lock_file: IO[str] | None = None
        self._last: Any = None
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        """The state file."""
        return self.directory / STATE_FILE

    def check(self) -> None:
        """Take the directory (one stack at a time) and validate its snapshot. Changes nothing else."""
        if self.directory.exists() and not self.directory.is_dir():
            raise StateError(f"{self.directory} is not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock_file = (self.directory / LOCK_FILE).open("a", encoding="utf-8")
        except OSError as error:
            raise StateError(f"{self.directory} cannot be used: {error.strerror or error}") from None
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            raise StateError(f"{self.directory} is in use by another cloudqueue dev") from None
        self._lock_file = lock_file
        self._snapshot = read_snapshot(self.directory, self.template)

    def restore(self) -> Loaded | None:
        """Put the checked snapshot into moto's backends (just provisioned, still unused)."""
        snapshot = self._snapshot
        if snapshot is not None:
            try:
                self.loaded = restore_snapshot(snapshot, self.account, self.region)
            except Exception as error:
                raise StateError(
                    f"{self.path} cannot be restored: {error!r}. The stack did not start."
                ) from None
        self._snapshot = None
        self.restored = True
        self._last = self._fingerprint()
        return self.loaded

    def start(self) -> None:
        """Snapshot every ``interval`` seconds, in a thread, while something changes."""
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the snapshots; take a last one if the state was restored (call it before moto stops)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.restored:
            self.snapshot(force=True)
            self.restored = False
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    # --- snapshots --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.interval
        while not self._stopping.wait(delay):
            started = time.monotonic()
            try:
                self.snapshot()
            except Exception:
                logger.exception("state: the snapshot to %s failed; the next one will try again", self.path)
            delay = max(self.interval, 4 * (time.monotonic() - started))

    def snapshot(self, *, force: bool = False) -> bool:
        """Write the state if it changed since the last snapshot (or ``force``). True if written."""
        with self._write_lock:
            current = self._fingerprint()
            if not force and current == self._last:
                return False
            document = capture(self.template, self.resources, self.account, self.region, self.dynamodb_lock)
            write_atomically(self.path, document)
            self._last = current
            return True

    def _fingerprint(self) -> Any:
        return fingerprint(self.template, self.account, self.region, self.dynamodb_writes())
