"""Where the project's files are: the one place that finds the checkout's root."""

from __future__ import annotations

import os
from pathlib import Path

# local/cloudqueue_local/project.py -> the checkout (template.yaml, functions/, frontend/).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    """The folder whose template.yaml the CLI uses: ``CLOUDQUEUE_ROOT`` if set, else the current
    folder if it holds a template.yaml, else the checkout this package was installed from."""
    configured = os.environ.get("CLOUDQUEUE_ROOT")
    if configured:
        return Path(configured)
    if (Path.cwd() / "template.yaml").is_file():
        return Path.cwd()
    return PROJECT_ROOT
