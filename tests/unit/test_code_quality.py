"""The code stays as the team agreed: one ruff configuration, mypy strict on the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "functions", "local", "clients", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = run("ruff", "format", "--check", "functions", "local", "clients", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # tens of seconds without mypy's cache (a fresh clone)
def test_mypy_strict_passes_on_both_packages() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_point_one_way_and_never_in_a_cycle() -> None:
    """The contracts in pyproject.toml ([tool.importlinter]): the rooms' direction, no cycle."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
