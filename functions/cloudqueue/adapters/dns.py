"""The resolver ``cloudqueue.callbacks`` checks a callback's host with: the system's DNS."""

from __future__ import annotations

import socket


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6); OSError when it resolves to none."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(answer[4][0]) for answer in answers})
