"""The API's raw-body guard: what a request's body must be before the resolver reads it.

The resolver raises (and so answers 500) on bodies that are not UTF-8 or not base64, and on
form bodies it cannot parse; a body over the limit should never be parsed at all. These are
answered here, 413, 415 or 400, with the API's error body.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cloudqueue.handlers.http_errors import raw_error_answer

# `curl -d '{...}'` and a plain `fetch(url, {body})` label a JSON body as a form or as text.
# Such a body is read as JSON when it is JSON (an object or an array); anything else under
# these types, and every other non-JSON type, is 415. The API takes no credentials (no cookies),
# so accepting these "simple" content types lets no other site do anything curl cannot.
_JSON_WHEN_JSON = ("application/x-www-form-urlencoded", "text/plain")


def parse_json_body(text: str) -> Any:
    """``json.loads`` that reports every unreadable body as a JSONDecodeError, which the resolver
    answers 400: a number too long for ``int`` or nesting too deep raise other errors (then 500)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(f"unreadable JSON ({type(error).__name__})", text, 0) from None
    # The resolver takes a list's first element for the value (as it does for form fields), so
    # a body [job, other] would submit the first job: a tuple is validated, and refused, whole.
    return tuple(parsed) if isinstance(parsed, list) else parsed


def refuse_body(event: dict[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """The answer to a request whose body the resolver must not read, or None to resolve it.

    May relabel a JSON body sent as a form or as text to ``application/json`` (in ``event``).
    """
    if body_size(event) > max_body_bytes:
        return raw_error_answer(
            413, "request_too_large", f"the request body is larger than {max_body_bytes} bytes"
        )
    unreadable = unreadable_body(event)
    return None if unreadable is None else raw_error_answer(*unreadable)


def body_size(event: dict[str, Any]) -> int:
    """The size in bytes of the request's body, decoded when it came base64-encoded."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return len(base64.b64decode(body, validate=False))
        except ValueError:
            return len(body)
    return len(body.encode())


def _is_json_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip()
    return media_type in ("", "application/json") or media_type.endswith("+json")


def unreadable_body(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """Why a request's body cannot be read as JSON text (status, code, message), or None.

    A JSON body labelled as a form or as text is relabelled JSON (in ``event``) for the resolver.
    """
    body = event.get("body")
    if not body:
        return None
    headers = event.get("headers") or {}
    names = [name for name in headers if str(name).lower() == "content-type"]
    content_type = str(headers[names[0]]).strip().lower() if names else ""
    try:
        if event.get("isBase64Encoded"):
            text = base64.b64decode(str(body).encode(), validate=True).decode()
        else:
            text = str(body)
            text.encode()
    except ValueError:  # binascii.Error, UnicodeError
        if not _is_json_type(content_type):
            return _unsupported(content_type)
        return 400, "malformed_json", "the request body is not UTF-8 JSON text"
    if _is_json_type(content_type):
        return None
    if content_type.partition(";")[0].strip() in _JSON_WHEN_JSON and text.lstrip()[:1] in ("{", "["):
        for name in names:
            headers[name] = "application/json"
        return None
    return _unsupported(content_type)


def _unsupported(content_type: str) -> tuple[int, str, str]:
    return (
        415,
        "unsupported_media_type",
        f"the request body must be JSON (Content-Type: application/json), not {content_type[:100]}",
    )
