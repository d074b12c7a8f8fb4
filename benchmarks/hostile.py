"""`make hostile`: grade every hostile fixture and print, for each, its score, its time and what stopped it.

    python -m benchmarks.hostile [--timeout SECONDS]

Each fixture is graded as a student's file alone (its assignment from its name), with the memory cap of the
hostile tests (1,500 MB) and a short time limit, so that the loops end soon; the line printed is the first failed
check's message, which is what the student reads. The assertions are in tests/sandbox/test_hostile.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.grading import grade_submission
from grader.reports.escape import terminal
from grader.sandbox import isolation
from grader.sandbox.limits import Limits

HOSTILE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hostile"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    protections = isolation.current()
    print(f"namespaces and unprivileged user: {'yes' if protections.namespaces else 'no: ' + protections.reason}")
    print(f"{'fixture':<28} {'score':>7} {'seconds':>8}  what the student reads first")
    for path in sorted(HOSTILE.glob("*.py")):
        assignment = path.stem.split("_")[0]
        start = time.monotonic()
        result = grade_submission(path, [assignment], Limits(timeout=args.timeout, memory_mb=1500))
        graded = result.assignments[0]
        failed = next((c for c in graded.checks if not c.passed and not c.hidden), None)
        first = terminal((failed.output.splitlines() or [""])[0][:110]) if failed else "every check passed"
        print(f"{path.name:<28} {graded.score:>3g}/{graded.max_score:<3g} {time.monotonic() - start:>8.1f}  {first}",
              flush=True)


if __name__ == "__main__":
    main()
