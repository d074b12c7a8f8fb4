"""The convolution rubric: values on the lecture's examples and hidden arguments, and the feature extractor."""

from __future__ import annotations

from conftest import FIXTURES, failed_categories, graded, load_solution

CONVOLUTION = FIXTURES / "convolution"


def _check(result, description_part: str):
    return next(c for c in result.checks if description_part in c.description)


def test_the_reference_gives_the_contracts_examples() -> None:
    conv = load_solution("convolution")
    assert conv.dense_connections(5, 5) == 25
    assert conv.conv1d_connections(5, 3) == 13
    assert conv.conv2d_params(3, 64, 3) == 1792
    assert conv.conv_output_size(32, 5) == 28
    assert conv.receptive_field([(3, 1)] * 3) == 7 and conv.receptive_field([(3, 2), (3, 2)]) == 7


def test_each_bug_is_named_with_the_argument_the_expected_and_the_returned_value() -> None:
    result = graded(CONVOLUTION / "convolution_bugs.py", "convolution")
    assert {"values", "equivariance", "receptive_field", "shape"} <= failed_categories(result)
    size = _check(result, "conv_output_size on the lecture's examples")
    call = "conv_output_size(28, 3, stride=1, padding='valid', dilation=2)"
    assert not size.passed and f"{call}: expected 24, returned 26" in size.output
    field = _check(result, "receptive_field on the lecture's examples")
    assert "receptive_field([(3, 2), (3, 2)]): expected 7, returned 5" in field.output
    assert _check(result, "dense_connections on the lecture's examples").passed
    hidden = _check(result, "conv_output_size on other arguments")
    assert not hidden.passed and hidden.output.startswith("hidden check: failed. ")
    assert "you ignore the dilation" in hidden.output  # the cause, found from every call's value
    assert "conv_output_size(" not in hidden.output and "returned" not in hidden.output  # no hidden call or value
    assert "stride 1 and 'same' padding" in _check(result, "shifting the input").output
