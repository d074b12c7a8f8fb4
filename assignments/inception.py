"""Inception (GoogLeNet): naive and reduced blocks, auxiliary classifiers, the full network.

Szegedy et al., "Going Deeper with Convolutions" (2015). A block runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max
pool side by side and concatenates them on channels; 1x1 convolutions in front of the large kernels (and after
the pool) reduce the channels they see, which cuts the cost about 2.4 times for block 3a.

Fill in the functions below, then check your work with `grade assignments/inception.py`.
"""

from __future__ import annotations

import keras
from keras import layers


def naive_inception_block(x, f1: int, f3: int, f5: int):
    """1x1, 3x3 and 5x5 convolutions and a 3x3 max pool in parallel: f1 + f3 + f5 + C_in channels."""
    raise NotImplementedError(
        "naive_inception_block: apply Conv2D(f1, 1), Conv2D(f3, 3) and Conv2D(f5, 5) (ReLU, padding='same') and"
        " MaxPooling2D(3, strides=1, padding='same') to the same input x, then Concatenate them on the channel "
        "axis."
    )


def inception_block(x, f1: int, f3_reduce: int, f3: int, f5_reduce: int, f5: int, pool_proj: int):
    """The block with dimension reduction: f1 + f3 + f5 + pool_proj channels."""
    raise NotImplementedError(
        "inception_block: four branches from x: a 1x1 conv (f1); a 1x1 conv (f3_reduce) then a 3x3 conv (f3); a"
        " 1x1 conv (f5_reduce) then a 5x5 conv (f5); a 3x3 max pool (stride 1, 'same') then a 1x1 conv "
        "(pool_proj). Every conv has ReLU and padding='same'. Concatenate the four on channels."
    )


def auxiliary_classifier(x, num_classes: int):
    """AveragePooling2D(5, 3) -> 1x1 conv 128 -> Flatten -> Dense 1024 -> Dropout 0.7 -> softmax."""
    raise NotImplementedError(
        "auxiliary_classifier: AveragePooling2D(5, strides=3), Conv2D(128, 1) with ReLU, Flatten, Dense(1024) "
        "with ReLU, Dropout(0.7), and Dense(num_classes) with softmax."
    )


# Table 1 of the paper: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).


def build_googlenet(input_shape=(224, 224, 3), num_classes: int = 1000, aux_classifiers: bool = True) -> keras.Model:
    """GoogLeNet without LRN; outputs [main, aux after 4a, aux after 4d] with auxiliary classifiers."""
    raise NotImplementedError(
        "build_googlenet: follow Table 1 of the paper (stem, 3a, 3b, pool, 4a-4e, pool, 5a, 5b, global average "
        "pooling, Dropout(0.4), Dense softmax); with aux_classifiers=True return a keras.Model whose outputs "
        "are [main, auxiliary after 4a, auxiliary after 4d], else only the main output."
    )
