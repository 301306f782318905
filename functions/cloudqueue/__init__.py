"""CloudQueue: everything deployed to Lambda.

    errors        the exception tree; class names are the state machine's error names
    models        the job record, workflow messages and API views (pydantic)
    lifecycle     which status may follow which: pure rules
    jobtypes      the job-type registry: one module per type
    ports         the interfaces the domain talks through (store, queue, log, workflow)
    jobs          what the API does: submit, get, list, cancel, history
    workflow      the state machine's steps: claim_job, process_job, finalize_job
    recovery      dead-lettered and stranded jobs
    history       execution log records → readable steps
    settings      each function's environment, read once
    adapters/     DynamoDB, SQS, CloudWatch Logs, Step Functions (the only boto3 users)
    handlers/     thin Lambda handlers, one per function

Nothing is imported here: each function imports only what it uses, so that the process
step loads no boto3 at all.
"""

__all__ = [
    "adapters",
    "errors",
    "handlers",
    "history",
    "jobs",
    "jobtypes",
    "lifecycle",
    "models",
    "ports",
    "recovery",
    "settings",
    "workflow",
]
