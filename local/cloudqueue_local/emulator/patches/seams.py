"""Looking up, checking and patching the targets listed in ``registry``.

``Patcher`` is the one way the local stack sets an attribute of a library's internals: it
takes the target from the registry by name, keeps the original, and puts every original
back on ``revert``. ``check`` compares an entry with the installed library and names what
moved; while a patch is installed it checks the original, not the replacement.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import threading
from collections.abc import Callable
from typing import Any

from cloudqueue_local.emulator.patches.registry import PATCHABLE, SEAMS, Seam

# Originals of the targets a Patcher has replaced, by address (the stack is one per
# process, moto's classes too): the check reads the original while the stack runs.
_originals: dict[str, Any] = {}
_lock = threading.Lock()


class SeamMoved(LookupError):
    """A registry entry no longer matches the installed library."""


def owner_of(seam: Seam) -> Any:
    """The module or class that holds ``seam``'s attribute (imports the module)."""
    try:
        owner: Any = importlib.import_module(seam.module)
    except ImportError as error:
        raise SeamMoved(f"{seam.name}: module {seam.module} cannot be imported ({error})") from None
    for part in seam.owner.split(".") if seam.owner else ():
        try:
            owner = vars(owner)[part]
        except KeyError:
            raise SeamMoved(f"{seam.name}: {seam.module} has no {seam.owner}") from None
    return owner


def original(name: str) -> Any:
    """The library's own value of the target ``name``, whether a patch replaced it or not."""
    return original_of(SEAMS[name])


def original_of(seam: Seam) -> Any:
    """The library's own value of ``seam``'s target (``SeamMoved`` if it is not there)."""
    with _lock:
        if seam.address in _originals:
            return _originals[seam.address]
    try:
        return vars(owner_of(seam))[seam.attribute]
    except KeyError:
        raise SeamMoved(f"{seam.name}: {seam.address} does not exist") from None


def _function_of(seam: Seam, value: Any) -> Any:
    """The plain function behind a method, property, static- or class method."""
    if seam.kind == "property":
        return value.fget
    if seam.kind in ("staticmethod", "classmethod"):
        return value.__func__
    return value


_KIND_TESTS: dict[str, Callable[[Any], bool]] = {
    "function": inspect.isfunction,
    "method": inspect.isfunction,
    "property": lambda value: isinstance(value, property),
    "staticmethod": lambda value: isinstance(value, staticmethod),
    "classmethod": lambda value: isinstance(value, classmethod),
    "class": inspect.isclass,
    "value": lambda value: True,
}


def fingerprint(function: Any) -> str:
    """The first 12 hex digits of the SHA-256 of ``function``'s source."""
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:12]


def check(seam: Seam) -> list[str]:
    """What no longer matches between ``seam`` and the installed library ([]: it holds).

    Each problem names the entry: the target is missing, of another kind, takes other
    parameters, or (where a patch copies its logic) its source changed."""
    try:
        value = original_of(seam)
    except SeamMoved as moved:
        return [str(moved)]
    if not _KIND_TESTS[seam.kind](value):
        return [f"{seam.name}: {seam.address} is a {type(value).__name__}, not a {seam.kind}"]
    problems = []
    function = _function_of(seam, value)
    if seam.parameters is not None:
        found = tuple(inspect.signature(function).parameters)
        if found != seam.parameters:
            problems.append(
                f"{seam.name}: {seam.address} takes {found}, the patch was written for {seam.parameters}"
            )
    if seam.fingerprint is not None and (found_print := fingerprint(function)) != seam.fingerprint:
        problems.append(
            f"{seam.name}: {seam.address} changed (source {found_print}, read as {seam.fingerprint}): "
            "read it again, and the patch that copies it"
        )
    return problems


class Patcher:
    """Replaces registry targets and puts the originals back, last replaced first."""

    def __init__(self) -> None:
        self._applied: list[tuple[Seam, Any, Any]] = []  # (seam, owner, original)

    def replace(self, name: str, value: Any) -> Any:
        """Set the target ``name`` to ``value``; the original, which ``revert`` restores."""
        seam = SEAMS[name]
        if seam.use not in PATCHABLE:
            raise ValueError(f"{name}: the registry lists it as {seam.use!r}, not as a target to set")
        owner = owner_of(seam)
        try:
            current = vars(owner)[seam.attribute]
        except KeyError:
            raise SeamMoved(f"{seam.name}: {seam.address} does not exist") from None
        with _lock:
            first = _originals.setdefault(seam.address, current)
        setattr(owner, seam.attribute, value)
        self._applied.append((seam, owner, current))
        return first

    def revert(self) -> None:
        """Put back every original this patcher replaced."""
        while self._applied:
            seam, owner, previous = self._applied.pop()
            setattr(owner, seam.attribute, previous)
            with _lock:
                if _originals.get(seam.address) is previous:
                    del _originals[seam.address]


__all__ = ["Patcher", "SeamMoved", "check", "fingerprint", "original", "original_of", "owner_of"]
