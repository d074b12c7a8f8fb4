"""Residual networks: basic and bottleneck blocks, ResNet-18 to 152, and the plain baseline.

He et al., "Deep Residual Learning for Image Recognition" (2015). A block learns a residual F(x) and adds it to
its input: y = ReLU(F(x) + shortcut(x)). The shortcut is the identity when the shapes agree and a strided 1x1
convolution with BatchNormalization (a projection) when they do not.

Fill in the functions below, then check your work with `grade assignments/resnet.py`.
"""

from __future__ import annotations

import keras
from keras import layers


def residual_block(x, filters: int, stride: int = 1):
    """Basic block: 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv -> BN, plus the shortcut, then ReLU."""
    raise NotImplementedError(
        "residual_block: Conv2D(filters, 3, strides=stride, use_bias=False) -> BatchNormalization -> ReLU -> "
        "Conv2D(filters, 3, use_bias=False) -> BatchNormalization; the shortcut is x itself, or Conv2D(filters,"
        " 1, strides=stride, use_bias=False) -> BatchNormalization when stride != 1 or the channels change; Add"
        " the two, then ReLU."
    )


def bottleneck_block(x, filters: int, stride: int = 1, stride_on: str = "3x3"):
    """Bottleneck block: 1x1 (filters) -> 3x3 (filters) -> 1x1 (4 x filters), BN after each, plus the shortcut.

    `stride_on` places the stride on the "3x3" (as torchvision) or on the first "1x1" (as the paper and
    keras.applications); the contract accepts both.
    """
    raise NotImplementedError(
        "bottleneck_block: 1x1 conv (filters) -> BN -> ReLU -> 3x3 conv (filters) -> BN -> ReLU -> 1x1 conv (4 "
        "* filters) -> BN; the shortcut as in residual_block but to 4 * filters channels; Add, then ReLU. Put "
        "the stride on the 3x3 or on the first 1x1."
    )


def build_resnet(depth: int = 50, input_shape=(224, 224, 3), num_classes: int = 1000,
                 stride_on: str = "3x3") -> keras.Model:
    """ResNet-18, 34 (basic blocks) or 50, 101, 152 (bottleneck blocks)."""
    raise NotImplementedError(
        "build_resnet: stem Conv2D(64, 7, strides=2, use_bias=False) -> BN -> ReLU -> MaxPooling2D(3, 2, "
        "'same'); four stages of 64, 128, 256, 512 filters with [2,2,2,2], [3,4,6,3], [3,4,6,3], [3,4,23,3] or "
        "[3,8,36,3] blocks (stride 2 in the first block of stages 2-4); GlobalAveragePooling2D; "
        "Dense(num_classes) softmax."
    )


def build_plain(depth: int = 34, input_shape=(224, 224, 3), num_classes: int = 1000) -> keras.Model:
    """The plain baseline of the paper: ResNet-18 or 34 without shortcuts."""
    raise NotImplementedError(
        "build_plain: the same network as build_resnet for depth 18 or 34, with the two convolutions of each "
        "block but no shortcut and no addition; raise ValueError for any other depth."
    )
