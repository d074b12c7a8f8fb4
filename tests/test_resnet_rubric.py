"""The resnet rubric on real submissions: the reference, the stub, typical bugs and equivalent spellings."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, ROOT, failed_categories, graded

RESNET = FIXTURES / "resnet"


def _text(result) -> str:
    return "\n".join(c.output for c in result.checks)


def test_reference_solution_scores_full_marks() -> None:
    result = graded(ROOT / "solutions" / "resnet.py", "resnet")
    assert result.max_score == 34
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


def test_stub_scores_zero() -> None:
    result = graded(ROOT / "assignments" / "resnet.py", "resnet")
    assert result.score == 0 and result.max_score == 34


@pytest.mark.parametrize("fixture", ["resnet_equivalent.py", "resnet_stride_on_1x1.py"])
def test_equivalent_spellings_keep_full_marks(fixture: str) -> None:
    result = graded(RESNET / fixture, "resnet")
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


BUGS = {
    "resnet_no_identity_shortcut.py": ({"structure", "gradient_flow", "convergence"}, ["no shortcut connection"]),
    "resnet_relu_before_add.py": ({"structure"}, ["ReLU comes before the addition"]),
    "resnet_no_projection.py": ({"shape", "params", "structure"}, ["needs a projection"]),
    "resnet_projection_without_bn.py": ({"params", "structure"}, ["projection shortcuts have no BatchNormalization"]),
    "resnet_conv_biases.py": ({"params"}, ["biases of the convolutions that feed a BatchNormalization"]),
    "resnet_stride_second_conv.py": ({"structure", "receptive_field", "macs"},
                                     ["the stride 2 is on the second convolution; it belongs on the first"]),
    "resnet_no_stem_pool.py": ({"receptive_field", "macs"}, ["stem's max pool"]),
    "resnet_expansion_2.py": ({"params", "shape", "structure"}, ["expansion is 2, expected 4"]),
    "resnet_wrong_stages.py": ({"params"}, ["residual blocks per stage: expected [3, 4, 6, 3], found [3, 4, 5, 3]"]),
    "resnet_keras_applications.py": ({"params", "receptive_field", "macs"},
                                     ["26,560 of the difference is exactly the biases"]),
}


@pytest.mark.parametrize("fixture", sorted(BUGS))
def test_typical_bug_loses_points_on_the_check_that_names_it(fixture: str) -> None:
    categories, words = BUGS[fixture]
    result = graded(RESNET / fixture, "resnet")
    assert result.score < result.max_score
    assert categories <= failed_categories(result), failed_categories(result)
    for word in words:
        assert word in _text(result)


def test_gradient_flow_shows_both_numbers() -> None:
    result = graded(RESNET / "resnet_no_identity_shortcut.py", "resnet")
    check = next(c for c in result.checks if c.category == "gradient_flow")
    assert "in your ResNet-34" in check.output and "in your plain 34-layer network" in check.output
