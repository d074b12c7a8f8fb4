"""`grade validate`: the rubrics judged on the course's own files.

Every reference solution must score full marks, every stub zero, every mutant the rubric declares (a copy of the
solution with one mistake, e.g. the shortcut dropped) must lose points, and every equivalent it declares (a copy
spelt another way, e.g. a 1x1 convolution with padding="valid") must keep full marks, as must the solution moved
into a helper module that the assignment file imports.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader import locations
from grader.errors import UsageError
from grader.grading import grade_submission
from grader.rubrics import RUBRICS
from grader.sandbox.limits import Limits

HELPER_MODULE = "my_helpers"


@dataclass(frozen=True)
class Row:
    assignment: str
    variant: str
    score: float
    max_score: float
    expected: str  # "full", "zero" or "less"
    failed: tuple[str, ...]  # categories of the failed checks

    @property
    def ok(self) -> bool:
        if self.expected == "full":
            return self.score == self.max_score
        if self.expected == "zero":
            return self.score == 0
        return self.score < self.max_score


def validate(assignments: list[str] | None = None, profile: str = "quick") -> list[Row]:
    course = locations.course()
    rows = []
    for name in assignments or list(RUBRICS):
        if name not in RUBRICS:
            raise UsageError(f"unknown assignment {name!r}; known: {', '.join(RUBRICS)}")
        solution = course.solution(name)
        if solution is None:
            raise UsageError(f"grade validate needs the reference solution of '{name}': run it in the course folder "
                             "or pass --course DIR")
        stub = course.assignments / f"{name}.py" if course.assignments else Path("/nonexistent")
        rows.append(_grade(name, "reference solution", solution, "full", profile))
        if stub.is_file():
            rows.append(_grade(name, "stub", stub, "zero", profile))
        source = solution.read_text()
        variants = [("mutant", m, change, "less") for m, change in RUBRICS[name].mutants.items()]
        variants += [("equivalent", e, change, "full") for e, change in RUBRICS[name].equivalents.items()]
        for kind, label, (old, new), expected in variants:
            if source.count(old) < 1:
                rows.append(Row(name, f"{kind}: {label} (does not apply: text not found)", 0, 0, "less", ()))
                continue
            with tempfile.TemporaryDirectory(prefix=f"grade-{kind}-") as folder:
                path = Path(folder) / f"{name}.py"
                path.write_text(source.replace(old, new))
                rows.append(_grade(name, f"{kind}: {label}", path, expected, profile))
        with tempfile.TemporaryDirectory(prefix="grade-equivalent-") as folder:
            # The whole solution in a module of the student's own beside the assignment file, which imports it.
            (Path(folder) / f"{HELPER_MODULE}.py").write_text(source)
            (Path(folder) / f"{name}.py").write_text(f"from {HELPER_MODULE} import *  # noqa: F403\n")
            rows.append(_grade(name, "equivalent: the code in a helper module", Path(folder), "full", profile))
    return rows


def _grade(name: str, variant: str, path: Path, expected: str, profile: str) -> Row:
    result = grade_submission(path, [name], Limits(), profile).assignments[0]
    failed = tuple(sorted({c.category for c in result.checks if not c.passed and c.max_score > 0}))
    return Row(name, variant, result.score, result.max_score, expected, failed)


def table(rows: list[Row]) -> str:
    lines = [f"{'assignment':<11} {'variant':<52} {'score':>9}  {'expected':<8} verdict  failed checks"]
    for row in rows:
        verdict = "ok" if row.ok else "WRONG"
        lines.append(f"{row.assignment:<11} {row.variant:<52} {row.score:>4g}/{row.max_score:<4g}  {row.expected:<8} "
                     f"{verdict:<7}  {', '.join(row.failed) or '-'}")
    return "\n".join(lines)
