"""Written from the contract, one mistake: the extractor's kernels are 5x5."""

from __future__ import annotations

import keras
from keras import layers


def dense_connections(n_in: int, n_out: int) -> int:
    """The arrows (weights) of a fully connected layer from `n_in` to `n_out` units, without biases."""
    return n_in * n_out


def conv1d_connections(n: int, kernel_size: int) -> int:
    """The arrows of a stride-1, zero-padded ("same") 1-D convolution over `n` inputs, counting only arrows that
    leave a real input (not the padding). `kernel_size` is odd."""
    reach = kernel_size // 2
    return sum(min(i + reach, n - 1) - max(i - reach, 0) + 1 for i in range(n))


def conv2d_params(in_channels: int, filters: int, kernel_size, use_bias: bool = True) -> int:
    """The weights of a Conv2D layer; `kernel_size` is an int or a pair (kh, kw)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    return kh * kw * in_channels * filters + (filters if use_bias else 0)


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: str = "valid", dilation: int = 1) -> int:
    """The spatial length after a convolution or pooling layer over `n` positions, as Keras computes it."""
    if padding == "same":
        return (n + stride - 1) // stride
    span = (kernel_size - 1) * dilation + 1
    return (n - span) // stride + 1


def receptive_field(chain) -> int:
    """The receptive field, in input pixels, of one unit of the last layer of a chain of layers, each given as
    (kernel_size, stride) or (kernel_size, stride, dilation)."""
    field, jump = 1, 1
    for layer in chain:
        kernel, stride, dilation = (*layer, 1)[:3]
        field += (kernel - 1) * dilation * jump
        jump *= stride
    return field


def build_feature_extractor(channels: int = 8) -> keras.Model:
    """Three Conv2D(channels, 3) layers, stride 1, 'same' padding and ReLU, on inputs (None, None, 1)."""
    inputs = keras.Input(shape=(None, None, 1))
    x = inputs
    for _ in range(3):
        x = layers.Conv2D(channels, 5, padding="same", activation="relu")(x)
    return keras.Model(inputs, x, name="feature_extractor")
