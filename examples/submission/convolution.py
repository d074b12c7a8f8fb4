# A student's convolution arithmetic: the receptive field adds the kernel sizes and forgets the strides.
import math

import numpy as np
import tensorflow as tf


def dense_connections(n_in, n_out):
    return np.int64(n_in) * n_out


def conv1d_connections(n, kernel_size):
    r = kernel_size // 2
    rows = np.arange(n)
    return int(np.sum(np.minimum(rows + r, n - 1) - np.maximum(rows - r, 0) + 1))


def conv2d_params(in_channels, filters, kernel_size, use_bias=True):
    kh, kw = np.broadcast_to(kernel_size, (2,))
    return int(kh * kw * in_channels * filters + use_bias * filters)


def conv_output_size(n, kernel_size, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return math.ceil(n / stride)
    return math.floor((n - dilation * (kernel_size - 1) - 1) / stride) + 1


def receptive_field(layers):
    size, jump = 1, 1
    for layer in layers:
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) > 2 else 1
        size, jump = size + (k - 1) * d, jump * s
    return size


def build_feature_extractor(channels=8):
    return tf.keras.Sequential([tf.keras.Input((None, None, 1))] + [
        tf.keras.layers.Conv2D(channels, (3, 3), padding="same", activation="relu") for _ in range(3)])
