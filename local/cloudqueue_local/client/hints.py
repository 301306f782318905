"""What the CLI tells a newcomer: how to reach the local stack with the AWS CLI, and what to do
when the stack is not running. One place, so that `cloudqueue dev`, the errors and the README
say the same thing (tests/local/test_quick_start.py runs the README's tour as printed)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from cloudqueue_local.template import REGION

# The local stack accepts any credentials; the AWS CLI refuses to run without some, and
# without a region. As an inline prefix they work on a machine with no AWS configuration and
# change nothing in the user's shell or ~/.aws.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}

START_HINT = "start it with `make dev` (or `.venv/bin/cloudqueue dev`)"


def aws_cli_command(aws_url: str, command: str = "sqs list-queues") -> str:
    """An AWS CLI command line that works against the local stack as printed."""
    prefix = " ".join(f"{name}={value}" for name, value in LOCAL_AWS_ENV.items())
    return f"{prefix} aws --endpoint-url {aws_url} {command}"


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
