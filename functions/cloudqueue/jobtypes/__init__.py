"""The job-type registry. To add a job type, write a module like ``text_transform.py`` and list it here."""

from __future__ import annotations

from typing import Any

from cloudqueue.jobtypes import demo, text_transform
from cloudqueue.jobtypes.base import JobContext, JobType

JOB_TYPES: dict[str, JobType[Any]] = {
    job_type.name: job_type for job_type in (text_transform.JOB_TYPE, demo.FLAKY, demo.FAIL, demo.SLEEP)
}

__all__ = ["JOB_TYPES", "JobContext", "JobType"]
