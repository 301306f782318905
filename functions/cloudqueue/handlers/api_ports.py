"""ApiFunction's settings and ports: the real adapters, built once on first use, or those
``handler`` was handed (tests, the local stack's probes), read from the resolver's context,
which the app shares with its routers (``api``, ``batch_routes``, ``schedule_routes``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cloudqueue.adapters.dynamodb import DynamoJobStore
from cloudqueue.adapters.logs import CloudWatchExecutionLog
from cloudqueue.adapters.sqs import SqsJobQueue
from cloudqueue.adapters.stepfunctions import StepFunctionsWorkflow
from cloudqueue.callbacks import Resolver
from cloudqueue.handlers.scheduling import default_delayed_sends
from cloudqueue.jobtypes import demo
from cloudqueue.ports import DelayedSends, ExecutionLog, JobQueue, JobStore, Workflow
from cloudqueue.settings import ApiSettings


@cache
def settings() -> ApiSettings:
    config = ApiSettings.from_env()
    demo.limit_sleep_to(config.process_timeout_seconds)  # demo.sleep's limit follows the timeout
    return config


@cache
def default_store() -> JobStore:
    return DynamoJobStore.from_settings(settings())


@cache
def default_queue() -> JobQueue:
    return SqsJobQueue(settings().queue_url)


@cache
def default_log() -> ExecutionLog:
    return CloudWatchExecutionLog(settings().execution_log_group)


@cache
def default_workflow() -> Workflow:
    return StepFunctionsWorkflow(settings().state_machine_arn)


@dataclass(frozen=True)
class Ports:
    """The ports handed to this invocation (``handler``'s keyword arguments); None: the real one."""

    store: JobStore | None = None
    queue: JobQueue | None = None
    log: ExecutionLog | None = None
    workflow: Workflow | None = None
    resolver: Resolver | None = None
    delayed_sends: DelayedSends | None = None


def handed_in(context: dict[str, Any]) -> Ports:
    """The ports ``handler`` put in the resolver's context (shared with its routers)."""
    ports: Ports = context.get("ports") or Ports()
    return ports


# A route builds only the adapters it uses, on first use: a submit never loads the log's client.
def store_of(context: dict[str, Any]) -> JobStore:
    """The store this invocation uses: the one handed in, else the real one."""
    return handed_in(context).store or default_store()


def queue_of(context: dict[str, Any]) -> JobQueue:
    """The queue this invocation uses: the one handed in, else the real one."""
    return handed_in(context).queue or default_queue()


def delayed_sends_of(context: dict[str, Any]) -> DelayedSends:
    """The one-time schedules this invocation uses: the ones handed in, else the real ones."""
    return handed_in(context).delayed_sends or default_delayed_sends()
