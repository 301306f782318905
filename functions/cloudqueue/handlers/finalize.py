"""FinalizeFunction: the state machine's ``RecordSuccess`` and ``RecordFailure`` tasks."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.errors import LeaseLost
from cloudqueue.handlers import metric_names
from cloudqueue.handlers.log_level import service_logger
from cloudqueue.models import FinalizeRequest, JobStatus, utc_now
from cloudqueue.ports import JobStore
from cloudqueue.settings import FinalizeSettings
from cloudqueue.workflow import finalize_job

# No Powertools Tracer on the per-job path: importing the X-Ray SDK costs about as much as
# importing boto3 (measured by `cloudqueue bench`), paid on every cold start. The function's
# Active tracing and the state machine's tracing still put each invocation in the trace.
logger = service_logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)


@cache
def settings() -> FinalizeSettings:
    return FinalizeSettings.from_env()


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@logger.inject_lambda_context(correlation_id_path="jobId")
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, *, store: JobStore | None = None
) -> dict[str, Any]:
    request = FinalizeRequest.model_validate(event)
    try:
        response = finalize_job(request, store=store or default_store(), now=utc_now())
    except LeaseLost:
        metrics.add_metric(name=metric_names.STALE_WORKERS_FENCED, unit=MetricUnit.Count, value=1)
        logger.warning("lease lost: another worker owns this job; not writing")
        raise
    if response.status is JobStatus.FAILED:
        # Only failures: a success is FinalizeFunction's free AWS/Lambda Invocations (metric_names).
        metrics.add_metric(name=metric_names.JOBS_FAILED, unit=MetricUnit.Count, value=1)
    logger.info("finalized", extra={"status": response.status.value})
    return response.to_json_dict()
