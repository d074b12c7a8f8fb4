"""The `grade` command through Click: exit statuses, the JSON report, usage errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from conftest import GAP, ROOT
from grader.cli import main

pytestmark = pytest.mark.usefixtures("shared_grading")


def test_json_report_has_gradescope_fields_and_test_names(tmp_path) -> None:
    target = tmp_path / "results.json"
    outcome = CliRunner().invoke(main, [str(GAP / "gap_no_softmax.py"), "--json", str(target),
                                        "--junit", str(tmp_path / "junit.xml")])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(target.read_text())
    assert {"score", "max_score", "execution_time", "tests", "extra_data"} <= set(data)
    assert data["max_score"] == 23 and 0 < data["score"] < 23
    assert all(t["name"].startswith("gap/") and ": " in t["name"] for t in data["tests"])
    assert {t["status"] for t in data["tests"]} == {"passed", "failed"}
    assert data["extra_data"]["assignments"]["gap"]["file"] == "gap_no_softmax.py"
    assert "FAIL" in outcome.output and "values: build_lenet_gap outputs class probabilities" in outcome.output

    # The same run as JUnit XML: one case per check, the failures with their messages, hidden ones kept hidden.
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(data["tests"])
    assert int(suite.get("failures")) == sum(t["status"] == "failed" for t in data["tests"])
    failure = next(c for c in cases if c.get("classname") == "gap.values").find("failure")
    assert "not probabilities" in failure.get("message") or "probabilit" in failure.text
    hidden = [t["output"] for t in data["tests"] if t["visibility"] == "after_due_date"]
    assert hidden and all(o.startswith("hidden check") for o in hidden)


def test_fail_under_exits_1_below_the_threshold() -> None:
    outcome = CliRunner().invoke(main, [str(GAP / "gap_no_softmax.py"), "--fail-under", "95", "-q"])
    assert outcome.exit_code == 1
    outcome = CliRunner().invoke(main, [str(ROOT / "solutions" / "gap.py"), "--fail-under", "95", "-q"])
    assert outcome.exit_code == 0


@pytest.mark.quick
def test_missing_path_is_a_usage_error(tmp_path) -> None:
    outcome = CliRunner().invoke(main, [str(tmp_path / "nowhere")])
    assert outcome.exit_code == 2
    assert "no such file or folder" in outcome.output


@pytest.mark.quick
def test_folder_without_assignment_files_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    outcome = CliRunner().invoke(main, [str(tmp_path)])
    assert outcome.exit_code == 2
    assert "no assignment file found" in outcome.output


@pytest.mark.quick
def test_unknown_assignment_is_a_usage_error() -> None:
    outcome = CliRunner().invoke(main, [str(ROOT / "solutions" / "gap.py"), "--assignment", "lenet"])
    assert outcome.exit_code == 2
    assert "unknown assignment 'lenet'" in outcome.output


def test_two_candidate_files_are_a_load_failure_naming_both(tmp_path) -> None:
    (tmp_path / "gap.py").write_text("x = 1\n")
    (tmp_path / "Gap (1).py").write_text("x = 2\n")
    outcome = CliRunner().invoke(main, [str(tmp_path)])
    assert outcome.exit_code == 0
    assert "gap.py" in outcome.output and "Gap (1).py" in outcome.output
    assert "0 / 23" in outcome.output


@pytest.mark.quick
def test_help_lists_the_options() -> None:
    outcome = CliRunner().invoke(main, ["run", "--help"])
    assert outcome.exit_code == 0
    for option in ("--json", "--assignment", "--timeout", "--memory", "--fail-under"):
        assert option in outcome.output


@pytest.mark.quick
def test_every_subcommand_has_one_error_boundary(monkeypatch, tmp_path) -> None:
    """A grader error exits with its own status and one line; anything else is a bug in the grader: exit 3 and
    the banner, whatever the subcommand."""
    import grader.package
    import grader.validate
    from grader.errors import GraderError

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(grader.validate, "validate", broken)
    outcome = CliRunner().invoke(main, ["validate", "-a", "gap"])
    assert outcome.exit_code == 3 and "bug in the grader" in outcome.output and "KeyError" in outcome.output

    def refused(*args, **kwargs):
        raise GraderError("the artifact could not be written")

    monkeypatch.setattr(grader.package, "gradescope_zip", refused)
    outcome = CliRunner().invoke(main, ["gradescope", "--out", str(tmp_path / "a.zip")])
    assert outcome.exit_code == 3 and outcome.output.strip() == "Error: the artifact could not be written"

    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "gap.py").write_text("def f():\n    # BEGIN SOLUTION\n    return 1\n")
    outcome = CliRunner().invoke(main, ["build", "--solutions", str(tmp_path / "solutions")])
    assert outcome.exit_code == 2 and outcome.output.startswith("Error: ")


@pytest.mark.quick
def test_grade_and_batch_agree_on_the_profile_default() -> None:
    for command in (["run", "--help"], ["batch", "--help"]):
        text = CliRunner().invoke(main, command).output
        assert "quick (CPU; the default without a GPU) or full" in " ".join(text.split())


@pytest.mark.quick
def test_the_shared_grading_takes_what_grade_submission_takes() -> None:
    import inspect

    from conftest import grade_once
    from grader.grading import grade_submission

    assert inspect.signature(grade_once).parameters.keys() == inspect.signature(grade_submission).parameters.keys()


def test_a_student_repository_root_grades_the_work_present_and_lists_the_rest(tmp_path) -> None:
    """`grade .` at the root of a student's repository: the notebook worked in, not its stub .py, not the copy of
    the grader beside it; the assignments not started (no file, or the untouched stub) are listed, not scored,
    unless -a asks for them."""
    import nbformat

    (tmp_path / "assignments").mkdir()
    (tmp_path / "assignments" / "gap.py").write_text((ROOT / "assignments" / "gap.py").read_text())
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell((ROOT / "solutions" / "gap.py").read_text())])
    nbformat.write(notebook, tmp_path / "assignments" / "gap.ipynb")
    (tmp_path / "assignments" / "resnet.py").write_text((ROOT / "assignments" / "resnet.py").read_text())
    (tmp_path / "grader" / "rubrics").mkdir(parents=True)
    (tmp_path / "grader" / "rubrics" / "inception.py").write_text("RUBRIC = None\n")
    summary = tmp_path / "summary.md"
    outcome = CliRunner().invoke(main, [str(tmp_path), "--json", str(tmp_path / "r.json"), "--summary", str(summary),
                                        "--fail-under", "100"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert list(data["extra_data"]["assignments"]) == ["gap"]
    assert data["extra_data"]["assignments"]["gap"]["file"] == "gap.ipynb"
    assert data["score"] == data["max_score"] == 23
    assert data["extra_data"]["missing"] == ["convolution", "classic", "inception", "resnet"]
    missing = "not scored here: convolution, classic, inception, resnet"
    assert missing in outcome.output and missing in summary.read_text()  # resnet: the untouched stub
    heading = str(tmp_path).replace("_", "\\_")  # Markdown, escaped
    assert summary.read_text().startswith(f"## Grading {heading}\n\n**Score: 23 / 23** (100%)")
    outcome = CliRunner().invoke(main, [str(tmp_path), "-a", "gap", "-a", "resnet", "-q", "--fail-under", "100"])
    assert outcome.exit_code == 1 and "23 / " in outcome.output and "23 / 23" not in outcome.output
