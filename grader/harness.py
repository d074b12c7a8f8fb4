"""Small training networks built around a student's own block, for the convergence checks.

These functions run in the child, next to the student's code: they only compose Keras layers around the
student's functions. The grader trains the rebuilt result in its own process.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def inception_network(module: ModuleType, input_shape: tuple[int, int, int] = (28, 28, 1),
                      num_classes: int = 10) -> Any:
    """A strided stem, two of the student's inception blocks, global average pooling and a softmax classifier.

    Nothing outside the blocks is nonlinear, so the network learns only as well as the blocks' own ReLUs let
    it. BatchNormalization (affine at validation) after the stem and each block lets it learn in a few hundred
    steps, as GoogLeNet's blocks alone, without it, start too slowly for a short budget.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.BatchNormalization()(module.inception_block(x, 8, 8, 16, 4, 8, 8))
    x = layers.BatchNormalization()(module.inception_block(x, 16, 16, 24, 4, 8, 8))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x), name="inception_harness")


def resnet_network(module: ModuleType, input_shape: tuple[int, int, int] = (32, 32, 1),
                   num_classes: int = 4, depth: int = 12) -> Any:
    """A strided, pooled stem and a deep, narrow stack of the student's residual blocks (8 then 16 filters).

    Twelve blocks (24 convolutions) on 8x8 maps: deep enough that a stack without shortcuts learns visibly
    slower, small enough to train in seconds on a CPU."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.MaxPooling2D(2)(x)
    for index in range(depth):
        filters = 8 if index < depth // 2 else 16
        x = module.residual_block(x, filters, 2 if index == depth // 2 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x), name="resnet_harness")
