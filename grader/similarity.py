"""Similarity across a class, as evidence for a person to read, never as a score change.

Two kinds of evidence, per assignment:

- Source similarity (copydetect's winnowed fingerprints, the method of MOSS): the share of each file's code found in
  the other's, with the stub's code (everyone's starting point) left out.
- Identical unusual mistakes: students whose failed checks and messages are the same, word for word, where at most
  `RARE` students of the class share that set (a common mistake is no evidence of anything).

The student's code is read, never run (`grader.submission.load`).
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from grader import locations
from grader.errors import LoadError
from grader.reports import gradescope
from grader.rubrics import RUBRICS
from grader.submission import Student, load, locate, students

NOISE, GUARANTEE = 25, 30  # copydetect's defaults: matches shorter than 25 characters are ignored, 30 always found
RARE = 2


@dataclass(frozen=True)
class Pair:
    assignment: str
    first: str
    second: str
    share_first: float  # of the first's code, the share also in the second's
    share_second: float


def source_pairs(root: Path, out: Path, threshold: float = 0.6) -> list[Pair]:
    """Pairs of students whose code for an assignment overlaps by at least `threshold` of both files."""
    from copydetect import CodeFingerprint, compare_files

    course = locations.course()
    pairs = []
    for name in RUBRICS:
        stub = course.assignments / f"{name}.py" if course.assignments else None
        boilerplate = (sorted(CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, language="python",
                                              fp=io.StringIO(stub.read_text())).hashes)
                       if stub and stub.is_file() else [])
        prints = {}
        for student in students(root):
            code = _code(student, out, name)
            if code and code.strip():
                prints[student.name] = CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate,
                                                       language="python", fp=io.StringIO(code))
        for (a, first), (b, second) in combinations(sorted(prints.items()), 2):
            if not len(first.hashes) or not len(second.hashes):
                continue
            _, (share_a, share_b), _ = compare_files(first, second)
            if share_a >= threshold and share_b >= threshold:
                pairs.append(Pair(name, a, b, float(share_a), float(share_b)))
    return sorted(pairs, key=lambda p: -min(p.share_first, p.share_second))


def shared_mistakes(out: Path) -> list[tuple[str, list[str], list[str]]]:
    """(assignment, students, the failed checks they share) for each unusual set of identical failures."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    checks: dict[tuple[str, str], list[str]] = {}
    for path in sorted((out / "results").glob("*.json")):
        report = json.loads(path.read_text())
        by_assignment: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for test in report.get("tests", []):
            if test["status"] == "failed" and test.get("visibility") == "visible":
                by_assignment[gradescope.assignment_of(test)].append((test["name"], test["output"]))
        for assignment, failed in by_assignment.items():
            key = (assignment, json.dumps(sorted(failed)))
            groups[key].append(path.stem)
            checks[key] = sorted(name for name, _ in failed)
    return [(key[0], names, checks[key]) for key, names in sorted(groups.items())
            if 1 < len(names) <= RARE and not any("could not be loaded" in c for c in checks[key])]


def report(root: Path, out: Path, threshold: float = 0.6) -> str:
    """similarity.md: both kinds of evidence, for a person to read."""
    lines = ["# Similarity across the class", "",
             "Evidence for a person to read, never a score change: similar code can come from a shared tutorial, "
             "the lecture's notes or the stub, and a shared mistake from a shared misunderstanding.", "",
             f"## Source code: pairs sharing at least {threshold:.0%} of both files (the stub's code left out)", ""]
    pairs = source_pairs(root, out, threshold)
    if pairs:
        lines += ["| assignment | students | share of each's code in the other's |", "|---|---|---|"]
        lines += [f"| {p.assignment} | {p.first}, {p.second} | {p.share_first:.0%}, {p.share_second:.0%} |"
                  for p in pairs]
    else:
        lines.append("No pair.")
    lines += ["", f"## Identical unusual mistakes: the same failed checks with the same messages, shared by {RARE} "
              "students at most", ""]
    mistakes = shared_mistakes(out)
    lines += [f"- **{assignment}**: {', '.join(names)}: {'; '.join(failed)}" for assignment, names, failed in mistakes]
    if not mistakes:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _code(student: Student, out: Path, assignment: str) -> str | None:
    """The student's code for `assignment`, as the grader would take it (a notebook's code cells), or None."""
    folder = out / "unpacked" / student.name if student.path.suffix.lower() == ".zip" else student.path
    if not folder.is_dir():
        return None
    try:
        path = locate(folder, assignment)
        return "\n\n".join(cell.source for cell in load(path, assignment).cells) if path else None
    except LoadError:
        return None
