"""The job-type registry. To add a job type, write a module like ``text_transform.py`` and list it here.

A type's module is imported when the type is first looked up, not when the registry is:
the process function pays at cold start for no job type, and later only for the types it
runs; the claim and finalize functions never load one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from cloudqueue.jobtypes.base import JobContext, JobType

# Type name → (module, the module's JobType attribute).
_REGISTERED = {
    "text.transform": ("cloudqueue.jobtypes.text_transform", "JOB_TYPE"),
    "demo.flaky": ("cloudqueue.jobtypes.demo", "FLAKY"),
    "demo.fail": ("cloudqueue.jobtypes.demo", "FAIL"),
    "demo.sleep": ("cloudqueue.jobtypes.demo", "SLEEP"),
}


class JobTypeRegistry(Mapping[str, JobType[Any]]):
    """A read-only mapping from type name to JobType, importing each type's module on lookup."""

    def __init__(self, registered: Mapping[str, tuple[str, str]]) -> None:
        self._registered = dict(registered)

    def __getitem__(self, name: str) -> JobType[Any]:
        module, attribute = self._registered[name]
        job_type: JobType[Any] = getattr(importlib.import_module(module), attribute)
        return job_type

    def __contains__(self, name: object) -> bool:  # without importing the type's module
        return name in self._registered

    def __iter__(self) -> Iterator[str]:
        return iter(self._registered)

    def __len__(self) -> int:
        return len(self._registered)


JOB_TYPES: Mapping[str, JobType[Any]] = JobTypeRegistry(_REGISTERED)

__all__ = ["JOB_TYPES", "JobContext", "JobType", "JobTypeRegistry"]
