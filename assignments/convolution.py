"""Convolution arithmetic: sparse connectivity, parameter sharing and receptive fields.

A fully connected layer joins every input to every output; a convolution joins each output to a few neighbouring
inputs (sparse connectivity) with the same few weights at every position (parameter sharing). Stacking small
convolutions grows the region of the input that one unit sees: its receptive field.

Fill in the functions below, then check your work with `grade assignments/convolution.py`.
"""

from __future__ import annotations

import keras
from keras import layers


def dense_connections(n_in: int, n_out: int) -> int:
    """The arrows (weights) of a fully connected layer from `n_in` to `n_out` units, without biases."""
    raise NotImplementedError(
        "dense_connections: every input unit is joined to every output unit."
    )


def conv1d_connections(n: int, kernel_size: int) -> int:
    """The arrows of a stride-1, zero-padded ("same") 1-D convolution over `n` inputs, counting only arrows that
    leave a real input (not the padding). `kernel_size` is odd."""
    raise NotImplementedError(
        "conv1d_connections: output i sees inputs i - r ... i + r with r = kernel_size // 2; count those that "
        "lie between 0 and n - 1, for every output i."
    )


def conv2d_params(in_channels: int, filters: int, kernel_size, use_bias: bool = True) -> int:
    """The weights of a Conv2D layer; `kernel_size` is an int or a pair (kh, kw)."""
    raise NotImplementedError(
        "conv2d_params: one kh x kw x in_channels kernel per filter, plus one bias per filter if use_bias."
    )


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: str = "valid", dilation: int = 1) -> int:
    """The spatial length after a convolution or pooling layer over `n` positions, as Keras computes it."""
    raise NotImplementedError(
        "conv_output_size: a dilated kernel spans (kernel_size - 1) * dilation + 1 positions; 'valid' keeps the"
        " positions where it fits, 'same' pads so that the length is n / stride rounded up."
    )


def receptive_field(chain) -> int:
    """The receptive field, in input pixels, of one unit of the last layer of a chain of layers, each given as
    (kernel_size, stride) or (kernel_size, stride, dilation)."""
    raise NotImplementedError(
        "receptive_field: start from 1; each layer adds (kernel_size - 1) * dilation times the product of the "
        "strides of the layers before it."
    )


def build_feature_extractor(channels: int = 8) -> keras.Model:
    """Three Conv2D(channels, 3) layers, stride 1, 'same' padding and ReLU, on inputs (None, None, 1)."""
    raise NotImplementedError(
        "build_feature_extractor: keras.Input(shape=(None, None, 1)), then three Conv2D(channels, 3, "
        "padding='same', activation='relu'); return a keras.Model."
    )
