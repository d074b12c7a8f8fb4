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


@pytest.mark.parametrize("output", [
    "expected 4,010, found 1,450.\nLikely cause:\n  - the class convolution is 3x3, not 5x5\nLayers with parameters "
    "that differ:\n  - Conv2D 3x3 (1,450 parameters)",
    "the outputs are not probabilities: values range from -0.7 to 0.8.\nLikely cause: no softmax at the end.",
    "gap_head differs from the expected architecture:\n  - expected softmax, found nothing",
    "expected " + ", ".join(f"layer {i}" for i in range(80)) + "; found " + " ".join(["why"] * 90),
    "a" * 500,
])
def test_a_cause_is_said_in_whole_sentences(output: str) -> None:
    import re

    line = summary.first_line(output, 160)
    assert len(line) <= 160
    assert ".." not in line.replace("…", "") and ". ." not in line and ":." not in line
    assert not re.search(r"Likely cause:\s*($|\.)", line)
    said = {w.strip(".,;:-") for w in output.split()}
    kept = [w.strip(".,;:-") for w in line.replace("…", "").split()]
    if len(said) > 1:  # only a single word longer than the limit is ever cut
        assert all(w in said or not w for w in kept), [w for w in kept if w not in said]
