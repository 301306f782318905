"""Cold imports from a function's package as Lambda loads it: without bytecode, and with it.

Lambda's ``/var/task`` is read-only, so Python cannot write the ``__pycache__`` it writes on
a laptop: a package that ships no ``.pyc`` compiles every module it imports on every cold
start, and a laptop's warm cache hides that cost from ``imports.import_ratios``. ``functions/Makefile``
therefore compiles the package with the runtime's Python. This measures what that saves, on
this machine's interpreter (or the bench's ``--python``): the ``cloudqueue`` package and the
installed packages the handlers import are copied, without bytecode, to a scratch directory
that stands for ``/var/task``; each handler is imported from it in a fresh interpreter that
can write no bytecode (``-B``) and sees no other packages (``-S``; the standard library keeps
its bytecode, as the runtime's does); then again after compiling the copy as the build does
(unchecked-hash ``.pyc``, which needs no source timestamps and zips reproducibly).

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


def build_package(target: Path, project_package: Path, installed: set[Path]) -> Path:
    """Copy ``project_package`` and ``installed`` into ``target`` with no bytecode at all."""
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    target.mkdir(parents=True, exist_ok=True)
    for source in {project_package, *installed}:
        if source.is_dir():
            shutil.copytree(source, target / source.name, ignore=no_bytecode)
        else:
            shutil.copy2(source, target / source.name)
    return target


def compile_package(target: Path, *, python: str | None = None) -> None:
    """Compile every module in ``target`` as ``functions/Makefile`` does (unchecked-hash .pyc),
    with ``python`` when given (each interpreter reads only the bytecode of its own version)."""
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
    package: Path, module: str, environment: dict[str, str], *, python: str | None = None
) -> float:
    """``import module`` from ``package`` alone, in an interpreter that writes no bytecode."""
    return snippet_seconds(f"import {module}", environment, path=package, flags=("-B", "-S"), python=python)


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
