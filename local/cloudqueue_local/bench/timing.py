"""What every scenario of ``cloudqueue bench`` measures with: a snippet timed in a fresh
interpreter, waiting for a condition, and the statistics its figures are given as."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path


def snippet_seconds(
    snippet: str,
    environment: dict[str, str] | None = None,
    *,
    path: Path | Sequence[Path] | None = None,
    flags: tuple[str, ...] = (),
    python: str | None = None,
) -> float:
    """Wall time of ``snippet`` in a fresh interpreter (``python``, by default this one) with
    ``environment`` added, given the interpreter's ``flags`` and ``path`` (one folder, or several
    in order) first on ``sys.path``."""
    code = f"import time\n_started = time.perf_counter()\n{snippet}\nprint(time.perf_counter() - _started)"
    if path is not None:
        paths = [str(path)] if isinstance(path, Path) else [str(each) for each in path]
        code = f"import sys; sys.path[0:0] = {paths!r}\n{code}"
    result = subprocess.run(
        [python or sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | (environment or {}),
    )
    return float(result.stdout.strip().splitlines()[-1])


def import_seconds(
    module: str, environment: dict[str, str] | None = None, *, python: str | None = None
) -> float:
    """Wall time of ``import module``, as ``snippet_seconds`` measures it."""
    return snippet_seconds(f"import {module}", environment, python=python)


def wait_until(condition: Callable[[], bool], *, until: float, every: float = 1.0) -> bool:
    """Poll ``condition`` every ``every`` seconds until it holds (True) or the monotonic clock
    passes ``until`` (False)."""
    while True:
        if condition():
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(every)


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0 to 1) of the sorted ``values`` (nearest rank); NaN if none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float | int]:
    """Count, mean, p50 and p99 of durations in seconds, as milliseconds."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(sum(values) / len(values) * 1000, 1),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
    }


def epoch(timestamp: str | None) -> float | None:
    """A job's ISO 8601 timestamp (``finishedAt``) as epoch seconds, or None when it has none."""
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
