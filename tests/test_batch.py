"""`grade batch`: a class graded in parallel, resumable, with grades.csv and a summary."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
import zipfile

from click.testing import CliRunner

from conftest import GAP, ROOT
from grader.cli import main


def _class(root):
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "gap.py").write_text((ROOT / "solutions" / "gap.py").read_text())
    (root / "bob").mkdir()
    (root / "bob" / "gap.py").write_text((ROOT / "assignments" / "gap.py").read_text())
    with zipfile.ZipFile(root / "carol.zip", "w") as bundle:
        bundle.write(GAP / "gap_wrong_kernel.py", "carol/gap.py")
        bundle.writestr("../../escaped.py", "print('outside')")  # must not land outside the unpacked folder
    (root / "dave.zip").write_text("not a zip file")


def _tests(path) -> list[tuple]:
    return [(t["name"], t["score"], t["output"]) for t in json.loads(path.read_text())["tests"]]


def test_batch_grades_a_class_in_parallel_and_resumes(tmp_path) -> None:
    root, out = tmp_path / "class", tmp_path / "out"
    _class(root)
    first = CliRunner().invoke(main, ["batch", str(root), "--out", str(out), "--jobs", "2", "-a", "gap"])
    assert first.exit_code == 0, first.output
    assert "graded 4 student(s), skipped 0" in first.output
    with open(out / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["alice"]["gap"] == "23" and rows["alice"]["percent"] == "100.0"
    assert rows["bob"]["total"] == "0"
    assert 0 < float(rows["carol"]["total"]) < 23  # the zip was unpacked and graded
    assert rows["dave"]["total"] == "0" and rows["dave"]["max_score"] == "23"  # same maximum, with a reason
    assert not any(row["grader_error"] for row in rows.values())  # dave's zip is his doing, not the grader's
    assert "not graded" in json.loads((out / "results" / "dave.json").read_text())["output"]
    assert not list(tmp_path.rglob("escaped.py"))
    assert (out / "histogram.png").stat().st_size > 1000
    summary = (out / "summary.md").read_text()
    assert "Class summary: 4 students" in summary and "gap/params: gap\\_head on 16 channels" in summary
    assert re.search(r"\| gap/params: gap\\_head on 16 channels, 10 classes \| \S.* \(\d\) \|", summary)  # the cause

    assert "| alice | 23 | 23 / 23 | 100.0% |" in summary  # the per-student table, e.g. for a CI job's summary
    # Each student's page, and the class index linking to them (dave, whose zip is no zip, has none: the reason).
    assert "Feedback for" in (out / "feedback" / "carol" / "feedback.html").read_text()
    assert (out / "feedback" / "carol" / "feedback.md").read_text().startswith("# Feedback")
    index = (out / "index.html").read_text()
    assert "href='feedback/alice/feedback.html'" in index and "href='feedback/dave/" not in index
    assert "not graded" in index
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["alice:gap", "bob:gap", "carol:gap", "dave:gap"]
    assert suites[3].get("failures") == "1" and suites[0].get("failures") == "0"
    names = [c.get("name") for c in suites[0].findall("testcase")]
    assert names == [c.get("name") for c in suites[2].findall("testcase")]  # stable: no score inside a name
    assert not any(re.search(r"\(\d+/\d+\)", n) for n in names)
    # Each student's result is what grading them alone gives (a worker's fork server, measurements and plots reused).
    for student, folder in (("alice", root / "alice"), ("carol", out / "unpacked" / "carol")):
        alone = tmp_path / f"{student}-alone.json"
        CliRunner().invoke(main, [str(folder), "-a", "gap", "--json", str(alone), "-q"])
        assert _tests(out / "results" / f"{student}.json") == _tests(alone)

    roster = tmp_path / "roster.csv"
    roster.write_text("folder,name,canvas_id,email\nalice,Alice,101,a@uni.edu\nbob,Bob,102,b@uni.edu\n"
                      "carol,Carol,103,c@uni.edu\n")
    again = CliRunner().invoke(main, ["batch", str(root), "--out", str(out), "-a", "gap", "--fail-under", "50",
                                      "--roster", str(roster), "--title", "Lab 2"])
    assert "graded 0 student(s), skipped 4" in again.output
    with open(out / "canvas.csv") as f:
        exported = {row["ID"]: row["Lab 2"] for row in csv.DictReader(f)}
    assert exported["101"] == "23" and exported["102"] == "0" and len(exported) == 3
    assert "not in the roster, so not exported: dave" in again.output
    assert again.exit_code == 1 and "below 50%: bob" in again.output and "alice" not in again.output.split("below")[1]
    assert "(below)" in (out / "summary.md").read_text()
    (out / "results" / "bob.json").unlink()
    resumed = CliRunner().invoke(main, ["batch", str(root), "--out", str(out), "-a", "gap"])
    assert "graded 1 student(s), skipped 3" in resumed.output
    with open(out / "grades.csv") as f:
        assert len(list(csv.DictReader(f))) == 4


def test_a_grader_failure_is_reported_as_such_never_as_the_students_zero(tmp_path, monkeypatch) -> None:
    import grader.batch
    import grader.grading
    from grader.batch import _grade_one, summarize
    from grader.sandbox.limits import Limits
    from grader.submission import Student

    def bug(*args, **kwargs):
        raise AttributeError("a bug in the grader")

    monkeypatch.setattr(grader.grading, "grade_submission", bug)
    (tmp_path / "results").mkdir()
    (tmp_path / "erin").mkdir()
    _grade_one(Student("erin", tmp_path / "erin"), str(tmp_path), ["gap"], Limits(), "quick", 1)
    report = json.loads((tmp_path / "results" / "erin.json").read_text())
    assert report["extra_data"]["grader_error"] == "AttributeError: a bug in the grader"
    assert "course staff" in report["output"] and "bug" not in report["output"]  # the student sees no internals
    summary = summarize(tmp_path, ["erin"])
    assert summary["grader_failures"] == ["erin"]
    with open(tmp_path / "grades.csv") as f:
        assert next(csv.DictReader(f))["grader_error"] == "AttributeError: a bug in the grader"
    assert not grader.batch._graded(tmp_path / "results" / "erin.json")  # graded again on the next run

    monkeypatch.setattr(grader.batch, "grade_class", lambda *a, **k: {"graded": ["erin"], "skipped": 0, **summary})
    outcome = CliRunner().invoke(main, ["batch", str(tmp_path), "--out", str(tmp_path), "-a", "gap"])
    assert outcome.exit_code == 3 and "failed on 1 student(s)" in outcome.output
