"""`sam build`, as `make build` runs it (no Docker): one layer holds the libraries, built once,
and each function's artefact holds CloudQueue's own code alone, the same bytes for all six."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.test_template import sam_command

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = (
    "ApiFunction",
    "ClaimFunction",
    "ProcessFunction",
    "FinalizeFunction",
    "DeadLetterFunction",
    "RequeueFunction",
)
LAYER = "DependenciesLayer"
LIBRARIES = {"boto3", "botocore", "pydantic", "pydantic_core", "aws_lambda_powertools", "uuid_utils"}


def requirements(lines: list[str]) -> set[str]:
    return {line.split("#")[0].replace(" ", "") for line in lines} - {""}


def test_the_layer_is_built_from_the_requirements_the_project_venv_installs() -> None:
    # Given the layer's requirements and the project's dependencies (what the local stack's
    # environments import, from the venv, where Lambda imports the layer)
    layer = requirements((ROOT / "functions" / "dependencies" / "requirements.txt").read_text().splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]

    # Then they are the same, so the local stack runs on what a deploy ships
    assert layer == requirements(project)
    assert {"boto3>=1.34", "pydantic>=2.7,<3"} <= layer


def runtime_python() -> str | None:
    """A Python 3.12 to compile the bytecode with (CLOUDQUEUE_RUNTIME_PYTHON, else python3.12
    on the PATH), or None: then the build ships source only, as functions/Makefile says."""
    candidate = os.environ.get("CLOUDQUEUE_RUNTIME_PYTHON") or shutil.which("python3.12")
    if candidate is None:
        return None
    probe = subprocess.run(
        [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
        capture_output=True,
        check=False,
    )
    return candidate if probe.returncode == 0 else None


@dataclass(frozen=True)
class Build:
    root: Path  # the build directory: one folder per function and layer
    output: str  # what sam build printed
    compiled: bool  # a Python 3.12 compiled the bytecode


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    scratch = tmp_path_factory.mktemp("sam")
    python = runtime_python()
    environment = os.environ | {"SAM_CLI_TELEMETRY": "0"}
    if python is not None:
        environment["RUNTIME_PYTHON"] = python
    finished = subprocess.run(
        [
            sam_command(),
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--base-dir",
            str(ROOT),
            "--build-dir",
            str(scratch / "build"),
        ],
        cwd=scratch,  # SAM's own files (.aws-sam) stay out of the checkout
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    return Build(scratch / "build", output, python is not None)


def files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def digest(folder: Path) -> str:
    """A checksum of a folder's relative paths and bytes (what names a `sam deploy` upload)."""
    hashed = hashlib.sha256()
    for path in files(folder):
        hashed.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()


@pytest.mark.slow  # pip fetches the wheels and SAM builds seven artefacts: a minute or more
def test_the_layer_holds_the_libraries_under_python_built_for_arm64(build: Build) -> None:
    # Given the layer's artefact  Then its libraries are under python/, as Lambda expects under /opt
    libraries = build.root / LAYER / "python"
    assert [path.name for path in (build.root / LAYER).iterdir()] == ["python"]
    assert not (libraries / "bin").exists()  # scripts whose first line names the build's Python
    assert {path.name for path in libraries.iterdir()} >= LIBRARIES
    # and the compiled ones are Lambda's (arm64), not this machine's
    (core,) = (libraries / "pydantic_core").glob("_pydantic_core.*.so")
    assert "cpython-312-aarch64-linux-gnu" in core.name


@pytest.mark.slow  # pip fetches the wheels and SAM builds seven artefacts: a minute or more
def test_each_function_holds_cloudqueue_alone_under_a_megabyte(build: Build) -> None:
    for function in FUNCTIONS:
        # Given a function's artefact
        artefact = build.root / function

        # Then it holds the cloudqueue package and none of the layer's libraries
        assert [path.name for path in artefact.iterdir()] == ["cloudqueue"], function
        assert not {part for path in files(artefact) for part in path.parts} & LIBRARIES, function
        assert sum(path.stat().st_size for path in files(artefact)) < 1_000_000, function


@pytest.mark.slow  # pip fetches the wheels and SAM builds seven artefacts: a minute or more
def test_the_six_functions_are_the_same_bytes_so_a_deploy_uploads_one(build: Build) -> None:
    # Given each function's artefact  Then all six are identical, bytecode included: it names no
    # build path, so `sam deploy`, which names uploads by their content, uploads one zip for six
    assert len({digest(build.root / function) for function in FUNCTIONS}) == 1


@pytest.mark.slow  # pip fetches the wheels and SAM builds seven artefacts: a minute or more
def test_the_code_and_the_libraries_carry_bytecode_for_python_3_12_or_say_they_do_not(build: Build) -> None:
    # Given the function and layer artefacts, and each one's modules
    artefacts = {build.root / "ApiFunction": "/var/task/", build.root / LAYER: "/opt/python/"}
    for artefact, runtime_path in artefacts.items():
        sources = [path for path in files(artefact) if path.suffix == ".py"]
        assert sources
        if build.compiled:
            # Then each module has its cpython-312 bytecode, which records the path Lambda
            # gives the source, not this build's
            for source in sources:
                compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
                assert compiled.is_file(), source
            sample = sources[0].parent / "__pycache__" / f"{sources[0].stem}.cpython-312.pyc"
            relative = str(sources[0].relative_to(artefact / ("python" if artefact.name == LAYER else "")))
            assert (runtime_path + relative).encode() in sample.read_bytes()
            assert not any(str(build.root).encode() in path.read_bytes() for path in files(artefact))
        else:
            # Or, with no Python 3.12 here, the build said so and ships source only
            assert "ships without bytecode" in build.output
            assert not [path for path in files(artefact) if path.suffix == ".pyc"]
