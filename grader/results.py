"""Results as data: one check, one assignment, one submission. Renderers live in `grader.reports`."""

from __future__ import annotations

from dataclasses import dataclass, field


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
class AssignmentResult:
    """All checks of one assignment of one submission."""

    name: str
    file: str | None
    checks: tuple[CheckResult, ...]
    execution_time: float
    notes: tuple[str, ...] = ()
    peak_memory_mb: float | None = None  # of the child process while it ran this assignment

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
