"""The reference artifact: the reference solution's measurements, computed once and cached on disk.

The cache key is the hash of the solution file and of the grader's own source, so editing either recomputes
it, and grading a class computes it once, never per student.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import grader
from grader import locations, timing
from grader.errors import GraderError
from grader.registry import Rubric
from grader.runner import run_probes
from grader.sandbox.limits import Limits
from grader.submission import load


def _key(solution: Path) -> str:
    digest = hashlib.sha256(grader.__version__.encode())
    digest.update(solution.read_bytes())
    for path in sorted(locations.PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(locations.PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def artifact_path(rubric: Rubric, profile: str = "quick") -> Path:
    """Where the reference artifact of `rubric` under `profile` is cached (it may not exist yet)."""
    course = locations.course()
    solution = course.solution(rubric.name)
    if solution is None:
        raise GraderError(f"no reference solution for '{rubric.name}' in {_where(course)}")
    return course.cache / f"{rubric.name}-{profile}-{_key(solution)}.json"


def release_artifact_name(rubric: Rubric, profile: str = "quick") -> str:
    """The file name of the reference measurements shipped in a student release (the visible checks' only)."""
    return f"{rubric.name}-{profile}-release.json"


def _where(course: locations.Course) -> str:
    place = course.root or course.solutions or "the installed package"
    return (f"the course found by {course.how} ({place}); run grade in the course folder (its pyproject.toml has a "
            "[tool.cnn-grader] table) or pass --course DIR")


def reference_measurements(rubric: Rubric, profile: str = "quick") -> dict[str, dict[str, Any]]:
    """The reference's measurements for every probe of `rubric`, from the cache or computed now."""
    course = locations.course()
    solution = course.solution(rubric.name)
    if solution is None:
        released = course.shipped / release_artifact_name(rubric, profile) if course.shipped else None
        if released is not None and released.is_file():  # a student release: visible checks only, no solution
            return json.loads(released.read_text())
        raise GraderError(f"no reference solution or shipped reference artifact for '{rubric.name}' "
                          f"(profile {profile}) in {_where(course)}")
    path = artifact_path(rubric, profile)
    if path.is_file():
        cached = json.loads(path.read_text())
        if set(cached) == set(rubric.probes):  # else written by another version of the rubric: compute again
            return cached
    start = time.monotonic()
    measured = _compute(rubric, solution, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    timing.record(path, time.monotonic() - start)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(measured, indent=1, sort_keys=True))
    tmp.replace(path)
    return measured


def _compute(rubric: Rubric, solution: Path, profile: str) -> dict[str, dict[str, Any]]:
    outcomes, problem = run_probes(rubric, load(solution, rubric.name), solution.parent, Limits(timeout=900),
                                   reference=True, profile=profile)
    measured: dict[str, dict[str, Any]] = {}
    failed = {}
    for probe_id, outcome in outcomes.items():
        if rubric.probes[probe_id].expects_error:
            if outcome.error is None:
                failed[probe_id] = "expected an error, got a model"
            measured[probe_id] = {"error": outcome.error}
        elif outcome.measured is None:
            failed[probe_id] = outcome.error or f"returned {outcome.returned}"
        else:
            measured[probe_id] = outcome.measured
    if problem or failed:
        raise GraderError(f"the reference solution for '{rubric.name}' failed: {problem or failed}")
    return measured
