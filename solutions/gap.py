"""Global average pooling heads: a classifier that works at any input resolution.

A Flatten + Dense head ties a network to one input size. A global-average-pooling head instead makes one feature
map per class with a convolution and averages each map to a single score, so the same weights classify a 28x28
or a 64x64 image, and the score does not depend on where in the image the object is.
"""

from __future__ import annotations

import keras
from keras import layers


def gap_head(features, num_classes: int, kernel_size: int = 5):
    """Classifier head: Conv2D(num_classes, kernel_size) -> GlobalAveragePooling2D -> softmax.

    Args:
        features: a Keras tensor of shape (batch, height, width, channels).
        num_classes: the number of classes, and so the number of feature maps.
        kernel_size: the size of the class convolution.

    Returns:
        A Keras tensor of shape (batch, num_classes) holding class probabilities.
    """
    # BEGIN SOLUTION
    # HINT: gap_head: apply Conv2D(num_classes, kernel_size, padding='same') to make one map per class, average
    #   each map with GlobalAveragePooling2D, and turn the scores into probabilities with softmax.
    class_maps = layers.Conv2D(num_classes, kernel_size, padding="same")(features)
    scores = layers.GlobalAveragePooling2D()(class_maps)
    return layers.Softmax()(scores)
    # END SOLUTION


def build_lenet_gap(num_classes: int = 10, channels: int = 1) -> keras.Model:
    """LeNet-style network with a global-average-pooling head, for inputs of any size.

    Input (None, None, channels) -> Conv2D(6, 5) ReLU -> MaxPooling2D(2) -> Conv2D(16, 5) ReLU -> MaxPooling2D(2)
    -> gap_head.

    Returns:
        A keras.Model mapping (batch, height, width, channels) images to (batch, num_classes) probabilities.
    """
    # BEGIN SOLUTION
    # HINT: build_lenet_gap: start from keras.Input(shape=(None, None, channels)), add Conv2D(6, 5) with ReLU,
    #   MaxPooling2D(2), Conv2D(16, 5) with ReLU, MaxPooling2D(2), finish with your gap_head, and return a
    #   keras.Model.
    inputs = keras.Input(shape=(None, None, channels))
    x = layers.Conv2D(6, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    outputs = gap_head(x, num_classes)
    return keras.Model(inputs, outputs, name="lenet_gap")
    # END SOLUTION
