"""What an API Gateway authorizer decides for one request, whatever its kind (JWT, IAM)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """``status`` 200 lets the request through with ``context`` (the ``requestContext.authorizer``
    API Gateway adds, None for a route without authorization); 401 or 403 answer ``message``."""

    status: int
    context: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200

    @property
    def message(self) -> str:
        """API Gateway's ``message`` for a refusal."""
        return {401: "Unauthorized", 403: "Forbidden"}.get(self.status, "")


ALLOWED = Decision(200)
UNAUTHORIZED = Decision(401)
FORBIDDEN = Decision(403)
