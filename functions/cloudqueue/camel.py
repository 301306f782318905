"""The base of every CloudQueue model: snake_case in Python, camelCase everywhere else.

Its own module, so that a function that needs one model (the process step's request) does
not define all of ``cloudqueue.models`` at cold start.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    # defer_build: a model's validator is built when it is first used, not at import, so a
    # function pays only for the models it uses (cold starts; see `cloudqueue bench`).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", defer_build=True
    )

    def to_json_dict(self, **kwargs: Any) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, **kwargs)
