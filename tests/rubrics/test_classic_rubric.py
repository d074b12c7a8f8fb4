"""The classic rubric's reference against the published figures (its fixtures: test_rubrics.py)."""

from __future__ import annotations

from conftest import lazy_module, load_solution
from grader.analysis.graph import trace
from grader.analysis.macs import count_macs
from grader.analysis.params import count_params
from grader.analysis.receptive_field import feature_field
from grader.rubrics.classic import PUBLISHED

keras = lazy_module("keras")  # imported by the first test that uses it: collection imports no Keras


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
