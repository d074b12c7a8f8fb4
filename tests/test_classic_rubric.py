"""The classic rubric on real submissions, and its reference against the published figures."""

from __future__ import annotations

import keras
import pytest

from conftest import FIXTURES, ROOT, failed_categories, graded, load_solution
from grader.analysis.graph import trace
from grader.analysis.macs import count_macs
from grader.analysis.params import count_params
from grader.analysis.receptive_field import feature_field
from grader.rubrics.classic import PUBLISHED

CLASSIC = FIXTURES / "classic"


def _text(result) -> str:
    return "\n".join(c.output for c in result.checks)


def test_the_reference_reproduces_the_published_figures() -> None:
    classic = load_solution("classic")
    for name, build in (("LeNet-5", classic.build_lenet5), ("AlexNet", classic.build_alexnet),
                        ("VGG-16", classic.build_vgg16)):
        keras.backend.clear_session()
        assert count_params(trace(build())).trainable == PUBLISHED[name], name
    keras.backend.clear_session()
    vgg = trace(classic.build_vgg16())
    applications = trace(keras.applications.VGG16(weights=None))  # an independent build of the same network
    assert count_params(vgg).trainable == count_params(applications).trainable == 138_357_544
    assert round(count_macs(vgg).total / 1e9, 2) == 15.47  # the lecture's 15.47 G
    assert feature_field(vgg).size == (212, 212)
    keras.backend.clear_session()
    assert feature_field(trace(classic.build_alexnet())).size == (195, 195)


def test_reference_solution_scores_full_marks_and_the_stub_zero() -> None:
    result = graded(ROOT / "solutions" / "classic.py", "classic")
    assert result.max_score == 31
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]
    stub = graded(ROOT / "assignments" / "classic.py", "classic")
    assert stub.score == 0 and stub.max_score == 31


def test_equivalent_spelling_keeps_full_marks() -> None:
    result = graded(CLASSIC / "classic_equivalent.py", "classic")
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


BUGS = {
    "classic_vgg_missing_conv.py": ({"params", "structure", "macs", "receptive_field"},
                                    ["VGG-16 has 13 convolutions and 3 dense layers; yours has 12 convolutions"]),
    "classic_alexnet_same.py": ({"structure", "shape", "macs"},
                                ["AlexNet's feature maps after each pooling layer: expected 27x27x96"]),
    "classic_lenet_relu_maxpool.py": ({"structure"}, ["expected tanh, AveragePooling2D", "found ReLU, MaxPooling2D"]),
}


@pytest.mark.parametrize("fixture", sorted(BUGS))
def test_typical_bug_loses_points_on_the_check_that_names_it(fixture: str) -> None:
    categories, words = BUGS[fixture]
    result = graded(CLASSIC / fixture, "classic")
    assert result.score < result.max_score
    assert categories <= failed_categories(result), failed_categories(result)
    text = _text(result)
    for word in words:
        assert word in text, text
