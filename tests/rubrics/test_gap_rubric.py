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
    assert hidden and all(c.output.startswith("hidden check: ") for c in hidden)
    failed = [c for c in hidden if not c.passed]
    assert failed and all(not any(ch.isdigit() for ch in c.output) for c in hidden)  # no argument, no count
    assert "gap_head gave another result when called with other values of num_classes, kernel_size" in \
        failed[0].output  # where to look: the function and the names of the arguments varied


def test_an_ignored_argument_is_named_without_its_value() -> None:
    result = graded(GAP / "gap_ignores_kernel_size.py")
    failed = [c for c in result.checks if not c.passed]
    assert [c.description for c in failed] == ["gap_head with other arguments"]  # only the hidden call catches it
    assert failed[0].output == ("hidden check: failed. gap_head seems to ignore its kernel_size argument: called "
                                "with another kernel_size, it built what the default builds. Use the argument it "
                                "is given.")


def test_missing_function_is_a_load_failure_and_the_rest_is_graded() -> None:
    result = graded(GAP / "gap_missing_builder.py")
    load = result.checks[0]
    assert load.category == "load" and not load.passed
    assert "build_lenet_gap is not defined" in load.output
    head_params = next(c for c in result.checks if c.description == "gap_head on 16 channels, 10 classes")
    assert head_params.passed
