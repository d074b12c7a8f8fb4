"""Results as data: one check, one assignment, one submission, a class. Renderers live in `grader.reports`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: one test in Gradescope's sense."""

    assignment: str
    category: str
    description: str
    score: float
    max_score: float
    passed: bool
    output: str
    hidden: bool = False
    data: dict | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return f"{self.assignment}/{self.category}: {self.description}"

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"


@dataclass(frozen=True)
class Cause:
    """One mistake and the failed checks it explains (`grader.causes`): what the summary's "What to fix" lists."""

    assignment: str
    source: str  # what found it: "structure", "error", "value", "call", "check", "hidden" or "load" (`grader.causes`)
    text: str  # the cause in words: a structural difference, or the message of the first check it explains
    functions: tuple[str, ...]  # the student's functions where it was found
    checks: tuple[str, ...]  # the visible checks it explains ("category: description")
    hidden: int  # how many hidden checks it explains
    points: float  # the points those checks lost
    categories: tuple[str, ...]  # what it changes, in the order of the checks
    kinds: tuple[str, ...] = ()  # the layer kinds a structural difference is about


@dataclass(frozen=True)
class AssignmentResult:
    """All checks of one assignment of one submission."""

    name: str
    file: str | None
    checks: tuple[CheckResult, ...]
    execution_time: float
    notes: tuple[str, ...] = ()
    peak_memory_mb: float | None = None  # of the child process while it ran this assignment
    causes: tuple[Cause, ...] = ()  # each distinct mistake once, with the checks it explains

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)


@dataclass(frozen=True)
class SubmissionResult:
    """Every graded assignment of one submission folder or file."""

    path: str
    assignments: tuple[AssignmentResult, ...]
    execution_time: float
    extra: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(a.score for a in self.assignments)

    @property
    def max_score(self) -> float:
        return sum(a.max_score for a in self.assignments)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class ClassResult:
    """A class's results as `grade batch` wrote them: each student's Gradescope report, by name."""

    reports: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, out: Path, names: list[str]) -> ClassResult:
        """The results of `names` in the output folder `out` (`results/<name>.json`); a missing one is left out."""
        reports = {}
        for name in names:
            path = out / "results" / f"{name}.json"
            if path.is_file():
                reports[name] = json.loads(path.read_text())
        return cls(reports)

    @property
    def assignments(self) -> list[str]:
        return sorted({a for r in self.reports.values() for a in r["extra_data"].get("assignments", {})})

    def percent(self, name: str) -> float:
        report = self.reports[name]
        return 100 * report["score"] / report["max_score"] if report["max_score"] else 0.0

    @property
    def grader_failures(self) -> list[str]:
        """The students the grader failed on (not graded)."""
        return sorted(n for n, r in self.reports.items() if r["extra_data"].get("grader_error"))

    def failed(self) -> Counter:
        """How many students failed each check, by its name."""
        return Counter(t["name"] for r in self.reports.values() for t in r["tests"] if t["status"] == "failed")
