"""`make hostile`: grade every hostile fixture and print, for each, its score, its time and what stopped it.

    python -m benchmarks.hostile [--timeout SECONDS] [--service] [--apart]

Each fixture is graded as a student's file alone (its assignment from its name), with the memory cap of the
hostile tests (1,500 MB) and a short time limit, so that the loops end soon; the line printed is the first failed
check's message, which is what the student reads. The assertions are in tests/sandbox/test_hostile.py.

With --service, each fixture is also graded by `grade` through this process's grading service (`grader.service`: the
first starts it, the next are warm), and its results.json compared with the one `grade` writes alone: the last
column says whether they are the same (timings and memory figures aside). With --apart, likewise by a grader that
measures apart (`GRADER_MEASURE=apart`, as where memory is short: no TensorFlow in the grader, a measurer forked after
each child) and one that measures here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.grading import grade_submission
from grader.reports import gradescope
from grader.reports.escape import terminal
from grader.sandbox import isolation
from grader.sandbox.limits import Limits

HOSTILE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hostile"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--service", action="store_true", help="also through the grading service, compared")
    parser.add_argument("--apart", action="store_true", help="also measured apart and here, compared")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
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
        same = ""
        if args.service:
            compared = _compared(path, assignment, args.timeout, work, "GRADER_SERVICE", ("1", "0"))
            same += f"  {compared} through the service"
        if args.apart:
            same += f"  {_compared(path, assignment, args.timeout, work, 'GRADER_MEASURE', ('apart', 'here'))} apart"
        print(f"{path.name:<28} {graded.score:>3g}/{graded.max_score:<3g} {time.monotonic() - start:>8.1f}  {first}"
              f"{same}", flush=True)


def _compared(path: Path, assignment: str, timeout: float, work: Path, variable: str, values: tuple[str, str]) -> str:
    """'same' where `grade` gives the same results.json with `variable` at each of `values`, else 'DIFFERENT'."""
    grade = str(Path(sys.executable).parent / "grade")
    reports = []
    for value in values:
        out = work / f"{path.stem}-{variable}-{value}.json"
        subprocess.run([grade, str(path), "-a", assignment, "-q", "--timeout", str(timeout), "--memory", "1500",
                        "--json", str(out)], env={**os.environ, "GRADER_SERVICE": "0", variable: value,
                                                  "XDG_RUNTIME_DIR": str(work)},
                       capture_output=True, timeout=900)
        reports.append(_comparable(out))
    return "same" if reports[0] is not None and reports[0] == reports[1] else "DIFFERENT"


def _comparable(path: Path) -> dict | None:
    try:
        return gradescope.without_timings(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    main()
