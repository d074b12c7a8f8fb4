"""Inception (GoogLeNet): naive and reduced blocks, auxiliary classifiers, the full network.

Szegedy et al., "Going Deeper with Convolutions" (2015). A block runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max
pool side by side and concatenates them on channels; 1x1 convolutions in front of the large kernels (and after
the pool) reduce the channels they see, which cuts the cost about 2.4 times for block 3a.
"""

from __future__ import annotations

import keras
from keras import layers


# BEGIN SOLUTION ONLY
def _conv(x, filters: int, kernel_size: int, strides: int = 1):
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu")(x)
# END SOLUTION ONLY


def naive_inception_block(x, f1: int, f3: int, f5: int):
    """1x1, 3x3 and 5x5 convolutions and a 3x3 max pool in parallel: f1 + f3 + f5 + C_in channels."""
    # BEGIN SOLUTION
    # HINT: naive_inception_block: apply Conv2D(f1, 1), Conv2D(f3, 3) and Conv2D(f5, 5) (ReLU, padding='same')
    #   and MaxPooling2D(3, strides=1, padding='same') to the same input x, then Concatenate them on the
    #   channel axis.
    pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    return layers.Concatenate(axis=-1)([_conv(x, f1, 1), _conv(x, f3, 3), _conv(x, f5, 5), pool])
    # END SOLUTION


def inception_block(x, f1: int, f3_reduce: int, f3: int, f5_reduce: int, f5: int, pool_proj: int):
    """The block with dimension reduction: f1 + f3 + f5 + pool_proj channels."""
    # BEGIN SOLUTION
    # HINT: inception_block: four branches from x: a 1x1 conv (f1); a 1x1 conv (f3_reduce) then a 3x3 conv (f3);
    #   a 1x1 conv (f5_reduce) then a 5x5 conv (f5); a 3x3 max pool (stride 1, 'same') then a 1x1 conv
    #   (pool_proj). Every conv has ReLU and padding='same'. Concatenate the four on channels.
    branch1 = _conv(x, f1, 1)
    branch3 = _conv(_conv(x, f3_reduce, 1), f3, 3)
    branch5 = _conv(_conv(x, f5_reduce, 1), f5, 5)
    branch_pool = _conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), pool_proj, 1)
    return layers.Concatenate(axis=-1)([branch1, branch3, branch5, branch_pool])
    # END SOLUTION


def auxiliary_classifier(x, num_classes: int):
    """AveragePooling2D(5, 3) -> 1x1 conv 128 -> Flatten -> Dense 1024 -> Dropout 0.7 -> softmax."""
    # BEGIN SOLUTION
    # HINT: auxiliary_classifier: AveragePooling2D(5, strides=3), Conv2D(128, 1) with ReLU, Flatten, Dense(1024)
    #   with ReLU, Dropout(0.7), and Dense(num_classes) with softmax.
    x = layers.AveragePooling2D(5, strides=3)(x)
    x = _conv(x, 128, 1)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.7)(x)
    return layers.Dense(num_classes, activation="softmax")(x)
    # END SOLUTION


# Table 1 of the paper: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
# BEGIN SOLUTION ONLY
BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
# END SOLUTION ONLY


def build_googlenet(input_shape=(224, 224, 3), num_classes: int = 1000, aux_classifiers: bool = True) -> keras.Model:
    """GoogLeNet without LRN; outputs [main, aux after 4a, aux after 4d] with auxiliary classifiers."""
    # BEGIN SOLUTION
    # HINT: build_googlenet: follow Table 1 of the paper (stem, 3a, 3b, pool, 4a-4e, pool, 5a, 5b, global
    #   average pooling, Dropout(0.4), Dense softmax); with aux_classifiers=True return a keras.Model whose
    #   outputs are [main, auxiliary after 4a, auxiliary after 4d], else only the main output.
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
    # END SOLUTION
