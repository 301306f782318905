"""What a call raises, one tree::

    CloudQueueError                  every error of this client
    ├── Unreachable                  no answer: cannot connect, or timed out (after the retries)
    ├── WaitTimeout (TimeoutError)   ``wait`` ran out of time before the job ended
    ├── MissingCredentials           nothing to sign a request with (SigV4)
    └── (an HTTP refusal: ``status``, and the API's ``code``, ``message``, ``details``)
        ├── ValidationError          400 or 422: the request does not match the API's schema
        ├── Unauthorized             401: no valid token (the gateway refused it)
        ├── Forbidden                403: the token lacks the route's scope, or a bad signature
        ├── NotFound                 404: no such job, or another owner's
        ├── Conflict                 409: the job's state forbids it, or a key reused with another body
        ├── PayloadTooLarge          413
        ├── TooManyRequests          429: throttled (retried first)
        └── ServerError              5xx (retried first when repeating the request is safe)

A refusal with another status is a plain ``CloudQueueError`` carrying it.
"""

from __future__ import annotations

from typing import Any

import httpx


class CloudQueueError(Exception):
    """An error of the CloudQueue client; for an HTTP refusal, ``status`` and the API's error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details
        self.response = response

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status} {self.code}: {self.message}" if self.code else f"{self.status} {self.message}"


class Unreachable(CloudQueueError):
    """Nothing answered: the connection failed or timed out, after the retries."""


class WaitTimeout(CloudQueueError, TimeoutError):
    """``wait`` gave up; ``job`` is the job as last seen, still unfinished."""

    def __init__(self, message: str, job: Any) -> None:
        super().__init__(message)
        self.job = job


class MissingCredentials(CloudQueueError):
    """SigV4 was asked for, but there are no AWS credentials to sign with."""


class ValidationError(CloudQueueError):
    """400 or 422: the request does not match the API's schema; ``details`` says where."""


class Unauthorized(CloudQueueError):
    """401: the gateway wants a valid token."""


class Forbidden(CloudQueueError):
    """403: the token lacks the route's scope, or the request is not signed by an allowed caller."""


class NotFound(CloudQueueError):
    """404: no such job (another owner's job answers the same)."""


class Conflict(CloudQueueError):
    """409: the job's state forbids the change, or an idempotency key was reused with another body."""


class PayloadTooLarge(CloudQueueError):
    """413: the request body is larger than the API takes."""


class TooManyRequests(CloudQueueError):
    """429: throttled, still so after the retries."""


class ServerError(CloudQueueError):
    """5xx: the API failed; still so after the retries, when repeating was safe."""


_BY_STATUS: dict[int, type[CloudQueueError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: TooManyRequests,
}


def error_for(response: httpx.Response) -> CloudQueueError:
    """The exception for a refusal: the API's ``{"error": {code, message, details}}``, or the
    gateway's ``{"message": ...}``, or the first characters of a body that is not JSON."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code, details = None, None
    problem = body.get("error") if isinstance(body, dict) else None
    if isinstance(problem, dict):
        code = str(problem.get("code")) if problem.get("code") is not None else None
        message = str(problem.get("message", ""))
        details = problem.get("details")
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]  # API Gateway's own refusal, before the function ran
    else:
        code, message = "unexpected_response", response.text[:300]
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else CloudQueueError
    return kind(message, status=response.status_code, code=code, details=details, response=response)
