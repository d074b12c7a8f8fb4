"""Time limits that follow the machine.

A limit set on one machine fails correct code on a slower one (Gradescope gives half a CPU by default). So when a
reference artifact is computed, the reference's own time is recorded beside it, with how long a fixed workload took
on that machine; when a submission is graded, the same workload is timed here, and the time limit becomes

    max(--timeout, FACTOR x the reference's time) x max(1, the workload's time here / its time there)

so that a container four times slower gives four times as long, and a faster one never less than --timeout.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

FACTOR = 4.0  # a correct submission's run may take this many times the reference's (their own spellings, output)
CEILING = 300.0  # the most a limit that follows the machine may grow to, per assignment, without a budget


@functools.cache
def workload_seconds() -> float:
    """Seconds that a fixed workload takes here: float32 matrix products on the threads NumPy's BLAS uses, long
    enough (about 0.3 s on 2 cores) to span several periods of a CPU quota, the median of three runs."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((512, 512), dtype=np.float32)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        b = a
        for _ in range(60):
            b = (b @ a) * np.float32(0.04)
        runs.append(time.perf_counter() - start)
    return sorted(runs)[1]


def record_path(artifact: Path) -> Path:
    """The timing record kept beside a reference artifact."""
    return artifact.with_name(artifact.stem + ".timing.json")


def record(artifact: Path, seconds: float) -> None:
    """Record the reference's time, and this machine's workload time, beside `artifact`."""
    record_path(artifact).write_text(json.dumps({"reference_seconds": round(seconds, 2),
                                                 "workload_seconds": round(workload_seconds(), 4)}))


def read(artifact: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(record_path(artifact).read_text())
        return data if float(data["reference_seconds"]) >= 0 and float(data["workload_seconds"]) > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def limit(floor: float, records: list[dict[str, Any] | None]) -> tuple[float, float]:
    """The time limit per assignment for the assignments of `records`, and this machine's slowdown (1 where there
    is no record to compare with)."""
    known = [r for r in records if r is not None]
    if not known:
        return floor, 1.0
    slowdown = max(1.0, max(workload_seconds() / float(r["workload_seconds"]) for r in known))
    return scaled(floor, slowdown, [float(r["reference_seconds"]) for r in known]), slowdown


def ceiling(budget: float | None, assignments: int) -> float:
    """The most a limit that follows the machine may grow to, per assignment: with a `budget` for the whole
    submission (its platform's timeout), a share that leaves every assignment, each stopped at its limit, a tenth of
    the budget and half a minute to spare for the rest; else CEILING.

    >>> ceiling(None, 5), ceiling(600, 5), ceiling(600, 1), ceiling(60, 5)
    (300.0, 102.0, 300.0, 30.0)
    """
    if budget is None:
        return CEILING
    return max(30.0, min(CEILING, (0.9 * budget - 30.0) / max(assignments, 1)))


def scaled(floor: float, slowdown: float, reference_seconds: list[float]) -> float:
    """`limit` without the measuring: for the tests.

    >>> scaled(120, 1.0, [30.0]), scaled(120, 4.0, [30.0]), scaled(120, 1.0, [47.0])
    (120.0, 480.0, 188.0)
    """
    return max(floor, FACTOR * max(reference_seconds, default=0.0)) * max(1.0, slowdown)
