"""MkDocs hook: the pictures the pages show, taken from where the project keeps them.

``make diagram`` draws ``diagrams/architecture.svg`` and ``make screenshot`` takes
``frontend/demo-screenshot.png``; the README shows both from there. The site serves the same
files under ``assets/`` instead of keeping copies in ``docs/`` that could drift.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]

# Where each picture appears in the site → the file the project keeps.
PICTURES = {
    "assets/architecture.svg": ROOT / "diagrams" / "architecture.svg",
    "assets/demo-screenshot.png": ROOT / "frontend" / "demo-screenshot.png",
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the project's pictures to the site's files, so that pages link them like their own."""
    for src_uri, path in PICTURES.items():
        files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    return files
