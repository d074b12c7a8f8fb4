"""Written from the contract, one mistake: the class convolution has no padding."""

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
    class_maps = layers.Conv2D(num_classes, kernel_size)(features)
    scores = layers.GlobalAveragePooling2D()(class_maps)
    return layers.Softmax()(scores)


def build_lenet_gap(num_classes: int = 10, channels: int = 1) -> keras.Model:
    """LeNet-style network with a global-average-pooling head, for inputs of any size.

    Input (None, None, channels) -> Conv2D(6, 5) ReLU -> MaxPooling2D(2) -> Conv2D(16, 5) ReLU -> MaxPooling2D(2)
    -> gap_head.

    Returns:
        A keras.Model mapping (batch, height, width, channels) images to (batch, num_classes) probabilities.
    """
    inputs = keras.Input(shape=(None, None, channels))
    x = layers.Conv2D(6, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    outputs = gap_head(x, num_classes)
    return keras.Model(inputs, outputs, name="lenet_gap")
