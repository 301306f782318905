"""Each function's peak memory on the local stack, for sizing its ``MemorySize``.

Every local execution environment is a process (``python -m awslambdaric``), so its peak
resident memory is its ``VmHWM`` in ``/proc/<pid>/status``: what Lambda reports as ``Max
Memory Used``. After a load has run (the mixed scenario), each function's figure is the
highest peak among its live environments; a function that never ran gets one environment
started (``prewarm``: its imports and module-level work, the floor of any invocation).
An environment that died or was retired took its peak with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudqueue_local.devtools.stack import LocalStack


def peak_rss_mb(pid: int) -> float | None:
    """A process's peak resident memory (VmHWM) in MB; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def peak_memory(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """By function (logical id): its peak RSS (MB) over its environments, how many it has, its
    MemorySize, and whether the figure comes from a load or from a prewarmed environment only."""
    figures: dict[str, dict[str, Any]] = {}
    for logical_id, spec in stack.template.functions.items():
        function = stack.runtime.function(logical_id)
        ran = function.invocations > 0
        if not function.environment_pids():
            function.prewarm()
        peaks = [peak for pid in function.environment_pids() if (peak := peak_rss_mb(pid)) is not None]
        figures[logical_id] = {
            "peak_mb": round(max(peaks), 1) if peaks else None,
            "environments": len(peaks),
            "memory_size_mb": spec.memory,
            "invocations": function.invocations,
            "measured": "under load" if ran else "initialised only",
        }
    return figures


__all__ = ["peak_memory", "peak_rss_mb"]
