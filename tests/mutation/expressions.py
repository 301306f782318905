"""Mutate the DynamoDB expressions inside string literals, which cosmic-ray leaves alone.

    python tests/mutation/expressions.py [CONFIG [REVISION]]
        # default: tests/mutation/dynamodb.toml on the work tree as it is;
        # with a git REVISION, on the tracked tree of that revision

The guarded writes of the ``adapters/dynamodb`` package are condition and update expressions:
text that no Python mutation tool changes. This changes one operator in one string at a time
(``<`` into ``<=``, ``AND`` into ``OR``, ``attribute_not_exists`` into ``attribute_exists``, an
attribute dropped from a ``REMOVE``...), runs the config's test command, and reports the kill
rate and the survivors. It works on its own copy of the work tree (``.mutation/expressions``),
and resumes where it stopped: each outcome is kept in ``.mutation/expressions.results``
(``make mutation-clean`` starts afresh).
"""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
import tokenize
import tomllib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, SESSIONS, copy_tree, environment

TREE = SESSIONS / "expressions"
RESULTS = SESSIONS / "expressions.results"
# (pattern, replacement): each match in an expression string is one mutant.
SWAPS = [
    (r" < ", " <= "),
    (r" <= ", " < "),
    (r" > ", " >= "),
    (r" = ", " <> "),
    (r" AND ", " OR "),
    (r" OR ", " AND "),
    (r"\battribute_not_exists\(", "attribute_exists("),
    (r"\battribute_exists\(", "attribute_not_exists("),
    (r" \+ :one", " - :one"),
    (r"REMOVE leaseToken, leaseExpiresAt", "REMOVE leaseToken"),
    (r"REMOVE leaseToken, leaseExpiresAt", "REMOVE leaseExpiresAt"),
]
EXPRESSION = re.compile(r":[a-z_]+|attribute_(not_)?exists|REMOVE|SET ")


def mutants(source: str) -> list[tuple[int, str, str]]:
    """(line, description, mutated source) for every swap in every expression string."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.STRING or not EXPRESSION.search(token.string):
            continue
        start = offsets[token.start[0] - 1] + token.start[1]
        for pattern, replacement in SWAPS:
            if replacement == " <> " and ("SET " in token.string or "," in token.string):
                continue  # an assignment in an update expression, not a comparison
            for match in re.finditer(pattern, token.string):
                at = start + match.start()
                mutated = source[:at] + replacement + source[at + len(match.group()) :]
                found.append(
                    (token.start[0], f"{match.group().strip()!r} -> {replacement.strip()!r}", mutated)
                )
    return found


def sources(root: Path) -> list[Path]:
    """The module at ``root``, or every module of the package there."""
    return [root] if root.is_file() else sorted(root.rglob("*.py"))


def main(config_path: Path, revision: str | None) -> None:
    config = tomllib.loads(config_path.read_text())["cosmic-ray"]
    module = config["module-path"]
    command = shlex.split(config["test-command"])
    copy_tree(TREE, revision)
    survivors: list[str] = []
    total = 0
    # "path line N: description #k" -> outcome, for the mutants already run on this source
    done = dict(
        entry.rsplit(": ", 1) for entry in (RESULTS.read_text().splitlines() if RESULTS.exists() else [])
    )
    for target in sources(TREE / module):
        original = target.read_text()
        all_mutants = mutants(original)
        total += len(all_mutants)
        where = target.relative_to(TREE / module).as_posix() if target != TREE / module else ""
        seen: Counter[str] = Counter()
        try:
            for line, description, mutated in all_mutants:
                name = f"{where} line {line}: {description}".lstrip()
                seen[name] += 1
                key = f"{name} #{seen[name]}"
                if key not in done:
                    target.write_text(mutated)
                    result = subprocess.run(
                        command, cwd=TREE, env=environment(TREE), capture_output=True, check=False
                    )
                    done[key] = "killed" if result.returncode else "SURVIVED"
                    with RESULTS.open("a") as results:
                        results.write(f"{key}: {done[key]}\n")
                print(f"  {key}: {done[key]}", file=sys.stderr, flush=True)
                if done[key] == "SURVIVED":
                    survivors.append(f"  {name}\n")
        finally:
            target.write_text(original)
    killed = total - len(survivors)
    rate = 100 * killed / total if total else 0.0
    print(f"{module} expressions: {killed}/{total} killed ({rate:.0f}%), {len(survivors)} survived")
    print("".join(survivors), end="")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        Path(arguments[0]) if arguments else HERE / "dynamodb.toml",
        arguments[1] if len(arguments) > 1 else None,
    )
