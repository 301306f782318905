"""CloudQueue: everything deployed to Lambda.

    errors        the exception tree; class names are the state machine's error names
    models        the job record and workflow messages (pydantic)
    api_models    the HTTP API's views and requests
    lifecycle     which status may follow which, and when a job may be rerun: pure rules
    jobtypes      the job-type registry: one module per type
    ports         the interfaces the domain talks through (store, queue, log, workflow)
    jobs          what the API does: submit, get, list, cancel, history
    workflow      the state machine's steps that own a job: claim_job, finalize_job
    processing    the process step: process_job (imports no job record, store or boto3)
    camel         the base model: snake_case in Python, camelCase outside
    recovery      dead-lettered and stranded jobs
    rerun         rerun a FAILED job under the same jobId
    history       execution log records → readable steps
    settings      each function's environment, read once
    adapters/     DynamoDB (one module per role), SQS, CloudWatch Logs, Step Functions
                  (the only boto3 users)
    handlers/     thin Lambda handlers, one per function; the API's error answers and body guard

The layers (checked by import-linter, pyproject.toml): handlers → adapters → use cases
(jobs, rerun, recovery, workflow, history, processing, api_models) → ports → domain.

Nothing is imported here: each function imports only what it uses, so that the process
step loads no boto3 at all.
"""

from __future__ import annotations

__all__ = [
    "adapters",
    "api_models",
    "camel",
    "errors",
    "handlers",
    "history",
    "jobs",
    "jobtypes",
    "lifecycle",
    "models",
    "ports",
    "processing",
    "recovery",
    "rerun",
    "settings",
    "workflow",
]
