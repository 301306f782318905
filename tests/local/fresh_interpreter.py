"""Run a function once per variant in a fresh interpreter, with moto's test credentials.

moto's backends and classes are process-wide, and beside a running local stack this
interpreter's moto is patched: a comparison with moto as shipped needs one of its own.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def each_in_a_fresh_interpreter(run: Callable[[str], T], variants: Sequence[str]) -> dict[str, T]:
    """``run(variant)`` for each variant, in order, in one spawned interpreter."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_setenv) as pool:
        return dict(zip(variants, pool.map(run, variants), strict=True))


def _setenv() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
