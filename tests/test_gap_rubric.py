"""The gap rubric: what its messages say and keep (the reference, stub, spellings and bugs: test_rubrics.py)."""

from __future__ import annotations

from conftest import GAP, graded


def test_no_softmax_keeps_the_points_it_earned() -> None:
    result = graded(GAP / "gap_no_softmax.py")
    passed = {c.category for c in result.checks if c.passed}
    assert {"params", "shape", "invariance", "receptive_field"} <= passed


def test_wrong_kernel_params_message_names_both_counts() -> None:
    result = graded(GAP / "gap_wrong_kernel.py")
    head = next(c for c in result.checks if c.description == "gap_head on 16 channels, 10 classes")
    assert "expected 4,010, found 1,450" in head.output


def test_hidden_checks_never_show_expected_values() -> None:
    result = graded(GAP / "gap_wrong_kernel.py")
    hidden = [c for c in result.checks if c.hidden]
    assert hidden and all(c.output in ("hidden check: passed", "hidden check: failed") for c in hidden)
    assert any(not c.passed for c in hidden)


def test_missing_function_is_a_load_failure_and_the_rest_is_graded() -> None:
    result = graded(GAP / "gap_missing_builder.py")
    load = result.checks[0]
    assert load.category == "load" and not load.passed
    assert "build_lenet_gap is not defined" in load.output
    head_params = next(c for c in result.checks if c.description == "gap_head on 16 channels, 10 classes")
    assert head_params.passed
