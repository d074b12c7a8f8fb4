"""The classic networks: LeNet-5 (1998), AlexNet (2012, single tower) and VGG-16 (2014).

Fill in the functions below, then check your work with `grade assignments/classic.py`."""

from __future__ import annotations

import keras
from keras import layers


def build_lenet5(num_classes: int = 10) -> keras.Model:
    """LeNet-5 with tanh and average pooling; C3 densely connected. 61,706 parameters for 10 classes."""
    raise NotImplementedError(
        "build_lenet5: a keras.Sequential on 32x32x1 inputs: Conv2D(6, 5, 'tanh') -> AveragePooling2D(2) -> "
        "Conv2D(16, 5, 'tanh') -> AveragePooling2D(2) -> Conv2D(120, 5, 'tanh') -> Flatten -> Dense(84, 'tanh')"
        " -> Dense(num_classes, 'softmax'): 61,706 parameters for 10 classes."
    )


def build_alexnet(num_classes: int = 1000) -> keras.Model:
    """Single-tower AlexNet on 227x227x3, ReLU throughout, no LRN. 62,378,344 parameters."""
    raise NotImplementedError(
        "build_alexnet: 227x227x3 inputs; Conv2D(96, 11, strides=4) ReLU -> MaxPooling2D(3, 2) -> Conv2D(256, "
        "5, 'same') ReLU -> MaxPooling2D(3, 2) -> three Conv2D 3x3 'same' (384, 384, 256) ReLU -> "
        "MaxPooling2D(3, 2) -> Flatten -> Dense(4096) ReLU, Dropout(0.5), twice -> Dense(num_classes, "
        "'softmax')."
    )


def build_vgg16(num_classes: int = 1000) -> keras.Model:
    """VGG-16 (configuration D) on 224x224x3. 138,357,544 parameters, as keras.applications.VGG16."""
    raise NotImplementedError(
        "build_vgg16: 224x224x3 inputs; five stages of 3x3 'same' ReLU convolutions (2 x 64, 2 x 128, 3 x 256, "
        "3 x 512, 3 x 512), each followed by MaxPooling2D(2) -> Flatten -> Dense(4096) ReLU twice -> "
        "Dense(num_classes, 'softmax'): 138,357,544 parameters for 1000 classes."
    )
