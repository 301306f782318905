"""Adapters from the ports in ``cloudqueue.ports`` to AWS. The only modules that import boto3."""

from __future__ import annotations

import threading
from typing import Any

import boto3

_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def aws_client(service: str) -> Any:
    """A client from this process's one boto3 session, made under a lock.

    Sharing the session keeps each service model loaded once; the lock is because a
    session is not safe to build clients from in several threads at once (the local stack
    runs many). Clients themselves are thread-safe.
    """
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service)  # type: ignore[call-overload]
