"""The client is a distribution of its own: it declares httpx and pydantic (botocore only in its
``sigv4`` extra), imports nothing else outside the standard library, and works without botocore."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"
PACKAGE = CLIENT / "src" / "cloudqueue_client"


def declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {
            requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0]
            for requirement in requirements
        }

    extras = {extra: names(requirements) for extra, requirements in project["optional-dependencies"].items()}
    return names(project["dependencies"]), extras


def imported_roots() -> dict[str, set[str]]:
    """Each module's third-party import roots, those at module level apart from those in functions."""
    found: dict[str, set[str]] = {"module level": set(), "in a function": set()}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        in_functions = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            roots -= set(sys.stdlib_module_names) | {"cloudqueue_client"}
            found["in a function" if id(node) in in_functions else "module level"] |= roots
    return found


def test_it_declares_httpx_and_pydantic_and_botocore_only_as_the_sigv4_extra() -> None:
    dependencies, extras = declared()

    assert dependencies == {"httpx", "pydantic"}
    assert extras == {"sigv4": {"botocore"}}


def test_it_imports_only_what_it_declares_and_botocore_only_when_signing() -> None:
    roots = imported_roots()

    assert roots["module level"] == {"httpx", "pydantic"}
    assert roots["in a function"] <= {"botocore"}


def test_it_works_without_botocore_and_asks_for_the_extra_only_for_sigv4() -> None:
    probe = """
import sys
sys.modules["botocore"] = None  # as if not installed
import cloudqueue_client
cloudqueue_client.Client("http://127.0.0.1:9", token="t").close()
try:
    cloudqueue_client.Client("http://127.0.0.1:9", sigv4=True)
except ImportError as error:
    print(error)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert "pip install 'cloudqueue-client[sigv4]'" in result.stdout
