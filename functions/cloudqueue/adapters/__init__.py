"""Adapters from the ports in ``cloudqueue.ports`` to AWS. The only modules that import boto3."""

from __future__ import annotations

import threading
from typing import Any

import boto3


class _SharedSession:
    """This process's one boto3 session, and the lock to build clients from it.

    Sharing the session keeps each service model loaded once; the lock is because a
    session is not safe to build clients from in several threads at once (the local stack
    runs many). Clients themselves are thread-safe.
    """

    lock = threading.Lock()
    session: boto3.session.Session | None = None


def aws_client(service: str) -> Any:
    """A client for ``service`` from the shared session."""
    with _SharedSession.lock:
        if _SharedSession.session is None:
            _SharedSession.session = boto3.session.Session()
        return _SharedSession.session.client(service)  # type: ignore[call-overload]
