"""The Markdown summary a student reads first (Gradescope's top-level output)."""

from __future__ import annotations

import pytest

from grader.reports import gradescope, summary
from grader.results import AssignmentResult, CheckResult, SubmissionResult

pytestmark = pytest.mark.quick

CURVES = {"student": {"val_curve": [0.3, 0.5], "train_loss": 1.2345}, "reference": {"val_curve": [0.6, 0.8, 0.9],
                                                                                    "train_loss": 0.4}}


def _result(hidden: bool = True) -> SubmissionResult:
    checks = (
        CheckResult("gap", "load", "the file runs", 0, 0, True, ""),
        CheckResult("gap", "params", "gap_head | 10 classes", 0, 2, False, "expected 4,010, found 1,450.\nLayers: ..."),
        CheckResult("gap", "layers", "gap_head structure", 0, 2, False, "expected 4,010, found 1,450.\nother"),
        CheckResult("gap", "training", "LeNet-GAP learns", 0, 3, False, "reached 50% <b>slowly</b>", data={
            "curves": CURVES}),
        CheckResult("gap", "params", "secret", 1, 1, True, "hidden check: passed", hidden=hidden),
    )
    return SubmissionResult("alice", (AssignmentResult("gap", "gap.ipynb", checks, 3.0),), 3.0,
                            {"missing": ["resnet"]})


def test_the_summary_gives_scores_causes_curves_and_what_the_total_includes() -> None:
    text = summary.markdown(_result())
    assert text.startswith("**Score: 1 / 8** (12%)")
    assert "| gap | gap.ipynb | 1 / 8 | 3 |" in text
    assert "gap\\_head \\| 10 classes (0/2): expected 4,010, found 1,450." in text  # one line, pipes escaped
    assert "Layers: ..." not in text
    assert "(0/2): the same cause as *gap / params: gap\\_head \\| 10 classes*" in text  # one cause, said once
    assert "&lt;b&gt;slowly&lt;/b&gt;" in text and "<b>" not in text
    assert "| yours | 30.0% | 50.0% |  | 1.234 |" in text and "| reference | 60.0% | 80.0% | 90.0% | 0.400 |" in text
    assert "1 hidden check(s) worth 1 points are graded now and counted in the total above" in text
    assert "Not started (no file, or the stub untouched), so not scored here: resnet." in text
    assert "No hidden checks" in summary.markdown(_result(hidden=False))


def test_gradescope_shows_the_summary_as_markdown() -> None:
    data = gradescope.to_dict(_result())
    assert data["output_format"] == "md" and data["output"] == summary.markdown(_result())
    assert [t["visibility"] for t in data["tests"]][-1] == "after_due_date"
