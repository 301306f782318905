"""Cold imports from a function's package as Lambda loads it: without bytecode, and with it.

Lambda's ``/var/task`` and ``/opt`` are read-only, so Python cannot write the ``__pycache__``
it writes on a laptop: code that ships no ``.pyc`` compiles every module it imports on every
cold start, and a laptop's warm cache hides that cost from ``imports.import_ratios``. The build
(``functions/Makefile`` and ``functions/dependencies/Makefile``) therefore compiles the
function's code and its layer with the runtime's Python. This measures what that saves, on
this machine's interpreter (or the bench's ``--python``): laid out as Lambda lays out a function
with its layer, the ``cloudqueue`` package is copied to a scratch ``task`` (``/var/task``) and
the installed packages the handlers import to ``opt/python`` (the layer), both without
bytecode; each handler is imported, with both on ``sys.path`` in Lambda's order (the function's
code, then the layer), in a fresh interpreter that can write no bytecode (``-B``) and sees no
other packages (``-S``; the standard library keeps its bytecode, as the runtime's does); then
again after compiling the copy as the build does (unchecked-hash ``.pyc``, which needs no
source timestamps and zips reproducibly).

``package_bytecode_ratios`` is the scenario: ``bytecode_ratios`` for the four handlers.
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cloudqueue_local.bench.imports import HANDLERS
from cloudqueue_local.bench.timing import snippet_seconds

# Prints the site-packages entries (paths) holding every module the import loaded.
_TOP_LEVELS = """
import importlib, json, sys, sysconfig
importlib.import_module(sys.argv[1])
roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
entries = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    for root in roots:
        if path.startswith(root + "/"):
            entries.add(root + "/" + path[len(root) + 1 :].split("/")[0])
print(json.dumps(sorted(entries)))
"""


def installed_packages(module: str, environment: dict[str, str], *, python: str | None = None) -> set[Path]:
    """The site-packages entries (package folders, single modules, extensions) ``module`` loads
    under ``python`` (by default this interpreter)."""
    result = subprocess.run(
        [python or sys.executable, "-c", _TOP_LEVELS, module],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | environment,
    )
    entries = [Path(entry) for entry in json.loads(result.stdout.strip().splitlines()[-1])]
    return {entry for entry in entries if not entry.name.startswith("__editable__")}


@dataclass(frozen=True)
class LambdaPackage:
    """A function's code and its layer's libraries, in folders laid out as Lambda's."""

    root: Path
    task: Path  # /var/task: the function's artefact, the cloudqueue package
    layer: Path  # /opt/python: the layer's artefact, the libraries

    @property
    def sys_path(self) -> tuple[Path, Path]:
        """The folders on ``sys.path``, in Lambda's order: the function's code, then the layer."""
        return (self.task, self.layer)


def build_package(target: Path, project_package: Path, installed: set[Path]) -> LambdaPackage:
    """Copy ``project_package`` to ``target``'s task folder and ``installed`` to its layer
    folder, with no bytecode at all."""
    package = LambdaPackage(target, target / "task", target / "opt" / "python")
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder, sources in ((package.task, {project_package}), (package.layer, installed)):
        folder.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if source.is_dir():
                shutil.copytree(source, folder / source.name, ignore=no_bytecode)
            else:
                shutil.copy2(source, folder / source.name)
    return package


def compile_package(package: LambdaPackage, *, python: str | None = None) -> None:
    """Compile every module of ``package`` as the build does (unchecked-hash .pyc), with
    ``python`` when given (each interpreter reads only the bytecode of its own version)."""
    target = package.root
    if python is None:
        compileall.compile_dir(
            target, quiet=1, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        return
    subprocess.run(
        [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )


def cold_import_seconds(
    package: LambdaPackage, module: str, environment: dict[str, str], *, python: str | None = None
) -> float:
    """``import module`` from ``package`` alone, in an interpreter that writes no bytecode."""
    return snippet_seconds(
        f"import {module}", environment, path=package.sys_path, flags=("-B", "-S"), python=python
    )


def bytecode_ratios(
    handlers: dict[str, str],
    environments: dict[str, dict[str, str]],
    project_package: Path,
    runs: int = 5,
    *,
    python: str | None = None,
) -> dict[str, dict[str, float]]:
    """Per function: median cold import without and with bytecode (ms), and their ratio, under
    ``python`` (by default this interpreter).

    Both packages exist side by side and each round imports from one and then the other, so
    each ratio is taken within a round (see ``imports.import_ratios`` for why).
    """
    installed: set[Path] = set()
    for name, module in handlers.items():
        installed |= installed_packages(module, environments[name], python=python)
    with tempfile.TemporaryDirectory(prefix="cloudqueue-package-") as scratch:
        bare = build_package(Path(scratch) / "without", project_package, installed)
        compiled = build_package(Path(scratch) / "with", project_package, installed)
        compile_package(compiled, python=python)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in handlers}
        for _ in range(runs):
            for name, module in handlers.items():
                without = cold_import_seconds(bare, module, environments[name], python=python)
                with_bytecode = cold_import_seconds(compiled, module, environments[name], python=python)
                samples[name].append((without, with_bytecode))
    return {
        name: {
            "without_ms": statistics.median(without for without, _ in rounds) * 1000,
            "with_ms": statistics.median(with_bytecode for _, with_bytecode in rounds) * 1000,
            "ratio": statistics.median(without / with_bytecode for without, with_bytecode in rounds),
        }
        for name, rounds in samples.items()
    }


def package_bytecode_ratios(runs: int = 5, *, python: str | None = None) -> dict[str, dict[str, float]]:
    """``bytecode_ratios`` for the handlers, each with its template environment."""
    from cloudqueue_local.client.aws import local_template
    from cloudqueue_local.project import project_root

    functions = local_template().functions
    package = project_root() / functions["ClaimFunction"].code_uri / "cloudqueue"
    environments = {name: functions[name].environment for name in HANDLERS}
    return bytecode_ratios(HANDLERS, environments, package, runs=runs, python=python)
