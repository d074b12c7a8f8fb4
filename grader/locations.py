"""Where things live: the course (reference solutions, stubs), the reference artifacts, the caches.

The one module that knows paths. A course is found, in this order:

1. explicitly: `grade --course DIR` or the environment variable `GRADER_COURSE`;
2. from the working folder or one above it: a `pyproject.toml` with a `[tool.cnn-grader]` table;
3. from the installed package's data (`grader/course/`: the solutions of an instructor's wheel, the visible
   reference artifacts of a student release), read with `importlib.resources`;
4. from a source checkout: the folder above the `grader` package, when its `pyproject.toml` has the table.

`GRADER_SOLUTIONS` and `GRADER_CACHE` still name those two folders directly (the Gradescope autograder sets them).
Caches (computed reference artifacts, training runs, data) go to the course's `.grader-cache/` when it can be
written, else to the user's cache folder (`$XDG_CACHE_HOME/cnn-grader`, by default `~/.cache/cnn-grader`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent
"""The `grader` package itself (its source is hashed into the reference artifacts' key)."""

MARKER = "cnn-grader"  # the `[tool.cnn-grader]` table of a course's pyproject.toml
_CACHE_NAME = ".grader-cache"


@dataclass(frozen=True)
class Course:
    """The folders of one course; any of them may be missing (a student release has no solutions)."""

    how: str  # how it was found, for messages: "--course", "working folder", "installed package", "checkout"
    root: Path | None  # the course folder, when there is one
    solutions: Path | None  # <assignment>.py reference solutions
    assignments: Path | None  # the student stubs and notebooks
    shipped: Path | None  # read-only reference artifacts shipped with the course (a student release's)
    cache: Path  # writable: computed reference artifacts, training runs, data

    def solution(self, name: str) -> Path | None:
        """The reference solution of assignment `name`, or None when this course has none."""
        path = self.solutions / f"{name}.py" if self.solutions else None
        return path if path is not None and path.is_file() else None

    def hidden(self) -> list[Path]:
        """What student code must never read: solutions, artifacts, caches, hidden rubrics, tests, history."""
        paths = [p for p in (self.solutions, self.shipped, self.cache, PACKAGE / "rubrics", PACKAGE / "course")
                 if p is not None]
        for root in {self.root, PACKAGE.parent} - {None}:
            paths += [root / "tests", root / ".git", root / "benchmarks", root / _CACHE_NAME]  # type: ignore[operator]
        return paths


def course() -> Course:
    """The course the grader works on now (see the module's docstring for the order)."""
    from grader import settings

    explicit = settings.current().course
    if explicit:
        root = Path(explicit).resolve()
        if not root.is_dir():
            from grader.errors import UsageError

            raise UsageError(f"the course folder {explicit} does not exist (from --course or GRADER_COURSE)")
        return _with_overrides(_folder(root, "--course"))
    marked = find_marked(Path.cwd())
    if marked is not None:
        return _with_overrides(_folder(marked, "working folder"))
    packaged = _packaged()
    if packaged is not None:
        return _with_overrides(packaged)
    if is_course(PACKAGE.parent):
        return _with_overrides(_folder(PACKAGE.parent, "checkout"))
    return _with_overrides(Course("nothing found", None, None, None, None, user_cache()))


def find_marked(start: Path) -> Path | None:
    """The nearest folder at or above `start` whose pyproject.toml has a `[tool.cnn-grader]` table."""
    for folder in (start.resolve(), *start.resolve().parents):
        if is_course(folder):
            return folder
    return None


def is_course(folder: Path) -> bool:
    """Whether `folder/pyproject.toml` marks a course (a `[tool.cnn-grader]` table)."""
    try:
        with open(folder / "pyproject.toml", "rb") as f:
            return MARKER in tomllib.load(f).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False


def _settings(root: Path) -> dict[str, str]:
    with open(root / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"][MARKER]


def _folder(root: Path, how: str) -> Course:
    settings = _settings(root) if is_course(root) else {}
    solutions = root / settings.get("solutions", "solutions")
    assignments = root / settings.get("assignments", "assignments")
    cache = root / settings.get("cache", _CACHE_NAME)
    return Course(how, root, solutions if solutions.is_dir() else None,
                  assignments if assignments.is_dir() else None, _shipped(), writable(cache))


def _packaged() -> Course | None:
    data = resources.files("grader") / "course"
    if not isinstance(data, Path) or not data.is_dir():
        return None
    solutions = data / "solutions"
    return Course("installed package", None, solutions if solutions.is_dir() else None, None, _shipped(),
                  user_cache())


def _shipped() -> Path | None:
    data = resources.files("grader") / "course" / "artifacts"
    return data if isinstance(data, Path) and data.is_dir() else None


def _with_overrides(found: Course) -> Course:
    solutions, cache = os.environ.get("GRADER_SOLUTIONS"), os.environ.get("GRADER_CACHE")
    return Course(found.how, found.root, Path(solutions) if solutions else found.solutions, found.assignments,
                  found.shipped, Path(cache) if cache else found.cache)


def user_cache() -> Path:
    """The user's own cache folder for the grader (XDG)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnn-grader"


def writable(cache: Path) -> Path:
    """`cache` if it can be made and written, else the user's cache folder."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return user_cache()
    return cache if os.access(cache, os.W_OK) else user_cache()
