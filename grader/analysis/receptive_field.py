"""Receptive fields of the units of every node of a model's graph.

For each node: the size of the input window one unit sees, the effective stride (how far the window moves
between neighbouring units) and the centre of the first unit's window, per spatial axis. Convolutions and
pooling grow the window by `(k_eff - 1) * jump` with `k_eff = dilation * (k - 1) + 1`; merges take the largest
window over their branches; global pooling, `Flatten` and `Dense` see the whole input.

>>> import keras
>>> inputs = keras.Input((None, None, 1))
>>> x = keras.layers.Conv2D(4, 3)(inputs)
>>> x = keras.layers.MaxPooling2D(2)(x)
>>> x = keras.layers.Conv2D(4, 3)(x)
>>> fields = receptive_fields(trace(keras.Model(inputs, x)))
>>> fields[3].size, fields[3].jump
((8, 8), (2, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.analysis.graph import Graph, Node, trace

GLOBAL_KINDS = frozenset({"global_avg_pool", "global_max_pool", "flatten", "dense"})
_WINDOW_KINDS = frozenset({"conv", "depthwiseconv2d", "separableconv2d", "max_pool", "avg_pool"})


@dataclass(frozen=True)
class Field:
    """The receptive field of one unit; `size` None means the unit sees the whole input."""

    size: tuple[int, int] | None
    jump: tuple[int, int]
    start: tuple[float, float]

    @property
    def is_global(self) -> bool:
        return self.size is None

    def describe(self) -> str:
        if self.size is None:
            return "the whole input"
        h, w = self.size
        size = f"{h}x{w}" if h != w else f"{h}"
        jump = self.jump[0] if self.jump[0] == self.jump[1] else self.jump
        return f"{size} pixels, effective stride {jump}"


_ORIGIN = Field((1, 1), (1, 1), (0.0, 0.0))


def receptive_fields(graph: Graph) -> dict[int, Field]:
    """The field of every node of `graph`, by node index."""
    fields: dict[int, Field] = {}
    for node in graph.nodes:
        inputs = [fields[i] for i in node.inputs]
        fields[node.index] = _field(node, inputs, graph)
    return fields


def _field(node: Node, inputs: list[Field], graph: Graph) -> Field:
    if not inputs:
        return _ORIGIN
    if node.kind in GLOBAL_KINDS or any(f.is_global for f in inputs):
        return Field(None, inputs[0].jump, inputs[0].start)
    if len(inputs) > 1:
        size = tuple(max(f.size[a] for f in inputs) for a in (0, 1))  # type: ignore[index]
        jump = tuple(max(f.jump[a] for f in inputs) for a in (0, 1))
        start = tuple(min(f.start[a] for f in inputs) for a in (0, 1))
        return Field(size, jump, start)  # type: ignore[arg-type]
    field = inputs[0]
    if node.kind == "zero_padding":
        pad = _padding_before(node.settings.get("padding"))
        start = tuple(field.start[a] - pad[a] * field.jump[a] for a in (0, 1))
        return Field(field.size, field.jump, start)  # type: ignore[arg-type]
    if node.kind not in _WINDOW_KINDS:
        return field
    kernel = node.settings.get("kernel") or node.settings["pool"]
    strides = node.settings["strides"]
    dilation = node.settings.get("dilation", (1, 1))
    source = graph.nodes[node.inputs[0]].shape
    size, jump, start = [], [], []
    for a in (0, 1):
        span = dilation[a] * (kernel[a] - 1) + 1
        pad = _same_pad_before(span, strides[a], source[1 + a] if source else None)
        pad = pad if node.settings["padding"] == "same" else 0
        size.append(field.size[a] + (span - 1) * field.jump[a])  # type: ignore[index]
        start.append(field.start[a] + ((span - 1) / 2 - pad) * field.jump[a])
        jump.append(field.jump[a] * strides[a])
    return Field(tuple(size), tuple(jump), tuple(start))  # type: ignore[arg-type]


def _same_pad_before(span: int, stride: int, length: int | None) -> int:
    """Zeros Keras adds before the first position with padding='same' (TensorFlow's rule)."""
    if length is None or length % stride == 0:
        total = max(span - stride, 0)
    else:
        total = max(span - length % stride, 0)
    return total // 2


def _padding_before(padding: object) -> tuple[int, int]:
    if isinstance(padding, int):
        return (padding, padding)
    rows, cols = padding  # type: ignore[misc]
    return (rows if isinstance(rows, int) else rows[0], cols if isinstance(cols, int) else cols[0])


def feature_field(graph: Graph) -> Field | None:
    """The field of the last spatial feature maps of the main output: those feeding the first global pooling or
    `Flatten` it is computed from (an auxiliary head's are not)."""
    fields = receptive_fields(graph)
    main = graph.main_output()
    path = graph.ancestors(main) if main is not None else set(range(len(graph.nodes)))
    for node in graph.nodes:
        if node.kind in ("global_avg_pool", "global_max_pool", "flatten") and node.index in path:
            return fields[node.inputs[0]]
    spatial = [n for n in graph.nodes if n.shape is not None and len(n.shape) == 4]
    return fields[spatial[-1].index] if spatial else None


def chain_field(layers: list[tuple[int, ...]]) -> int:
    """Receptive field of a chain of `(kernel, stride)` or `(kernel, stride, dilation)` layers, in pixels.

    >>> chain_field([(3, 1)] * 3), chain_field([(3, 2), (3, 2)])
    (7, 7)
    """
    size, jump = 1, 1
    for layer in layers:
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) > 2 else 1
        size += dilation * (kernel - 1) * jump
        jump *= stride
    return size


__all__ = ["Field", "chain_field", "feature_field", "receptive_fields", "trace"]


def gradient_field(model: Any, layer_name: str, size: int) -> tuple[int, int]:
    """The receptive field measured, not computed: rows and columns of the input that one unit depends on.

    The model is cloned with the same geometry (kernels, strides, dilations, padding, merges) but one filter per
    convolution, average pooling for max pooling, no nonlinearity and positive averaging weights, in float64; then
    the gradient of the centre unit of `layer_name`, on a `size` x `size` input, is non-zero exactly on its field.
    `size` must exceed the field so that the whole field lies inside the input.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    channels = int(model.inputs[0].shape[-1])
    inputs = keras.Input((size, size, channels), dtype="float64")
    clone = keras.models.clone_model(model, input_tensors=inputs, clone_function=_geometry_only, recursive=True)
    target = keras.Model(clone.inputs, clone.get_layer(layer_name).output)
    for weight in target.weights:
        name = weight.path.rsplit("/", 1)[-1]
        shape = tuple(int(d) for d in weight.shape)
        if "kernel" in name:
            weight.assign(np.full(shape, 1.0 / max(int(np.prod(shape[:-1])), 1)))
        elif name in ("gamma", "moving_variance"):
            weight.assign(np.ones(shape))
        else:
            weight.assign(np.zeros(shape))
    x = tf.Variable(np.ones((1, size, size, channels)))
    with tf.GradientTape() as tape:
        y = target(x, training=False)
        unit = y[0, y.shape[1] // 2, y.shape[2] // 2, 0]
    grad = np.abs(tape.gradient(unit, x).numpy()[0]).sum(axis=-1)
    rows, cols = np.nonzero(grad.sum(axis=1))[0], np.nonzero(grad.sum(axis=0))[0]
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def _geometry_only(layer: Any) -> Any:
    import keras

    config = layer.get_config()
    config["dtype"] = "float64"
    name = type(layer).__name__
    if name in ("MaxPooling2D", "AveragePooling2D"):
        return keras.layers.AveragePooling2D(config["pool_size"], config["strides"], config["padding"],
                                             name=config["name"], dtype="float64")
    if name in ("GlobalMaxPooling2D", "GlobalAveragePooling2D"):
        return keras.layers.GlobalAveragePooling2D(name=config["name"], dtype="float64")
    if name in ("ReLU", "Activation", "Softmax", "LeakyReLU", "ELU", "PReLU", "Dropout", "SpatialDropout2D"):
        return keras.layers.Activation("linear", name=config["name"], dtype="float64")
    if "activation" in config:
        config["activation"] = "linear"
    if "filters" in config:
        config["filters"] = 1
    if "units" in config:
        config["units"] = 1
    return type(layer).from_config(config)
