"""Written from the contract, one mistake: the pool branch averages."""

from __future__ import annotations

import keras
from keras import layers


def _conv(x, filters: int, kernel_size: int, strides: int = 1):
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu")(x)


def naive_inception_block(x, f1: int, f3: int, f5: int):
    """1x1, 3x3 and 5x5 convolutions and a 3x3 max pool in parallel: f1 + f3 + f5 + C_in channels."""
    pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    return layers.Concatenate(axis=-1)([_conv(x, f1, 1), _conv(x, f3, 3), _conv(x, f5, 5), pool])


def inception_block(x, f1: int, f3_reduce: int, f3: int, f5_reduce: int, f5: int, pool_proj: int):
    """The block with dimension reduction: f1 + f3 + f5 + pool_proj channels."""
    branch1 = _conv(x, f1, 1)
    branch3 = _conv(_conv(x, f3_reduce, 1), f3, 3)
    branch5 = _conv(_conv(x, f5_reduce, 1), f5, 5)
    branch_pool = _conv(layers.AveragePooling2D(3, strides=1, padding="same")(x), pool_proj, 1)
    return layers.Concatenate(axis=-1)([branch1, branch3, branch5, branch_pool])


def auxiliary_classifier(x, num_classes: int):
    """AveragePooling2D(5, 3) -> 1x1 conv 128 -> Flatten -> Dense 1024 -> Dropout 0.7 -> softmax."""
    x = layers.AveragePooling2D(5, strides=3)(x)
    x = _conv(x, 128, 1)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.7)(x)
    return layers.Dense(num_classes, activation="softmax")(x)


# Table 1 of the paper: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def build_googlenet(input_shape=(224, 224, 3), num_classes: int = 1000, aux_classifiers: bool = True) -> keras.Model:
    """GoogLeNet without LRN; outputs [main, aux after 4a, aux after 4d] with auxiliary classifiers."""
    inputs = keras.Input(shape=input_shape)
    x = _conv(inputs, 64, 7, strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _conv(x, 64, 1)
    x = _conv(x, 192, 3)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    aux = []
    for name in ("3a", "3b", "pool", "4a", "4b", "4c", "4d", "4e", "pool", "5a", "5b"):
        if name == "pool":
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
            continue
        x = inception_block(x, *BLOCKS[name])
        if aux_classifiers and name in ("4a", "4d"):
            aux.append(auxiliary_classifier(x, num_classes))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    main = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, [main, *aux] if aux_classifiers else main, name="googlenet")
