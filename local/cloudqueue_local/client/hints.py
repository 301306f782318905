"""What the CLI tells a newcomer when the local stack is not running: one place, so that every
command and the README say the same thing. (How to reach a running stack with the AWS CLI is
printed by ``cloudqueue dev``: ``devtools.dev.aws_cli_command``.)"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

START_HINT = "start it with `make dev` (or `.venv/bin/cloudqueue dev`)"


def unreachable(what: str, url: str) -> str:
    """One line: ``what`` at ``url`` cannot be reached, and how to start the local stack."""
    return f"cannot reach {what} at {url}: is the local stack running? {START_HINT}"


def is_listening(url: str, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections at ``url``'s host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
