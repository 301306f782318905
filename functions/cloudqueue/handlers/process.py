"""ProcessFunction: the state machine's ``ProcessJob`` task. Pure job logic: no AWS calls, no boto3."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from cloudqueue.handlers.log_level import service_logger
from cloudqueue.processing import ProcessRequest, process_job
from cloudqueue.settings import ProcessSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# No Tracer here: it would import the X-Ray SDK and botocore into a function that needs
# neither (see claim.py). Active tracing on the function still records its invocation.
# Nor cloudqueue.models or workflow: this function needs one model (see cloudqueue.processing).
logger = service_logger()


@cache
def settings() -> ProcessSettings:
    from cloudqueue.jobtypes import demo  # the job types load on first use (cloudqueue.jobtypes)

    config = ProcessSettings.from_env()
    demo.limit_sleep_to(config.process_timeout_seconds)
    return config


@logger.inject_lambda_context(correlation_id_path="jobId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings()
    request = ProcessRequest.model_validate(event)
    logger.info(
        "processing", extra={"type": request.type, "attempt": request.attempt, "retry": request.retry_count}
    )
    return process_job(request)
