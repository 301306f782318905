"""``text.transform``: the seed's example job. ``{text}`` → ``{originalLength, uppercase, wordCount}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cloudqueue.jobtypes.base import JobContext, JobType


class TextTransformPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    text: str = Field(min_length=1, max_length=10_000, description="The text to transform.")


def transform_text(payload: TextTransformPayload, context: JobContext) -> dict[str, Any]:
    return {
        "originalLength": len(payload.text),
        "uppercase": payload.text.upper(),
        "wordCount": len(payload.text.split()),
    }


JOB_TYPE = JobType(
    name="text.transform",
    description="Upper-cases a text and counts its characters and words.",
    payload_model=TextTransformPayload,
    run=transform_text,
    example={"text": "hello cloudqueue"},
)
