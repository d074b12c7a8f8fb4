"""How many items "What to fix" lists per submission: each single-mistake submission should get exactly one.

    python -m benchmarks.causes                  # every bug fixture of tests/rubrics/test_rubrics.py
    python -m benchmarks.causes FILE_OR_FOLDER   # other submissions (a folder of files named like the assignments)

Prints each submission's items, then how many had exactly the expected number, per assignment. A fixture's
expected number is tests/test_rubrics.MISTAKES's (1 unless said); another submission's is 1.
"""

from __future__ import annotations

import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cases(arguments: list[str]) -> list[tuple[Path, str, int | None]]:
    if not arguments:
        sys.path.insert(0, str(ROOT / "tests"))
        from test_rubrics import MISTAKES, TABLE

        return [(ROOT / "tests" / "fixtures" / a / f, a, MISTAKES.get(f, 1)) for a, case in TABLE.items()
                for f in sorted(case.bugs)]
    from grader.rubrics import RUBRICS
    from grader.submission import matches

    cases = []
    for argument in arguments:
        path = Path(argument)
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            name = next((n for n in RUBRICS if matches(file.name, n) or file.name.startswith(n + "_")), None)
            if name and file.suffix in (".py", ".ipynb"):
                cases.append((file, name, 1))
    return cases


def _items(case: tuple[Path, str, int | None]) -> tuple[Path, str, int | None, list[str]]:
    from grader.grading import grade_submission
    from grader.reports import summary

    path, name, expected = case
    result = grade_submission(path, [name])
    return path, name, expected, [summary.cause_text(c) for c in result.assignments[0].causes]


def main(arguments: list[str]) -> int:
    counts: dict[str, Counter] = {}
    with ProcessPoolExecutor(2) as pool:
        for path, name, expected, items in pool.map(_items, _cases(arguments)):
            verdict = "-" if expected is None else ("ok" if len(items) == expected else "MISS")
            print(f"{verdict:4} {name:12} {path.name:42} {len(items)} item(s), expected {expected or 'any'}")
            for text in items:
                print(f"       - {text[:160]}")
            if expected is not None:
                counts.setdefault(name, Counter())[verdict] += 1
            sys.stdout.flush()
    print()
    for name, count in counts.items():
        print(f"{name:12} {count['ok']} of {sum(count.values())} with the expected number of items")
    total = sum(c["ok"] for c in counts.values()), sum(sum(c.values()) for c in counts.values())
    print(f"all          {total[0]} of {total[1]}")
    return 0 if total[0] == total[1] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
