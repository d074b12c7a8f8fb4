"""The Markdown summary a student reads first (Gradescope's top-level output)."""

from __future__ import annotations

import pytest

from grader import causes
from grader.reports import gradescope, summary
from grader.results import AssignmentResult, CheckResult, SubmissionResult

pytestmark = pytest.mark.quick

CURVES = {"student": {"val_curve": [0.3, 0.5], "train_loss": 1.2345}, "reference": {"val_curve": [0.6, 0.8, 0.9],
                                                                                    "train_loss": 0.4}}


def _result(hidden: bool = True) -> SubmissionResult:
    checks = (
        CheckResult("gap", "load", "the file runs", 0, 0, True, ""),
        CheckResult("gap", "params", "gap_head | 10 classes", 0, 2, False, "expected 4,010, found 1,450.\nLayers: ..."),
        CheckResult("gap", "structure", "gap_head structure", 0, 2, False, "expected 4,010, found 1,450.\nother"),
        CheckResult("gap", "convergence", "LeNet-GAP learns", 0, 3, False, "reached 50% <b>slowly</b>", data={
            "curves": CURVES}),
        CheckResult("gap", "params", "secret", 1, 1, True, "hidden check: passed", hidden=hidden),
    )
    kernel = causes.Reason(("structure", "conv: -5x5 +3x3"), "expected Conv2D 5x5, found Conv2D 3x3", ("gap_head",),
                           frozenset({"conv"}))
    slow = causes.Reason(("call", "train"), "reached 50% <b>slowly</b>", ("build_lenet_gap",))
    found = causes.gather("gap", list(zip(checks, [[], [kernel], [kernel], [slow], []], strict=True)))
    return SubmissionResult("alice", (AssignmentResult("gap", "gap.ipynb", checks, 3.0, causes=found),), 3.0,
                            {"missing": ["resnet"]})


def test_the_summary_gives_scores_causes_curves_and_what_the_total_includes() -> None:
    text = summary.markdown(_result())
    assert text.startswith("**Score: 1 / 8** (12%)")
    assert "| gap | gap.ipynb | 1 / 8 | 3 |" in text
    fix = text.split("### What to fix\n\n")[1].split("\n\n")[0].splitlines()
    assert len(fix) == 2 and all(line.startswith("- **gap** ") for line in fix)  # one item per cause
    assert fix[0].startswith("- **gap** In gap\\_head: expected Conv2D 5x5, found Conv2D 3x3. This one mistake "
                             "changes the parameter count and the layers.")  # two checks, one cause, said once
    assert "*Fixing it is worth up to 4 points: 2 checks (params: gap\\_head \\| 10 classes; structure: " \
           "gap\\_head structure).*" in fix[0]  # pipes escaped
    assert "Layers: ..." not in text
    assert "&lt;b&gt;slowly&lt;/b&gt;" in text and "<b>" not in text
    assert "| yours | 30.0% | 50.0% |  | 1.234 |" in text and "| reference | 60.0% | 80.0% | 90.0% | 0.400 |" in text
    assert "1 hidden check(s) worth 1 points are graded now and counted in the total above" in text
    assert "Not started (no file, or the stub untouched), so not scored here: resnet." in text
    assert "No hidden checks" in summary.markdown(_result(hidden=False))


def _check(name: str, points: float = 1, hidden: bool = False) -> CheckResult:
    return CheckResult("gap", name.split(":")[0], name.split(": ")[1], 0, points, False, f"{name} failed", hidden)


def test_a_cause_explains_every_check_it_failed_once_and_hidden_checks_join_visible_causes() -> None:
    kernel = causes.Reason(("structure", "k"), "kernel 3x3", ("gap_head",), frozenset({"conv"}))
    softmax = causes.Reason(("structure", "s"), "no softmax", ("gap_head",), frozenset({"softmax"}))
    hidden_kernel = causes.Reason(("structure", "k"), "gap_head gave another result", ("gap_head",), visible=False)
    ignored = causes.Reason(("structure", "n"), "gap_head seems to ignore num_classes", ("gap_head",), visible=False)
    judged = [(_check("params: a"), [kernel]), (_check("structure: b", 2), [kernel, softmax]),
              (_check("values: c", 2), [softmax]), (_check("params: d", hidden=True), [hidden_kernel]),
              (_check("shape: e", hidden=True), [ignored])]
    found = causes.gather("gap", judged)
    assert [(c.text, c.checks, c.hidden, c.points) for c in found] == [
        ("kernel 3x3", ("params: a", "structure: b"), 1, 4),  # the hidden check joins the visible cause
        ("no softmax", ("structure: b", "values: c"), 0, 4),  # a check two mistakes fail is under both
        ("gap_head seems to ignore num_classes", (), 1, 1)]  # no visible check failed of it: its own words
    assert found[2].source == "hidden"


def test_only_an_input_size_that_fails_nothing_more_joins_another_difference() -> None:
    head = causes.Reason(("structure", "head"), "expected GlobalAveragePooling2D, found Flatten, Dense 10",
                         ("gap_head",), frozenset({"flatten", "dense"}))
    size = causes.Reason(("structure", "input"), "the input is 28x28x1", ("build_lenet_gap",), frozenset({"input"}))
    norm = causes.Reason(("structure", "bn"), "found BatchNormalization", ("gap_head",), frozenset({"batchnorm"}))
    found = causes.gather("gap", [(_check("params: a"), [head, size, norm]), (_check("shape: b"), [head, size]),
                                  (_check("receptive_field: c"), [head])])
    assert [c.text for c in found] == ["expected GlobalAveragePooling2D, found Flatten, Dense 10; the input is "
                                       "28x28x1", "found BatchNormalization"]  # another mistake keeps its item
    assert found[0].checks == ("params: a", "shape: b", "receptive_field: c") and found[1].checks == ("params: a",)


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


def test_a_file_that_does_not_load_is_one_short_item() -> None:
    load = CheckResult("gap", "load", "the file runs", 0, 0, False, "gap.py line 3: invalid syntax")
    found = causes.gather("gap", [(load, []), (_check("params: a"), []), (_check("values: b", 2), []),
                                  (_check("shape: c", hidden=True), [])])
    assert len(found) == 1 and found[0].source == "load"
    assert summary.cause_text(found[0]) == "gap.py line 3: invalid syntax."
    assert summary.explains_text(found[0]) == ("Until the file loads, none of gap's checks can be graded: 2 checks "
                                               "and 1 hidden, 4 points.")
