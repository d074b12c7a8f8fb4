"""Shared fixtures: paths to the course files and a cache of graded submissions."""

from __future__ import annotations

import importlib
import importlib.util
import os
import site
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from grader.grading import _assignments_of, grade_submission
from grader.results import AssignmentResult, SubmissionResult
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GAP = FIXTURES / "gap"

collect_ignore_glob = ["fixtures/*"]  # student files: never imported by pytest (one loops forever)

# `make check`, the quick tier, is `pytest -m quick`: the tests marked `quick`, which may start no child and import
# no TensorFlow, Keras or JAX. Chosen by the marker alone; under it the rule is enforced (a test that breaks it fails,
# it does not slow the tier down silently) and the modules that hold no quick test are not even collected.
_HEAVY = ("tensorflow", "keras", "jax")
quick_tier = False


def pytest_configure(config: pytest.Config) -> None:
    global quick_tier
    quick_tier = (config.getoption("markexpr", "") or "").strip() == "quick"
    if quick_tier:
        import importlib.abc

        class _Heavy(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in _HEAVY:
                    raise ImportError(f"the quick tier imports no {name}: mark the test that needs it as not quick")

        sys.meta_path.insert(0, _Heavy())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The quick tier does not even import the modules that hold no quick test."""
    if quick_tier and collection_path.suffix == ".py" and collection_path.name != "conftest.py":
        if ROOT / "tests" in collection_path.parents:
            return "mark.quick" not in collection_path.read_text()
        return collection_path.name != "submission.py"  # the package's doctests: only submission's are quick
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Doctests of modules that need no Keras belong to the quick tier. With several workers (`make test`,
    `--dist loadgroup`), the tests that share gradings run in one worker, which grades each fixture once: an
    assignment's table rows (test_rubrics.py) with its own module, every other module as a whole."""
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.path.name == "submission.py":
            item.add_marker(pytest.mark.quick)
        if item.get_closest_marker("xdist_group") is None:
            params = getattr(getattr(item, "callspec", None), "params", {})
            stem = item.path.stem
            if stem == "test_rubrics":
                group = f"rubric-{params['assignment']}"
            elif stem.endswith("_rubric"):
                group = f"rubric-{stem.removeprefix('test_').removesuffix('_rubric')}"
            else:
                group = stem
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionstart(session: pytest.Session) -> None:
    """With several test workers (`make test`), compute the reference artifacts not cached yet once, two at a
    time, before the workers start: else each worker would compute the same ones."""
    if hasattr(session.config, "workerinput") or not getattr(session.config.option, "numprocesses", None):
        return
    from grader.batch import reference_first

    reference_first(None, "quick", jobs=2)

_results: dict[tuple, SubmissionResult] = {}


def grade_once(path: Path, assignments: list[str] | None = None, limits: Limits | None = None,
               profile: str = "quick", trust_custom_layers: bool = False, only_present: bool = False
               ) -> SubmissionResult:
    """`grade_submission`, but each fixture is graded once per test run: the tests assert on the shared result."""
    path = Path(path)
    names = tuple(_assignments_of(path, assignments)) if path.exists() else tuple(assignments or ())
    key = (str(path.resolve()), names, limits or Limits(), profile, trust_custom_layers, only_present)
    if key not in _results:
        _results[key] = grade_submission(path, assignments, limits, profile, trust_custom_layers, only_present)
    return _results[key]


def graded(path: Path, assignment: str = "gap", timeout: float = 120.0) -> AssignmentResult:
    """Grade one file (once per test run) and return its assignment result."""
    return grade_once(path, [assignment], Limits(timeout=timeout)).assignments[0]


@pytest.fixture(autouse=True)
def no_child(monkeypatch) -> None:
    """In the quick tier, starting a child is an error."""
    if not quick_tier:
        return
    import grader.sandbox.supervise

    def refuse(*args, **kwargs):
        raise AssertionError("the quick tier starts no child: mark the test that needs one as not quick")

    monkeypatch.setattr(grader.sandbox.supervise, "run_child", refuse)


@pytest.fixture(autouse=True)
def fresh_settings():
    """What a command line chose (`--course`, `--backend`) ends with its test, as it ends with its process."""
    from grader import settings

    yield
    settings.use(None)


@pytest.fixture
def shared_grading(monkeypatch) -> None:
    """`grade` through the command line reuses each fixture's one grading of this test run."""
    import grader.grading

    monkeypatch.setattr(grader.grading, "grade_submission", grade_once)


class _LazyModule(ModuleType):
    """A module imported when first used (`lazy_module`)."""

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "pytestmark":  # what pytest looks for on every name of a test module
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__name__), name)


def lazy_module(name: str) -> ModuleType:
    """`name` (Keras, say), imported by the first test that reads from it: collecting the suite imports no
    TensorFlow, and the quick tier may hold such modules."""
    return _LazyModule(name)


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


def installed(project: Path, venv: Path) -> Path:
    """Build a wheel of `project` and install it, not editable, into a new virtual environment at `venv` that
    reuses this environment's packages (TensorFlow and the rest) but not its grader; returns the venv's bin/."""
    wheels = venv.parent / f"{venv.name}-wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(project)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = next(venv.glob("lib/python3*/site-packages"))
    (packages / "reuse.pth").write_text("\n".join(site.getsitepackages()) + "\n")  # appended after its own
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", *map(str, wheels.glob("*.whl"))], check=True, capture_output=True)
    return venv / "bin"


def clean_environment(home: Path) -> dict[str, str]:
    """This process's environment without the grader's settings, with its own home and cache folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
