"""Narrow a module's cosmic-ray session to the mutants of conditions (a documented sample).

    python tests/mutation/sample.py MODULE [DEFINITION ...]

On a busy 2-core machine a module like the ``adapters/dynamodb`` package (several hundred mutants, a
minute each when one survives) does not fit an evening. This marks as skipped, in
``.mutation/MODULE.sqlite`` (after ``cosmic-ray init``; ``run.py`` then runs what is left):

- the mutants that do not touch a condition: numbers, arithmetic, unary minus;
- of the seven ways cosmic-ray rewrites a comparison, all but the two that matter for a guard:
  the boundary (``<`` into ``<=``, ``>`` into ``>=``, and back) and the negation (``<`` into
  ``>=``, ``==`` into ``!=``, ``is`` into ``is not``...);
- with DEFINITION names, every mutant outside those functions (the guarded writes).

What is kept: ``not`` added or removed, ``and``/``or`` swapped, ``True``/``False`` swapped,
exceptions replaced, loops that run zero times, ``break``/``continue`` swapped, and the two
comparison mutants above.
"""

from __future__ import annotations

import sqlite3
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from run import SESSIONS

COMPARISONS = {
    "Lt": ("LtE", "GtE"),
    "LtE": ("Lt", "Gt"),
    "Gt": ("GtE", "LtE"),
    "GtE": ("Gt", "Lt"),
    "Eq": ("NotEq",),
    "NotEq": ("Eq",),
    "Is": ("IsNot",),
    "IsNot": ("Is",),
    "In": ("NotIn",),
    "NotIn": ("In",),
}
KEPT = {
    "core/AddNot",
    "core/ReplaceUnaryOperator_Delete_Not",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ExceptionReplacer",
    "core/ZeroIterationForLoop",
    "core/ReplaceBreakWithContinue",
    "core/ReplaceContinueWithBreak",
} | {
    f"core/ReplaceComparisonOperator_{source}_{target}"
    for source, targets in COMPARISONS.items()
    for target in targets
}


def main(module: str, definitions: list[str]) -> None:
    with sqlite3.connect(SESSIONS / f"{module}.sqlite") as database:
        pending = database.execute(
            "SELECT job_id, operator_name, definition_name FROM mutation_specs"
            " WHERE job_id NOT IN (SELECT job_id FROM work_results)"
        ).fetchall()
        skipped = [
            (job_id,)
            for job_id, operator, definition in pending
            if operator not in KEPT or (definitions and definition not in definitions)
        ]
        database.executemany(
            "INSERT INTO work_results (worker_outcome, output, test_outcome, diff, job_id)"
            " VALUES ('SKIPPED', 'outside the sample (tests/mutation/sample.py)', NULL, NULL, ?)",
            skipped,
        )
    print(f"{module}: {len(pending) - len(skipped)} of {len(pending)} pending mutants kept")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
