"""Each function's configuration: environment variables set by ``template.yaml``, read once.

Handlers build these at cold start; domain code takes plain arguments and never reads
``os.environ``. The local stack builds the same objects from the same template.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    table_name: str = Field(alias="TABLE_NAME")
    list_shards: int = Field(default=4, ge=1, le=64, alias="LIST_SHARDS")
    retention_days: int = Field(default=30, ge=1, alias="RETENTION_DAYS")
    # The job queue's MessageRetentionPeriod: how long a job's message can wait.
    queue_retention_seconds: int = Field(default=1_209_600, ge=60, alias="QUEUE_RETENTION_SECONDS")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if environ is None else environ))


class ApiSettings(Settings):
    queue_url: str = Field(alias="QUEUE_URL")
    execution_log_group: str = Field(alias="EXECUTION_LOG_GROUP")
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")
    max_body_bytes: int = Field(default=65_536, ge=1024, alias="MAX_BODY_BYTES")
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    console_links: bool = Field(default=False, alias="CONSOLE_LINKS")
    process_timeout_seconds: int = Field(default=25, ge=1, alias="PROCESS_TIMEOUT_SECONDS")
    # Whether the stack delivers webhooks (the template's Webhooks parameter, "on" or "off"),
    # and where callbackUrl may point (cloudqueue.callbacks.CallbackPolicy).
    webhooks: bool = Field(default=False, alias="WEBHOOKS")
    callback_https_only: bool = Field(default=True, alias="CALLBACK_HTTPS_ONLY")
    callback_allow_loopback: bool = Field(default=False, alias="CALLBACK_ALLOW_LOOPBACK")
    # Delayed jobs due within this many seconds go by SQS DelaySeconds (at most 900), later ones
    # by a one-time EventBridge Scheduler schedule in SCHEDULE_GROUP.
    sqs_delay_limit_seconds: int = Field(default=900, ge=0, le=900, alias="SQS_DELAY_LIMIT_SECONDS")
    schedule_group: str = Field(default="", alias="SCHEDULE_GROUP")
    scheduler_role_arn: str = Field(default="", alias="SCHEDULER_ROLE_ARN")
    queue_arn: str = Field(default="", alias="QUEUE_ARN")
    # Where Scheduler puts a delayed job's send that failed for a day: the job dead-letter queue.
    dead_letter_queue_arn: str = Field(default="", alias="DEAD_LETTER_QUEUE_ARN")
    # The recurring schedules' target: the function that submits a firing's job.
    scheduled_function_arn: str = Field(default="", alias="SCHEDULED_FUNCTION_ARN")


class SubmitGrace(Settings):
    # How long after its message was sent a job may still be missing from the table (the API
    # sends, then writes, within its timeout); also how long a pending send may wait.
    submit_grace_seconds: int = Field(default=15, ge=1, alias="SUBMIT_GRACE_SECONDS")


class ClaimSettings(SubmitGrace):
    lease_seconds: int = Field(default=300, ge=1, alias="LEASE_SECONDS")
    # Where the claim keeps a message that names no job, at its first delivery.
    poison_queue_url: str = Field(alias="POISON_QUEUE_URL")
    # The job queue, where the claim sends a job's message again, delayed: a delayed job's
    # message delivered early, or a job waiting for a concurrency slot.
    queue_url: str | None = Field(default=None, alias="QUEUE_URL")


class FinalizeSettings(Settings):
    pass


class ProcessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    process_timeout_seconds: int = Field(default=25, ge=1, alias="PROCESS_TIMEOUT_SECONDS")
    # The jobs table, for the cancel mark and progress; empty: no table (the job code's
    # cancelled() is then always False and its progress goes nowhere).
    table_name: str = Field(default="", alias="TABLE_NAME")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if environ is None else environ))


class DeadLetterSettings(Settings):
    queue_url: str = Field(alias="QUEUE_URL")
    poison_queue_url: str = Field(alias="POISON_QUEUE_URL")
    max_receive_count: int = Field(default=5, ge=1, alias="MAX_RECEIVE_COUNT")


class RequeueSettings(SubmitGrace):
    queue_url: str = Field(alias="QUEUE_URL")
    sweep_page_size: int = Field(default=100, ge=1, le=1000, alias="SWEEP_PAGE_SIZE")
    sweep_max_pages: int = Field(default=50, ge=1, alias="SWEEP_MAX_PAGES")


class WebhookSettings(Settings):
    """The webhook function: its queue (retries), dead-letter queue, secret, and URL policy."""

    webhook_queue_url: str = Field(alias="WEBHOOK_QUEUE_URL")
    webhook_dead_letter_queue_url: str = Field(alias="WEBHOOK_DEAD_LETTER_QUEUE_URL")
    webhook_secret_arn: str = Field(alias="WEBHOOK_SECRET_ARN")
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=30, alias="WEBHOOK_TIMEOUT_SECONDS")
    callback_https_only: bool = Field(default=True, alias="CALLBACK_HTTPS_ONLY")
    callback_allow_loopback: bool = Field(default=False, alias="CALLBACK_ALLOW_LOOPBACK")


class ScheduledSettings(Settings):
    queue_url: str = Field(alias="QUEUE_URL")
