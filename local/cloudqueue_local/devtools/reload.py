"""Edits take effect without a restart: ``cloudqueue dev`` watches the functions' code.

A deploy on Lambda retires a function's warm environments: invocations in flight finish on
the code they started with, and the next one starts a fresh environment on the new code.
``CodeReloader`` does the same when a file changes under a function's ``CodeUri``
(``LocalFunction.retire_environments``), for every function whose code it is, and (with
``prewarm``, as the stack starts them) starts each again ahead of its next job. It watches
with ``watchfiles`` (inotify, not polling), and ignores what Python writes itself
(``__pycache__``, ``.pyc``) and editors' temporary files.

A broken edit stops nothing: the function's next cold start fails as Lambda reports an init
failure (``Runtime.UserCodeSyntaxError``, ``Runtime.ImportModuleError``, ...), the console
names the file and line (``lambda_runtime``), and the next edit is picked up again.

``template.yaml`` is not reloaded: the resources it declares were provisioned at start, and
half of a new template is worse than none. A change to it only says that a restart applies it.

What it did goes to the logger ``cloudqueue.local.reload`` (INFO: reloaded; WARNING: restart
needed), which ``cloudqueue dev`` prints.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import watchfiles
from rich.console import Console

from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime

logger = logging.getLogger("cloudqueue.local.reload")

_SHOWN_FILES = 3  # a branch switch changes hundreds: name a few
_IDLE_MS = 500


class CodeReloader:
    """Watch each function's code and the template; retire environments whose code changed."""

    def __init__(self, runtime: LambdaRuntime, root: Path, *, prewarm: bool = False) -> None:
        self.runtime = runtime
        self.prewarm = prewarm  # start the reloaded functions again ahead of their next job
        self.root = root.resolve()
        self.template_path = runtime.template.path.resolve()
        self._template_text = _read(self.template_path)
        # Each code directory, and the functions whose code it is (often all of them share one).
        self.code: dict[Path, list[str]] = {}
        for logical_id, spec in runtime.template.functions.items():
            self.code.setdefault((self.root / spec.code_uri).resolve(), []).append(logical_id)
        self.reloads = 0  # changes that retired environments, for tests
        self.watching = threading.Event()  # set once every watch is in place
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ready: list[threading.Event] = []

    def start(self) -> None:
        """Watch in the background until ``stop``."""
        directories = [directory for directory in self.code if directory.is_dir()]
        watches = [
            ("reload-code", directories, True),
            # The template's directory, not the file: editors save by writing a new file.
            ("reload-template", [self.template_path.parent], False),
        ]
        for name, paths, recursive in watches:
            if paths:
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._watch, args=(paths, recursive, ready), name=name, daemon=True
                )
                self._ready.append(ready)
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        logger.info(
            "watching %s: an edit reloads the functions, a change to %s needs a restart",
            ", ".join(f"{self._name(directory)}/" for directory in directories),
            self._name(self.template_path),
        )

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def _watch(self, paths: list[Path], recursive: bool, ready: threading.Event) -> None:
        try:
            # An empty set comes every rust_timeout without changes: the first says the watch is on.
            for changes in watchfiles.watch(
                *paths,
                recursive=recursive,
                stop_event=self._stop,
                rust_timeout=_IDLE_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                if not ready.is_set():
                    ready.set()
                    if all(event.is_set() for event in self._ready):
                        self.watching.set()
                if changes:
                    self.changed(Path(path) for _, path in changes)
        except Exception:
            logger.exception("watching %s stopped", ", ".join(map(str, paths)))

    def changed(self, paths: Iterable[Path]) -> list[str]:
        """Act on changed files (``watchfiles``' default filter has left out ``__pycache__``,
        ``.pyc`` and editors' temporary files); the functions it retired, by logical id."""
        changed = {path.resolve() for path in paths}
        if self.template_path in changed:
            self._template_changed()
        reloaded: list[str] = []
        files: set[Path] = set()
        for directory, logical_ids in self.code.items():
            inside = {path for path in changed if path.is_relative_to(directory)}
            if inside:
                files |= inside
                _forget_compiled(inside)
                for logical_id in logical_ids:
                    self.runtime.functions[logical_id].retire_environments()
                reloaded += logical_ids
        if reloaded:
            self.reloads += 1
            logger.info("reloaded %s (%s changed)", ", ".join(sorted(reloaded)), self._names(files))
            if self.prewarm:
                self.runtime.prewarm(reloaded)
        return sorted(reloaded)

    def _template_changed(self) -> None:
        text = _read(self.template_path)
        if text == self._template_text:
            return  # saved unchanged
        self._template_text = text
        logger.warning("%s changed: restart cloudqueue dev to apply it", self._name(self.template_path))

    def _names(self, files: set[Path]) -> str:
        # An editor's or sed's temporary file, gone by now, is not worth naming (unless alone).
        kept = {path for path in files if path.exists()} or files
        names = sorted(self._name(path) for path in kept)
        if len(names) > _SHOWN_FILES:
            return f"{', '.join(names[:_SHOWN_FILES])} and {len(names) - _SHOWN_FILES} more"
        return ", ".join(names)

    def _name(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)


def _forget_compiled(sources: Iterable[Path]) -> None:
    """Delete the bytecode cached for edited modules. Python trusts a ``.pyc`` whose source has
    the same size and modification second: a quick edit that keeps the size (``1`` to ``2``)
    would otherwise start the new environment on the old code."""
    for source in sources:
        if source.suffix == ".py":
            Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


class _ConsoleLines(logging.Handler):
    """One line per message, with the time, as the console's job events are printed."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(
            f"{time.strftime('%H:%M:%S')} {record.getMessage()}",
            style="yellow" if record.levelno >= logging.WARNING else None,
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def print_to(console: Console) -> None:
    """Show what the reloader does on ``console`` (``cloudqueue dev``), whatever else is logged."""
    logger.addHandler(_ConsoleLines(console))
    logger.setLevel(logging.INFO)
    logger.propagate = False
