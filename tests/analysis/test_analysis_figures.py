"""Published figures reproduced from the Keras models themselves: receptive fields, MACs, parameter diagnosis."""

from __future__ import annotations

import pytest

from conftest import lazy_module, load_solution
from grader.analysis.graph import trace
from grader.analysis.macs import count_macs
from grader.analysis.params import count_params
from grader.analysis.receptive_field import gradient_field, receptive_fields
from grader.rubrics.diagnosis import diagnose

keras = lazy_module("keras")  # imported by the first test that uses it: collection imports no Keras
layers = lazy_module("keras.layers")


def _last(graph, kind):
    return graph.of_kind(kind)[-1]


@pytest.fixture(scope="module")
def resnet():
    return load_solution("resnet")


@pytest.fixture(scope="module")
def classic():
    return load_solution("classic")


@pytest.fixture(scope="module")
def inception():
    return load_solution("inception")


# Receptive fields (Araujo et al., "Computing Receptive Fields of CNNs", Distill 2019, and the contract).
@pytest.mark.parametrize(("depth", "stride_on", "expected"), [(18, "3x3", 435), (34, "3x3", 899),
                                                               (50, "3x3", 427), (50, "1x1", 483)])
def test_resnet_receptive_fields(resnet, depth: int, stride_on: str, expected: int) -> None:
    graph = trace(resnet.build_resnet(depth, stride_on=stride_on))
    assert receptive_fields(graph)[_last(graph, "add").index].size == (expected, expected)


def test_alexnet_last_pool_sees_195_pixels(classic) -> None:
    graph = trace(classic.build_alexnet())
    assert receptive_fields(graph)[_last(graph, "max_pool").index].size == (195, 195)


@pytest.mark.parametrize(("build", "layer", "expected"), [
    (lambda: keras.applications.VGG16(weights=None), "block5_pool", 212),
    (lambda: keras.applications.ResNet50(weights=None), "conv5_block3_out", 483),
])
def test_gradient_confirms_the_analytic_field(build, layer: str, expected: int) -> None:
    assert gradient_field(build(), layer, expected + 64) == (expected, expected)


def test_gradient_confirms_alexnet(classic) -> None:
    model = classic.build_alexnet()
    pool = [lay for lay in model.layers if isinstance(lay, layers.MaxPooling2D)][-1]
    assert gradient_field(model, pool.name, 195 + 40) == (195, 195)


# Multiply-accumulates: the papers' and torchvision's published figures (in G, three significant digits).
@pytest.mark.parametrize(("depth", "stride_on", "giga"), [(18, "3x3", 1.81), (34, "3x3", 3.66),
                                                           (50, "1x1", 3.86), (50, "3x3", 4.09)])
def test_resnet_macs(resnet, depth: int, stride_on: str, giga: float) -> None:
    total = count_macs(trace(resnet.build_resnet(depth, stride_on=stride_on))).total
    assert round(total / 1e9, 2) == giga


def test_keras_resnet50_macs_match_the_stride_on_1x1_variant(resnet) -> None:
    ours = count_macs(trace(resnet.build_resnet(50, stride_on="1x1"))).total
    theirs = count_macs(trace(keras.applications.ResNet50(weights=None))).total
    assert theirs == ours  # biases cost no multiply-accumulates
    assert round(theirs / 1e9, 2) == 3.86


@pytest.mark.parametrize(("build", "giga"), [(lambda: keras.applications.VGG16(weights=None), 15.47),
                                             (lambda: keras.applications.VGG19(weights=None), 19.63)])
def test_vgg_macs(build, giga: float) -> None:
    assert round(count_macs(trace(build())).total / 1e9, 2) == giga


def test_inception_3a_macs_and_the_saving_of_reduction(inception) -> None:
    x = keras.Input((28, 28, 192))
    reduced = count_macs(trace(keras.Model(x, inception.inception_block(x, 64, 96, 128, 16, 32, 32)))).total
    x = keras.Input((28, 28, 192))
    naive = count_macs(trace(keras.Model(x, inception.naive_inception_block(x, 64, 128, 32)))).total
    assert round(reduced / 1e6) == 128
    assert 2.3 < naive / reduced < 2.5


def test_pooling_and_elementwise_work_are_counted_apart(resnet) -> None:
    count = count_macs(trace(resnet.build_resnet(18)))
    assert count.other_total > 0
    assert count.total == 1_814_073_344


# Parameter accounting and diagnosis.
def test_keras_resnet50_differs_from_the_published_count_by_its_conv_biases(resnet) -> None:
    published = trace(resnet.build_resnet(50, stride_on="1x1"))
    keras_app = trace(keras.applications.ResNet50(weights=None))
    assert count_params(published).trainable == 25_557_032
    assert count_params(keras_app).trainable - count_params(published).trainable == 26_560
    causes = diagnose(keras_app, published)
    assert causes and "26,560 of the difference is exactly the biases" in causes[0]


def _variant(resnet, monkeypatch, name: str, function) -> object:
    monkeypatch.setattr(resnet, name, function)
    return trace(resnet.build_resnet(50))


def test_diagnosis_names_an_expansion_of_2(resnet, monkeypatch) -> None:
    reference = trace(resnet.build_resnet(50))

    def expansion_two(x, filters, stride=1, stride_on="3x3"):
        y = resnet._conv_bn(x, filters, 1)
        y = resnet._conv_bn(y, filters, 3, stride)
        y = resnet._conv_bn(y, 2 * filters, 1, relu=False)
        return layers.ReLU()(layers.Add()([y, resnet._shortcut(x, 2 * filters, stride)]))

    causes = diagnose(_variant(resnet, monkeypatch, "bottleneck_block", expansion_two), reference)
    assert any("expansion is 2, expected 4" in c for c in causes)


def test_diagnosis_names_a_changed_stage_count(resnet, monkeypatch) -> None:
    reference = trace(resnet.build_resnet(50))
    monkeypatch.setitem(resnet.STAGES, 50, [3, 4, 5, 3])
    causes = diagnose(trace(resnet.build_resnet(50)), reference)
    assert causes == ["residual blocks per stage: expected [3, 4, 6, 3], found [3, 4, 5, 3]"]


def test_diagnosis_names_missing_projection_and_projection_without_bn(resnet, monkeypatch) -> None:
    reference = trace(resnet.build_resnet(18))
    monkeypatch.setattr(resnet, "_shortcut", lambda x, filters, stride: layers.Conv2D(
        filters, 1, strides=stride, use_bias=False)(x) if stride != 1 or x.shape[-1] != filters else x)
    causes = diagnose(trace(resnet.build_resnet(18)), reference)
    assert any("3 projection shortcuts have no BatchNormalization" in c for c in causes)
    assert any("BatchNormalization layers, expected" in c for c in causes)


def test_diagnosis_names_a_missing_bn(resnet, monkeypatch) -> None:
    reference = trace(resnet.build_resnet(18))
    original = resnet._conv_bn

    def no_bn_on_3x3(x, filters, kernel_size, stride=1, relu=True):
        if kernel_size == 3 and not relu:
            return layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        return original(x, filters, kernel_size, stride, relu)

    monkeypatch.setattr(resnet, "_conv_bn", no_bn_on_3x3)
    causes = diagnose(trace(resnet.build_resnet(18)), reference)
    assert causes == ["found 12 BatchNormalization layers, expected 20 (8 missing)"]


def test_diagnosis_names_a_missing_reduction_and_a_kernel_of_the_wrong_size(inception) -> None:
    def block(reduce5: bool, kernel3: int):
        x = keras.Input((28, 28, 192))
        b1 = layers.Conv2D(64, 1, padding="same", activation="relu")(x)
        b3 = layers.Conv2D(96, 1, padding="same", activation="relu")(x)
        b3 = layers.Conv2D(128, kernel3, padding="same", activation="relu")(b3)
        b5 = layers.Conv2D(16, 1, padding="same", activation="relu")(x) if reduce5 else x
        b5 = layers.Conv2D(32, 5, padding="same", activation="relu")(b5)
        bp = layers.Conv2D(32, 1, padding="same", activation="relu")(layers.MaxPooling2D(3, 1, "same")(x))
        return trace(keras.Model(x, layers.Concatenate()([bp, b5, b3, b1])))

    reference = block(True, 3)
    assert diagnose(block(True, 3), reference) == []
    assert diagnose(block(False, 3), reference) == ["the 5x5 branch has no 1x1 reduction"]
    assert diagnose(block(True, 5), reference) == ["a convolution has a 5x5 kernel where a 3x3 one is expected"]
