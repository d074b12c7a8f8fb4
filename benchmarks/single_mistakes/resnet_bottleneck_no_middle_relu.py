"""Written from the contract, one mistake: the bottleneck's 3x3 convolution has no ReLU after it."""

from __future__ import annotations

import keras
from keras import layers

STAGES = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}
STAGE_FILTERS = (64, 128, 256, 512)


def _conv_bn(x, filters: int, kernel_size: int, stride: int = 1, relu: bool = True):
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def _shortcut(x, filters: int, stride: int):
    if stride != 1 or x.shape[-1] != filters:
        return _conv_bn(x, filters, 1, stride, relu=False)
    return x


def residual_block(x, filters: int, stride: int = 1):
    """Basic block: 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv -> BN, plus the shortcut, then ReLU."""
    y = _conv_bn(x, filters, 3, stride)
    y = _conv_bn(y, filters, 3, relu=False)
    y = layers.Add()([y, _shortcut(x, filters, stride)])
    return layers.ReLU()(y)


def bottleneck_block(x, filters: int, stride: int = 1, stride_on: str = "3x3"):
    """Bottleneck block: 1x1 (filters) -> 3x3 (filters) -> 1x1 (4 x filters), BN after each, plus the shortcut.

    `stride_on` places the stride on the "3x3" (as torchvision) or on the first "1x1" (as the paper and
    keras.applications); the contract accepts both.
    """
    y = _conv_bn(x, filters, 1, stride if stride_on == "1x1" else 1)
    y = _conv_bn(y, filters, 3, stride if stride_on == "3x3" else 1, relu=False)
    y = _conv_bn(y, 4 * filters, 1, relu=False)
    y = layers.Add()([y, _shortcut(x, 4 * filters, stride)])
    return layers.ReLU()(y)
def _stem(inputs):
    x = _conv_bn(inputs, 64, 7, 2)
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)


def _head(x, num_classes: int):
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes, activation="softmax")(x)


def build_resnet(depth: int = 50, input_shape=(224, 224, 3), num_classes: int = 1000,
                 stride_on: str = "3x3") -> keras.Model:
    """ResNet-18, 34 (basic blocks) or 50, 101, 152 (bottleneck blocks)."""
    if depth not in STAGES:
        raise ValueError(f"build_resnet: depth must be one of {sorted(STAGES)}, got {depth!r}")
    inputs = keras.Input(shape=input_shape)
    x = _stem(inputs)
    for stage, (blocks, filters) in enumerate(zip(STAGES[depth], STAGE_FILTERS, strict=True)):
        for index in range(blocks):
            stride = 2 if stage > 0 and index == 0 else 1
            if depth < 50:
                x = residual_block(x, filters, stride)
            else:
                x = bottleneck_block(x, filters, stride, stride_on)
    return keras.Model(inputs, _head(x, num_classes), name=f"resnet{depth}")


def build_plain(depth: int = 34, input_shape=(224, 224, 3), num_classes: int = 1000) -> keras.Model:
    """The plain baseline of the paper: ResNet-18 or 34 without shortcuts."""
    if depth not in (18, 34):
        raise ValueError(f"build_plain: depth must be 18 or 34, got {depth!r}")
    inputs = keras.Input(shape=input_shape)
    x = _stem(inputs)
    for stage, (blocks, filters) in enumerate(zip(STAGES[depth], STAGE_FILTERS, strict=True)):
        for index in range(blocks):
            x = _conv_bn(x, filters, 3, 2 if stage > 0 and index == 0 else 1)
            x = _conv_bn(x, filters, 3)
    return keras.Model(inputs, _head(x, num_classes), name=f"plain{depth}")
