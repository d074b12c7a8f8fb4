"""The gap rubric on real submissions: the reference, the stub, typical bugs and equivalent spellings."""

from __future__ import annotations

import pytest

from conftest import GAP, ROOT, failed_categories, graded


def test_reference_solution_scores_full_marks() -> None:
    result = graded(ROOT / "solutions" / "gap.py")
    assert result.max_score == 23
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


def test_stub_scores_zero_and_says_what_to_build() -> None:
    result = graded(ROOT / "assignments" / "gap.py")
    assert result.score == 0
    assert result.max_score == 23
    api = next(c for c in result.checks if c.category == "api")
    assert "NotImplementedError" in api.output and "GlobalAveragePooling2D" in api.output


@pytest.mark.parametrize("fixture", ["gap_tf_keras.py", "gap_aliases.py", "gap_sequential.py", "gap_notebook.ipynb"])
def test_equivalent_spellings_keep_full_marks(fixture: str) -> None:
    result = graded(GAP / fixture)
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


# Each typical bug, the categories that must catch it, and words its messages must contain.
BUGS = {
    "gap_flatten_dense.py": ({"shape", "structure", "params"}, ["Flatten", "Dense"]),
    "gap_pool_then_dense.py": ({"structure", "params", "receptive_field"}, ["found Dense 10"]),
    "gap_wrong_kernel.py": ({"params", "structure", "receptive_field"}, ["Conv2D 3x3", "expected Conv2D 5x5"]),
    "gap_no_softmax.py": ({"values", "structure"}, ["not probabilities", "expected softmax"]),
    "gap_fixed_window.py": ({"shape", "invariance", "structure"}, ["AveragePooling2D 7x7", "moving one object"]),
}


@pytest.mark.parametrize("fixture", sorted(BUGS))
def test_typical_bug_loses_points_on_the_check_that_names_it(fixture: str) -> None:
    categories, words = BUGS[fixture]
    result = graded(GAP / fixture)
    assert result.score < result.max_score
    assert categories <= failed_categories(result), failed_categories(result)
    text = "\n".join(c.output for c in result.checks)
    for word in words:
        assert word in text


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
