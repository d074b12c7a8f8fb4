"""PrairieLearn's results.json (`grader.reports.prairielearn`) and its external grader (`grade prairielearn`): the
fields its documentation gives, within its 1 MB, `gradable: false` where nothing could be graded, and the entry point
run as PrairieLearn runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT
from grader.reports import prairielearn
from grader.results import AssignmentResult, CheckResult, SubmissionResult

# PrairieLearn's fields (docs/externalGrading.md, "Grading results"), top level and per test.
TOP = {"gradable": bool, "score": float, "message": str, "output": str, "tests": list, "images": list,
       "format_errors": (str, list), "points": (int, float), "max_points": (int, float)}
TEST = {"name": str, "description": str, "points": (int, float), "max_points": (int, float), "message": str,
        "output": str, "images": list}


def _check(passed: bool, points: float = 2, category: str = "params", output: str = "", hidden: bool = False,
           data: dict | None = None) -> CheckResult:
    return CheckResult("gap", category, f"a {category} check", points if passed else 0, points, passed, output,
                       hidden, data)


def _result(*checks: CheckResult) -> SubmissionResult:
    return SubmissionResult("gap.py", (AssignmentResult("gap", "gap.py", checks, 1.0),), 1.0)


def _valid(report: dict) -> None:
    assert all(isinstance(report[k], TOP[k]) for k in report), {k: type(v) for k, v in report.items()}
    for test in report.get("tests", []):
        assert set(test) <= set(TEST) and all(isinstance(test[k], TEST[k]) for k in test), test
    if report.get("gradable", True):
        assert 0.0 <= report["score"] <= 1.0


@pytest.mark.quick
def test_the_score_is_a_fraction_and_each_check_a_test_with_its_points() -> None:
    result = _result(_check(True, 0, "load"), _check(True, 3), _check(False, 1, "shape", "expected (batch, 10)"),
                     _check(False, 2, "values", "hidden check: failed. gap_head ignores kernel_size.", hidden=True))
    report = json.loads(prairielearn.render(result))
    _valid(report)
    assert report["gradable"] is True and report["score"] == pytest.approx(3 / 6)
    assert (report["points"], report["max_points"]) == (3, 6)
    failed = report["tests"][2]
    assert failed == {"name": "gap/shape: a shape check", "description": "a shape check", "points": 0,
                      "max_points": 1, "message": "failed", "output": "expected (batch, 10)"}
    assert report["tests"][3]["output"] == "hidden check: failed. gap_head ignores kernel_size."
    assert report["message"].startswith("**Score: 3 / 6**")


@pytest.mark.quick
def test_nothing_graded_is_not_gradable_and_says_why() -> None:
    unloaded = _result(_check(False, 0, "load", "gap.py: line 3: invalid syntax"), _check(False, 2))
    report = json.loads(prairielearn.render(unloaded))
    _valid(report)
    assert report["gradable"] is False and "score" not in report
    assert report["format_errors"] == ["gap: gap.py: line 3: invalid syntax"]


@pytest.mark.quick
def test_the_results_stay_within_a_megabyte() -> None:
    huge = "x" * 400_000
    result = _result(*[_check(False, 1, "values", huge) for _ in range(5)])
    text = prairielearn.render(result)
    assert len(text.encode()) <= prairielearn.MAX_BYTES
    report = json.loads(text)
    assert all(t["output"].endswith("(cut to keep the results within 1 MB)") for t in report["tests"])


def test_the_entry_point_grades_the_students_files_as_prairielearn_runs_it(tmp_path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    made = CliRunner().invoke(main, ["prairielearn", "--out", str(tmp_path / "pl"), "-a", "gap"])
    assert made.exit_code == 0, made.output
    home = tmp_path / "pl" / "image" / "cnn-grader"
    options = json.loads((tmp_path / "pl" / "questions" / "gap" / "info.json").read_text())["externalGradingOptions"]
    assert options["entrypoint"] == "/cnn-grader/run gap" and 30 <= options["timeout"] <= 600
    assert "COPY cnn-grader /cnn-grader" in (tmp_path / "pl" / "image" / "Dockerfile").read_text()
    assert {p.name for p in (home / "solutions").iterdir()} == {"gap.py"}
    assert list((home / ".grader-cache").glob("gap-quick-*.json"))
    corrupt = FIXTURES / "gap" / "gap_corrupt.ipynb"
    for name, source in (("solved", ROOT / "solutions" / "gap.py"), ("corrupt", corrupt)):
        job = tmp_path / name
        (job / "student").mkdir(parents=True)
        (job / "student" / ("gap" + source.suffix)).write_bytes(source.read_bytes())
        env = {**os.environ, "GRADE_ROOT": str(job), "GRADER_PYTHON": sys.executable, "GRADER_SERVICE": "0"}
        done = subprocess.run([str(home / "run"), "gap"], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads((job / "results" / "results.json").read_text())
        _valid(report)
        if name == "solved":
            assert report["gradable"] and report["score"] == 1.0 and len(report["tests"]) == 17
        else:
            assert report["gradable"] is False and report["format_errors"][0].startswith("gap: "), report
            assert "gap.ipynb" in report["format_errors"][0]
    broken = tmp_path / "broken"  # the grader cannot even start: a valid result all the same, no attempt counted
    (broken / "student").mkdir(parents=True)
    env = {**os.environ, "GRADE_ROOT": str(broken), "GRADER_PYTHON": str(tmp_path / "no-python")}
    subprocess.run([str(home / "run"), "gap"], env=env, capture_output=True, timeout=60, check=True)
    report = json.loads((broken / "results" / "results.json").read_text())
    assert report == {"gradable": False, "format_errors": [
        "The autograder could not grade this submission (exit status 127); please tell the course staff."]}
