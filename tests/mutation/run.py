"""Run cosmic-ray over the modules whose guarded writes matter, one session per module.

    python tests/mutation/run.py [--at REVISION] [MODULE ...]   # default: every tests/mutation/*.toml

Each ``<module>.toml`` here names one source file and the fast tests that cover it. cosmic-ray
mutates files in place, so each module runs in its own copy of the work tree,
``.mutation/<module>/`` (not tracked; the copy's ``functions`` and ``local`` come first on
``PYTHONPATH``, ahead of the editable install): the files you are editing are never mutated, and
two modules can run at once. With ``--at REVISION`` the copy is the tracked tree of that git
revision (for "before" figures). A module's session (``.mutation/<module>.sqlite``) resumes
where it stopped; ``make mutation-clean`` starts afresh. Mutants run one at a time, so a 2-core
machine keeps a core for everything else (``make mutation`` also runs it under ``nice``).
Prints, per module, the kill rate and every surviving mutant with its diff.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SESSIONS = ROOT / ".mutation"
BIN = Path(sys.executable).parent


def environment(tree: Path) -> dict[str, str]:
    """The test command says `python`: this interpreter (the project venv), not the system one;
    and the copy's packages, not the editable install's."""
    return os.environ | {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(str(tree / folder) for folder in ("functions", "local", ".")),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def copy_tree(tree: Path, revision: str | None = None) -> None:
    """The work tree's tracked and new (not ignored) files as they are now, or the tracked
    files of ``revision``."""
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    if revision is not None:
        with tarfile.open(fileobj=io.BytesIO(git("archive", revision))) as archive:
            archive.extractall(tree, filter="data")
        return
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)


def cosmic_ray(tree: Path, *args: str, capture: bool = True) -> str:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=tree,
        env=environment(tree),
        check=True,
        capture_output=capture,
        text=True,
    ).stdout


def session(name: str, revision: str | None) -> tuple[Path, Path]:
    config = str(HERE / f"{name}.toml")
    tree = SESSIONS / name
    database = SESSIONS / f"{name}.sqlite"
    copy_tree(tree, revision)
    if not database.exists():
        cosmic_ray(tree, "cosmic-ray", "init", config, str(database))
        cosmic_ray(tree, "cr-filter-operators", str(database), config)
    cosmic_ray(tree, "cosmic-ray", "exec", config, str(database), capture=False)
    return tree, database


def summary(name: str, tree: Path, database: Path) -> None:
    killed = survived = 0
    survivors: list[str] = []
    for line in cosmic_ray(tree, "cosmic-ray", "dump", str(database)).splitlines():
        item, result = json.loads(line)
        if result is None or result["worker_outcome"] == "skipped":
            continue
        # A mutant that does not import, crashes the run or times out counts as killed.
        if result["worker_outcome"] != "normal" or result["test_outcome"] != "survived":
            killed += 1
            continue
        survived += 1
        mutation = item["mutations"][0]
        changed = [
            diff_line.strip()
            for diff_line in (result["diff"] or "").splitlines()
            if diff_line.startswith(("-", "+")) and not diff_line.startswith(("---", "+++"))
        ]
        survivors.append(
            f"  line {mutation['start_pos'][0]} {mutation['definition_name']}: {mutation['operator_name']}\n"
            + "".join(f"      {diff_line}\n" for diff_line in changed)
        )
    total = killed + survived
    rate = 100 * killed / total if total else 0.0
    print(f"{name}: {killed}/{total} killed ({rate:.0f}%), {survived} survived")
    print("".join(survivors), end="", flush=True)


def main(arguments: list[str]) -> None:
    revision = None
    if arguments[:1] == ["--at"]:
        revision, arguments = arguments[1], arguments[2:]
    SESSIONS.mkdir(exist_ok=True)
    for name in arguments or sorted(path.stem for path in HERE.glob("*.toml")):
        summary(name, *session(name, revision))


if __name__ == "__main__":
    main(sys.argv[1:])
