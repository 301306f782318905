"""The HTTP API's error answers: every error is its status and ``{"error": {"code", "message"}}``.

``answer_errors`` registers, on the API's resolver, the mapping from what the routes raise to
those answers: an ``ApiError`` carries its own status and code (``cloudqueue.errors``); a
request that does not match the schema is 400 (unreadable JSON) or 422; an unknown route 404.
``raw_error_answer`` is the same body for an answer given before the resolver runs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from cloudqueue.api_models import ErrorBody, ErrorDetail
from cloudqueue.errors import ApiError
from cloudqueue.jobtypes import JOB_TYPES

# The error answers a route may give, for its OpenAPI description.
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for code, text in {
        400: "Malformed request",
        404: "No such job",
        409: "Conflict with the job's state or an earlier request",
        413: "Request body too large",
        422: "Request does not match the schema",
        503: "The job could not be queued, or the table is busy; retry",
    }.items()
}


def error_body(code: str, message: str, details: Any = None) -> str:
    """The JSON body of every error answer."""
    # Messages echo what the client sent (a path, an id); a lone surrogate in it cannot be
    # encoded as JSON and would turn the answer into a 500.
    message = message.encode("utf-8", errors="replace").decode("utf-8")
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return body.model_dump_json(by_alias=True, exclude_none=True)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[Any]:
    """An error answer from a route or an exception handler."""
    return Response(
        status_code=status, content_type="application/json", body=error_body(code, message, details)
    )


def raw_error_answer(status: int, code: str, message: str) -> dict[str, Any]:
    """An error answer in API Gateway's format, for a request refused before the resolver runs."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": error_body(code, message),
        "isBase64Encoded": False,
    }


def _where(location: tuple[Any, ...]) -> str:
    # pydantic names the union member in the location ("body", "text.transform", "payload", ...).
    parts = (
        [str(part) for part in location[1:] if part not in JOB_TYPES]
        if location[:1] == ("body",)
        else [str(part) for part in location]
    )
    return ".".join(parts) or "body"


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    """The status, code and one readable sentence for pydantic's validation errors."""
    kinds = {error.get("type") for error in errors}
    if "json_invalid" in kinds:
        return 400, "malformed_json", "the request body is not valid JSON"
    known = ", ".join(sorted(JOB_TYPES))
    for error in errors:
        if error.get("type") == "union_tag_invalid":
            tag = (error.get("ctx") or {}).get("tag")
            return 422, "unknown_job_type", f"unknown job type {tag!r}; known types: {known}"
        if error.get("type") == "union_tag_not_found":
            return 422, "missing_job_type", f"the body needs a 'type': one of {known}"
    sentences = [
        f"{_where(tuple(error.get('loc', ())))}: {error.get('msg', 'invalid')}" for error in errors[:5]
    ]
    return 422, "validation_error", "; ".join(sentences)


def handle_api_error(error: ApiError) -> Response[Any]:
    """An ``ApiError``: its own status, code, message and details."""
    return error_response(error.status, error.code, error.message, error.details)


def handle_validation_error(error: RequestValidationError) -> Response[Any]:
    """A request that does not match the schema: 400 or 422, with pydantic's errors as details."""
    status, code, message = describe_validation_errors(list(error.errors()))
    details = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
        for item in error.errors()
    ]
    return error_response(status, code, message, details)


def answer_errors(app: APIGatewayHttpResolver) -> None:
    """Register on ``app`` the error answers above, and 404 for a route it does not have."""

    def handle_not_found(error: NotFoundError) -> Response[Any]:
        event = app.current_event
        return error_response(404, "route_not_found", f"no route {event.http_method} {event.path}")

    app.exception_handler(ApiError)(handle_api_error)
    app.exception_handler(RequestValidationError)(handle_validation_error)
    app.not_found(handle_not_found)
