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
    status_shards: int = Field(default=4, ge=1, le=64, alias="STATUS_SHARDS")
    retention_days: int = Field(default=30, ge=1, alias="RETENTION_DAYS")

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


class ClaimSettings(Settings):
    lease_seconds: int = Field(default=300, ge=1, alias="LEASE_SECONDS")


class FinalizeSettings(Settings):
    pass


class DeadLetterSettings(Settings):
    pass


class RequeueSettings(Settings):
    queue_url: str = Field(alias="QUEUE_URL")
    stale_queued_seconds: int = Field(default=900, ge=1, alias="STALE_QUEUED_SECONDS")
    lease_grace_seconds: int = Field(default=300, ge=0, alias="LEASE_GRACE_SECONDS")
