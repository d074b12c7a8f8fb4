"""Written from the contract, one mistake: LeNet-5 uses ReLU where the paper has tanh."""

from __future__ import annotations

import keras
from keras import layers


def build_lenet5(num_classes: int = 10) -> keras.Model:
    """LeNet-5 with tanh and average pooling; C3 densely connected. 61,706 parameters for 10 classes."""
    return keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(6, 5, activation="relu"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="relu"),
        layers.AveragePooling2D(2),
        layers.Conv2D(120, 5, activation="relu"),
        layers.Flatten(),
        layers.Dense(84, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="lenet5")


def build_alexnet(num_classes: int = 1000) -> keras.Model:
    """Single-tower AlexNet on 227x227x3, ReLU throughout, no LRN. 62,378,344 parameters."""
    return keras.Sequential([
        keras.Input(shape=(227, 227, 3)),
        layers.Conv2D(96, 11, strides=4, activation="relu"),
        layers.MaxPooling2D(3, strides=2),
        layers.Conv2D(256, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(3, strides=2),
        layers.Conv2D(384, 3, padding="same", activation="relu"),
        layers.Conv2D(384, 3, padding="same", activation="relu"),
        layers.Conv2D(256, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(3, strides=2),
        layers.Flatten(),
        layers.Dense(4096, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(4096, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ], name="alexnet")


def build_vgg16(num_classes: int = 1000) -> keras.Model:
    """VGG-16 (configuration D) on 224x224x3. 138,357,544 parameters, as keras.applications.VGG16."""
    model = keras.Sequential([keras.Input(shape=(224, 224, 3))], name="vgg16")
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(4096, activation="relu"))
    model.add(layers.Dense(4096, activation="relu"))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model
