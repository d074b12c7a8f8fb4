"""Integrity on a busy machine: what the grader fails at is never a student's zero, a hang ends, and children of
different students share nothing per user."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from click.testing import CliRunner

from conftest import ROOT
from grader.cli import main
from grader.grading import grade_submission
from grader.reference import reference_measurements
from grader.rubrics import RUBRICS
from grader.sandbox import supervise


def _exits_at_once(*args, **kwargs):
    """A stand-in for the fork server whose child could not become the child: it exits 70 and says nothing."""
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(70)"], stdin=subprocess.PIPE,
                            start_new_session=True)


def test_a_child_that_never_began_is_tried_again_in_a_fresh_interpreter(tmp_path, monkeypatch) -> None:
    from grader import forkserver

    reference_measurements(RUBRICS["convolution"])  # before: its own child is not the one counted
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")
    forks = []
    real = supervise._run

    def counting(*args, **kwargs):
        forks.append(args[5])
        return real(*args, **kwargs)

    monkeypatch.setattr(forkserver, "enabled", lambda: True)
    monkeypatch.setattr(forkserver, "spawn", _exits_at_once)
    monkeypatch.setattr(supervise, "_run", counting)
    result = grade_submission(tmp_path, ["convolution"]).assignments[0]
    assert result.score == result.max_score == 17, result.checks[0].output
    assert forks == [True, False]


def test_a_child_that_cannot_start_at_all_is_a_grader_failure_not_a_zero(tmp_path, monkeypatch) -> None:
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")

    def never_starts(job, workdir, scratch, limits, on_message, fork=True):
        return supervise.ChildRun(exit_code=70)

    monkeypatch.setattr(supervise, "_run", never_starts)
    outcome = CliRunner().invoke(main, [str(tmp_path), "-a", "convolution", "--json", str(tmp_path / "r.json")])
    assert outcome.exit_code == 3, outcome.output
    assert "did not start, twice" in outcome.output and "exit status 70" in outcome.output
    assert not (tmp_path / "r.json").exists()  # no score was written for the student

    from grader.batch import Student, _grade_one, _graded
    from grader.sandbox import Limits

    (tmp_path / "out" / "results").mkdir(parents=True)
    (tmp_path / "class" / "erin").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "class" / "erin" / "convolution.py")
    _grade_one(Student("erin", tmp_path / "class" / "erin"), str(tmp_path / "out"), ["convolution"], Limits(),
               "quick", 1)
    report = json.loads((tmp_path / "out" / "results" / "erin.json").read_text())
    assert "did not start" in report["extra_data"]["grader_error"]
    assert not _graded(tmp_path / "out" / "results" / "erin.json")  # graded again on the next run
