"""The CLI loads only the rooms a command uses: talking to a stack never loads the emulator."""

from __future__ import annotations

import subprocess
import sys

# Runs in a fresh interpreter, since this one may have loaded anything already: the help, and
# a status asked of an API that is not there (the command's whole path, to its error).
PROBE = """
import sys
from typer.testing import CliRunner
from cloudqueue_local.cli.app import app
from cloudqueue_local.client.api import ApiError
assert CliRunner().invoke(app, ["status", "--help"]).exit_code == 0
asked = CliRunner().invoke(app, ["status", "j-1", "--api-url", "http://127.0.0.1:9"])
assert isinstance(asked.exception, ApiError), asked.exception
print("\\n".join(sorted(sys.modules)))
"""


def test_a_command_that_talks_to_a_stack_loads_no_emulator_and_no_local_stack() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()

    assert "cloudqueue_local.cli.jobs" in loaded
    local_stack = ("cloudqueue_local.emulator", "cloudqueue_local.devtools")
    assert [name for name in loaded if name.startswith(local_stack)] == []
