"""`cloudqueue dev` in an AuthMode, as a user starts it, in a process of its own (moto's
backends are per process: the session's ``local_stack`` is the one of ``AuthMode=none``)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def dev_stack(mode: str, output: Path) -> Iterator[str]:
    """Run ``cloudqueue dev --param AuthMode=<mode>`` on free ports; yield its API (and page) URL.
    Stopped with Ctrl-C (SIGINT) at the end, as a user stops it."""
    command = [
        sys.executable, "-m", "cloudqueue_local.cli", "dev", "--param", f"AuthMode={mode}",
        "--port", "0", "--aws-port", "0", "--issuer-port", "0", "--no-watch",
    ]  # fmt: skip
    with output.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C" not in output.read_text():
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-2000:]
            time.sleep(0.2)
        found = re.search(r"^\s+API\s+(http://\S+)", output.read_text(), re.MULTILINE)
        assert found, output.read_text()
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
