"""Structural comparison: equivalent spellings share a signature, typical bugs do not, and the diff says why."""

from __future__ import annotations

import pytest

from conftest import lazy_module
from grader.analysis.graph import trace
from grader.analysis.structure import decompose, signature
from grader.rubrics.differences import structure_diff

keras = lazy_module("keras")  # imported by the first test that uses it: collection imports no Keras
layers = lazy_module("keras.layers")


def _residual(x, *, relu_layer=False, add_fn=False, swap=False, relu_before=False, shortcut=True, names=False):
    conv_relu = None if relu_layer else "relu"
    y = layers.Conv2D(8, 3, padding="same", use_bias=False, name="c1" if names else None)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y) if relu_layer else layers.ReLU()(y)
    y = layers.Conv2D(8, 3, padding="same", use_bias=False, activation=None)(y)
    y = layers.BatchNormalization()(y)
    if relu_before:
        y = layers.ReLU()(y)
    if shortcut:
        operands = [x, y] if swap else [y, x]
        y = layers.add(operands) if add_fn else layers.Add()(operands)
    if relu_before:
        return y
    return layers.Activation(conv_relu or "relu")(y) if relu_layer else layers.ReLU()(y)


def _inception(x, *, order=(0, 1, 2, 3), separate_relu=False, reduce5=True, project_pool=True, axis=-1,
               pool_stride=1):
    def conv(t, f, k):
        if separate_relu:
            return layers.ReLU()(layers.Conv2D(f, k, padding="same")(t))
        return layers.Conv2D(f, k, padding="same", activation="relu")(t)

    b1 = conv(x, 8, 1)
    b3 = conv(conv(x, 4, 1), 8, 3)
    b5 = conv(conv(x, 2, 1) if reduce5 else x, 4, 5)
    bp = layers.MaxPooling2D(3, strides=pool_stride, padding="same")(x)
    if project_pool:
        bp = conv(bp, 4, 1)
    branches = [b1, b3, b5, bp]
    return layers.Concatenate(axis=axis)([branches[i] for i in order])


def _graph(block, **kwargs):
    inputs = keras.Input((16, 16, 8))
    return trace(keras.Model(inputs, block(inputs, **kwargs)))


@pytest.mark.parametrize("spelling", [dict(relu_layer=True), dict(add_fn=True), dict(swap=True), dict(names=True)])
def test_residual_spellings_share_the_signature(spelling) -> None:
    assert signature(_graph(_residual, **spelling)) == signature(_graph(_residual))


@pytest.mark.parametrize("spelling", [dict(order=(3, 2, 1, 0)), dict(order=(2, 0, 3, 1)), dict(separate_relu=True)])
def test_inception_spellings_share_the_signature(spelling) -> None:
    assert signature(_graph(_inception, **spelling)) == signature(_graph(_inception))


@pytest.mark.parametrize(("block", "bug", "line"), [
    (_residual, dict(relu_before=True),
     "after the addition: expected ReLU, found none; ReLU comes before the addition"),
    (_residual, dict(shortcut=False),
     "no shortcut connection: expected the block's input to be added to its output (Add), found no addition"),
    (_inception, dict(reduce5=False), "5x5 branch: no 1x1 reduction before the 5x5 convolution"),
    (_inception, dict(project_pool=False), "pool branch: no 1x1 projection after the pooling"),
])
def test_bugs_change_the_signature_and_the_diff_names_them(block, bug, line) -> None:
    reference, student = _graph(block), _graph(block, **bug)
    assert signature(student) != signature(reference)
    lines = structure_diff(decompose(reference), decompose(student))
    assert lines and lines[0].startswith(line[:40]), lines


def test_pool_stride_is_named_in_the_pool_branch() -> None:
    inputs = keras.Input((16, 16, 8))
    reference = trace(keras.Model(inputs, _inception(inputs)))
    # stride 2 on the pool cannot be concatenated; a 'valid' 3x3 pool of stride 1 can, and is a typical slip too
    x = keras.Input((16, 16, 8))

    def conv(t, f, k):
        return layers.Conv2D(f, k, padding="same", activation="relu")(t)

    b1, b3, b5 = conv(x, 8, 1), conv(conv(x, 4, 1), 8, 3), conv(conv(x, 2, 1), 4, 5)
    bp = conv(layers.AveragePooling2D(3, 1, "same")(x), 4, 1)
    student = trace(keras.Model(x, layers.Concatenate()([b1, b3, b5, bp])))
    lines = structure_diff(decompose(reference), decompose(student))
    assert lines == ["pool branch: expected MaxPooling2D 3x3, stride 1, 'same', found AveragePooling2D 3x3, stride 1, "
                     "'same'"]


def test_concatenation_on_the_wrong_axis_is_named() -> None:
    def two_branches(x, axis=-1):
        return layers.Concatenate(axis=axis)([layers.Conv2D(8, 1)(x), layers.Conv2D(8, 3, padding="same")(x)])

    reference, student = _graph(two_branches), _graph(two_branches, axis=1)
    assert signature(reference) != signature(student)
    lines = structure_diff(decompose(reference), decompose(student))
    assert lines == ["the block merged by Concatenate: expected the merge Concatenate, found Concatenate on axis 1"]


def test_a_stride_on_the_wrong_convolution_is_named() -> None:
    def block(x, first=2, second=1):
        y = layers.Conv2D(8, 3, strides=first, padding="same")(x)
        y = layers.Conv2D(8, 3, strides=second, padding="same")(y)
        return layers.Add()([y, layers.Conv2D(8, 1, strides=2)(x)])

    lines = structure_diff(decompose(_graph(block)), decompose(_graph(block, first=1, second=2)))
    assert lines == ["3x3 branch: the stride 2 is on the second convolution; it belongs on the first"]
