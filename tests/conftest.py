"""Shared fixtures: paths to the course files and a cache of graded submissions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from grader.grading import grade_submission
from grader.results import AssignmentResult
from grader.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GAP = FIXTURES / "gap"

collect_ignore_glob = ["fixtures/*"]  # student files: never imported by pytest (one loops forever)

_graded: dict[tuple[str, float], AssignmentResult] = {}


def graded(path: Path, assignment: str = "gap", timeout: float = 120.0) -> AssignmentResult:
    """Grade one file (once per test session) and return its assignment result."""
    key = (str(path), timeout)
    if key not in _graded:
        result = grade_submission(path, [assignment], Limits(timeout=timeout))
        _graded[key] = result.assignments[0]
    return _graded[key]


def load_solution(name: str) -> ModuleType:
    """A fresh copy of a reference solution module (tests may patch it freely)."""
    spec = importlib.util.spec_from_file_location(f"solution_{name}", ROOT / "solutions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def failed_categories(result: AssignmentResult) -> set[str]:
    return {c.category for c in result.checks if not c.passed and c.max_score > 0}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
