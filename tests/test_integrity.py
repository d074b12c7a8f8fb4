"""Integrity on a busy machine: what the grader fails at is never a student's zero, a hang ends, and children of
different students share nothing per user."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import zipfile

import psutil
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT
from grader.cli import main
from grader.grading import grade_submission
from grader.reference import reference_measurements
from grader.rubrics import RUBRICS
from grader.sandbox import isolation, supervise
from grader.sandbox.isolation import CHILD_UIDS

HOSTILE = FIXTURES / "hostile"


def _exits_at_once(*args, **kwargs):
    """A stand-in for the fork server whose child could not become the child: it exits 70 and says nothing."""
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(70)"], stdin=subprocess.PIPE,
                            start_new_session=True)


def test_a_child_that_never_began_is_tried_again_in_a_fresh_interpreter(tmp_path, monkeypatch) -> None:
    from grader.sandbox import forked

    reference_measurements(RUBRICS["convolution"])  # before: its own child is not the one counted
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")
    forks = []
    real = supervise._run

    def counting(*args, **kwargs):
        forks.append(args[5])
        return real(*args, **kwargs)

    monkeypatch.setattr(forked, "enabled", lambda: True)
    monkeypatch.setattr(forked, "spawn", _exits_at_once)
    monkeypatch.setattr(supervise, "_run", counting)
    result = grade_submission(tmp_path, ["convolution"]).assignments[0]
    assert result.score == result.max_score == 17, result.checks[0].output
    assert forks == [True, False, True, False]  # the visible calls' child, then the hidden calls'


def test_a_child_that_cannot_start_at_all_is_a_grader_failure_not_a_zero(tmp_path, monkeypatch) -> None:
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")

    def never_starts(*args, **kwargs):
        return supervise.ChildRun(exit_code=70)

    monkeypatch.setattr(supervise, "_run", never_starts)
    outcome = CliRunner().invoke(main, [str(tmp_path), "-a", "convolution", "--json", str(tmp_path / "r.json")])
    assert outcome.exit_code == 3, outcome.output
    assert "did not start, twice" in outcome.output and "exit status 70" in outcome.output
    assert not (tmp_path / "r.json").exists()  # no score was written for the student

    from grader.batch import _grade_one, _graded
    from grader.sandbox.limits import Limits
    from grader.submission import Student

    (tmp_path / "out" / "results").mkdir(parents=True)
    (tmp_path / "class" / "erin").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "class" / "erin" / "convolution.py")
    _grade_one(Student("erin", tmp_path / "class" / "erin"), str(tmp_path / "out"), ["convolution"], Limits(),
               "quick", 1)
    report = json.loads((tmp_path / "out" / "results" / "erin.json").read_text())
    assert "did not start" in report["extra_data"]["grader_error"]
    assert not _graded(tmp_path / "out" / "results" / "erin.json")  # graded again on the next run


_JAILED = pytest.mark.skipif(not isolation.current().namespaces,
                             reason="needs root and namespaces (as on CI and Gradescope)")


@_JAILED
def test_a_child_that_holds_its_whole_thread_limit_costs_another_student_nothing(tmp_path) -> None:
    """Linux counts threads per user (RLIMIT_NPROC): each child has a user of its own."""
    for name, source in (("hog", HOSTILE / "gap_holds_threads.py"), ("honest", ROOT / "solutions" / "gap.py")):
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / "gap.py")
    grade = [sys.executable, "-m", "grader"]
    hog = subprocess.Popen([*grade, str(tmp_path / "hog"), "-a", "gap", "-q", "--timeout", "120"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _holding_threads(3000):
            time.sleep(0.5)
        assert _holding_threads(3000), "the hostile child never held its threads"
        honest = subprocess.run([*grade, str(tmp_path / "honest"), "-a", "gap", "-q", "--json",
                                 str(tmp_path / "honest.json")], cwd=ROOT, capture_output=True, text=True,
                                timeout=600)
        assert _holding_threads(3000), "the hostile child let go before the honest one was graded"
    finally:
        hog.kill()
        hog.wait()
    assert honest.returncode == 0, honest.stdout + honest.stderr[-2000:]
    report = json.loads((tmp_path / "honest.json").read_text())
    assert report["score"] == report["max_score"] == 23


def _holding_threads(count: int) -> bool:
    for process in psutil.process_iter(["num_threads", "uids"]):
        uids = process.info.get("uids")
        if uids and uids.real in CHILD_UIDS and (process.info.get("num_threads") or 0) >= count:
            return True
    return False


# Kills the grader at a stage of grading a submission whose code starts a process of its own that sleeps with a
# marker on its command line, then loops: afterwards nothing of the submission may be left.
_LEAVES_A_SLEEPER = '''
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{marker}"])
while True:
    time.sleep(0.01)
'''


@_JAILED
@pytest.mark.parametrize(("stage", "fork"), [("importing", True), ("running the code", True),
                                             ("at the time limit", True), ("running the code", False)])
def test_nothing_of_the_submission_outlives_a_killed_grader(tmp_path, stage: str, fork: bool) -> None:
    marker = f"grader-kill-test-{uuid.uuid4().hex}"
    (tmp_path / "gap.py").write_text(_LEAVES_A_SLEEPER.format(marker=marker))
    env = {**os.environ, **({} if fork else {"GRADER_NO_FORKSERVER": "1"})}
    grader = subprocess.Popen([sys.executable, "-m", "grader", str(tmp_path), "-a", "gap", "-q", "--timeout", "20"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if stage == "importing":
            time.sleep(3)
        else:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not _with_marker(marker):
                time.sleep(0.2)
            assert _with_marker(marker), "the submission's code never ran"
            if stage == "at the time limit":
                time.sleep(19.5)
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _with_marker(marker):
        time.sleep(0.2)
    assert not _with_marker(marker), f"left behind after the grader was killed {stage}"


def _with_marker(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in (process.info.get("cmdline") or []):
            found.append(process)
    return found


def test_a_limit_that_follows_a_slow_machine_stops_at_its_share_of_the_budget(tmp_path, monkeypatch) -> None:
    """On a machine so busy that the slowdown would allow 15 minutes an assignment, the platform's budget wins."""
    import grader.grading
    from grader import timing
    from grader.sandbox.limits import Limits

    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")
    used = []
    real = grader.grading.run_assignments

    def recording(sources, folder, limits, **kwargs):
        used.append(limits.timeout)
        return real(sources, folder, limits, **kwargs)

    monkeypatch.setattr(timing, "limit", lambda floor, records: (900.0, 7.5))
    monkeypatch.setattr(grader.grading, "run_assignments", recording)
    for budget, expected in ((600.0, 300.0), (200.0, 150.0), (None, timing.CEILING)):
        result = grade_submission(tmp_path, ["convolution"], Limits(follow_machine=True, budget=budget))
        assert used[-1] == expected == result.extra["time_limit_s"] == result.extra["time_limit_ceiling_s"]
        assert result.extra["machine_slowdown"] == 7.5 and result.assignments[0].score == 17
    # A limit given on the command line is taken as given.
    result = grade_submission(tmp_path, ["convolution"], Limits(timeout=900.0, budget=200.0))
    assert used[-1] == 900.0 and result.extra["time_limit_ceiling_s"] is None


def test_nan_outputs_fail_the_value_checks_and_say_why() -> None:
    from conftest import graded

    result = graded(HOSTILE / "gap_nan_outputs.py")
    probabilities = [c for c in result.checks if c.category == "values"]
    assert probabilities and not any(c.passed for c in probabilities)
    assert all("not finite numbers" in c.output and "NaN" in c.output for c in probabilities if not c.hidden)
    invariance = [c for c in result.checks if c.category == "invariance"]
    assert invariance and not any(c.passed for c in invariance)


@pytest.mark.quick
def test_a_students_name_is_never_a_path_and_two_sources_for_one_name_are_refused(tmp_path) -> None:
    from grader.errors import UsageError
    from grader.submission import students

    root = tmp_path / "class"
    root.mkdir()
    zipfile.ZipFile(root / "...zip", "w").close()
    (root / "alice").mkdir()
    (root / "linked").symlink_to(root / "alice")  # a linked folder is not a student of its own
    assert [(s.name, s.path.name) for s in students(root)] == [("__", "...zip"), ("alice", "alice")]
    (root / "erin").mkdir()
    zipfile.ZipFile(root / "erin.zip", "w").close()
    with pytest.raises(UsageError, match="'erin' and 'erin.zip'"):
        students(root)


def test_a_zip_cannot_write_outside_its_students_folder_and_a_planted_result_is_not_trusted(tmp_path) -> None:
    from grader.batch import grade_class

    root, out = tmp_path / "class", tmp_path / "out"
    for name in ("alice", "bob"):
        (root / name).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / "convolution.py", root / name / "convolution.py")
    (root / "bob" / "convolution.py").write_text("")  # bob hands in nothing: 0
    forged = json.dumps({"score": 17, "max_score": 17, "tests": [], "output": "",
                         "extra_data": {"assignments": {"convolution": {"score": 17, "max_score": 17}}}})
    with zipfile.ZipFile(root / "...zip", "w") as bundle:  # its name would have been "..": the output folder
        bundle.writestr("results/bob.json", forged)
        bundle.writestr("feedback/alice/feedback.html", "<script>alert(1)</script>")
        bundle.writestr("convolution.py", (ROOT / "solutions" / "convolution.py").read_text())
    grade_class(root, out, assignments=["convolution"])
    scores = {p.stem: json.loads(p.read_text())["score"] for p in (out / "results").glob("*.json")}
    assert scores == {"alice": 17, "bob": 0, "__": 17}
    assert "<script>" not in (out / "feedback" / "alice" / "feedback.html").read_text()
    assert not (out / "unpacked" / "results").exists() and (out / "unpacked" / "__" / "results" / "bob.json").exists()
    # A result file that grade batch did not write for that student is graded again on a resumed run.
    (out / "results" / "bob.json").write_text(forged)
    summary = grade_class(root, out, assignments=["convolution"])
    assert summary["graded"] == ["bob"] and json.loads((out / "results" / "bob.json").read_text())["score"] == 0
    with open(out / "grades.csv") as f:
        assert {row["student"]: row["total"] for row in csv.DictReader(f)} == {"__": "17", "alice": "17", "bob": "0"}
