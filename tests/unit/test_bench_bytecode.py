"""The package ``cloudqueue bench`` imports to measure what compiled bytecode saves a cold start
is what it says: self-contained, laid out as a function with its layer, with no bytecode until
compiled, and then loaded from the ``.pyc`` alone, as Lambda loads what the build makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloudqueue_local.bench.bytecode import (
    build_package,
    cold_import_seconds,
    compile_package,
    installed_packages,
)
from cloudqueue_local.bench.imports import HANDLERS
from cloudqueue_local.template import load_template

pytestmark = pytest.mark.slow  # fresh interpreters, and a copy of the package

ROOT = Path(__file__).resolve().parents[2]
PROCESS = HANDLERS["ProcessFunction"]


@pytest.fixture(scope="module")
def environment() -> dict[str, str]:
    return load_template(ROOT / "template.yaml").functions["ProcessFunction"].environment


@pytest.fixture(scope="module")
def installed(environment) -> set[Path]:
    return installed_packages(PROCESS, environment)


def test_the_package_holds_what_the_handler_imports_and_nothing_from_the_project_venv(installed):
    names = {path.name for path in installed}
    assert {"pydantic", "pydantic_core", "aws_lambda_powertools"} <= names
    assert "boto3" not in names  # the process handler loads none (Powertools only probes botocore's __init__)
    assert not any(name.startswith("__editable__") for name in names)


def test_the_handler_imports_from_the_copy_alone_and_leaves_no_bytecode(tmp_path, installed, environment):
    package = build_package(tmp_path / "task", ROOT / "functions" / "cloudqueue", installed)

    # the function's code alone in its folder, the libraries in the layer's
    assert [path.name for path in package.task.iterdir()] == ["cloudqueue"]
    assert {"pydantic", "aws_lambda_powertools"} <= {path.name for path in package.layer.iterdir()}
    assert cold_import_seconds(package, PROCESS, environment) > 0
    assert not list(package.root.rglob("*.pyc"))  # -B: nothing was written, so every round compiles
    # and -S: with no site-packages, a package left out of the copy fails the import
    missing = build_package(tmp_path / "partial", ROOT / "functions" / "cloudqueue", set())
    with pytest.raises(subprocess.CalledProcessError):
        cold_import_seconds(missing, PROCESS, environment)


def test_once_compiled_the_import_runs_from_the_bytecode_without_reading_the_source(
    tmp_path, installed, environment
):
    package = build_package(tmp_path / "task", ROOT / "functions" / "cloudqueue", installed)
    compile_package(package)
    sources = [path for path in package.root.rglob("*.py")]
    tag = sys.implementation.cache_tag
    assert all((path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").exists() for path in sources)

    # Unchecked-hash bytecode is used as it is: a source changed after the build (here, made to
    # fail) is not read, which is what makes the zip's lost timestamps harmless.
    (package.task / "cloudqueue" / "processing.py").write_text("raise SystemExit('the source was read')\n")
    assert cold_import_seconds(package, PROCESS, environment) > 0


def test_the_functions_code_comes_before_the_layer_as_on_lambda(tmp_path, installed, environment):
    # Given a copy whose layer also holds a module named as one of the function's, which fails
    package = build_package(tmp_path / "task", ROOT / "functions" / "cloudqueue", installed)
    shadow = package.layer / "cloudqueue"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise SystemExit('the layer came first')\n")

    # When the handler is imported  Then the function's own package is the one found
    assert cold_import_seconds(package, PROCESS, environment) > 0
