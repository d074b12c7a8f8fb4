"""Multiply-accumulates of a graph, per node and in total.

Convolutions and dense layers are the MACs that papers count (`out_h * out_w * k_h * k_w * c_in / groups *
filters` for a convolution, `inputs * units` for a dense layer); pooling, normalisation, activations and merges
are counted apart as element-wise operations. Shapes must be static: build the model on a fixed input size.

>>> import keras
>>> inputs = keras.Input((32, 32, 3))
>>> outputs = keras.layers.Conv2D(8, 3, padding="same")(inputs)
>>> count_macs(trace(keras.Model(inputs, outputs))).total
221184
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.analysis.graph import Graph, Node, trace

_ELEMENTWISE = frozenset({"batchnorm", "relu", "softmax", "tanh", "sigmoid", "add", "multiply", "average",
                          "maximum", "subtract", "relu_variant", "silu", "gelu", "elu", "selu", "leaky_relu"})


@dataclass(frozen=True)
class MacCount:
    """MACs of convolutions and dense layers, per node, and element-wise work counted apart."""

    per_node: dict[int, int]
    other: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.per_node.values())

    @property
    def other_total(self) -> int:
        return sum(self.other.values())


class ShapeUnknown(ValueError):
    """The graph has a dimension of unknown size, so its cost depends on the input."""


def _elements(shape: tuple[int | None, ...] | None, node: Node) -> int:
    if shape is None or any(d is None for d in shape[1:]):
        raise ShapeUnknown(f"the output size of {node.label} is not fixed; build the model on a fixed input size")
    count = 1
    for d in shape[1:]:
        count *= int(d)  # type: ignore[arg-type]
    return count


def count_macs(graph: Graph) -> MacCount:
    """The MACs of every convolution and dense node, and the element-wise operations of the others."""
    macs: dict[int, int] = {}
    other: dict[int, int] = {}
    for node in graph.nodes:
        if node.kind in ("conv", "depthwiseconv2d", "separableconv2d", "dense"):
            source = graph.nodes[node.inputs[0]]
            c_in = int(source.shape[-1])  # type: ignore[index]
            out = _elements(node.shape, node)
            if node.kind == "dense":
                macs[node.index] = c_in * out
                continue
            kh, kw = node.settings["kernel"]
            spatial = out // int(node.shape[-1])  # type: ignore[index]
            if node.kind == "conv":
                groups = node.settings.get("groups", 1)
                macs[node.index] = out * kh * kw * c_in // groups
            elif node.kind == "depthwiseconv2d":
                macs[node.index] = out * kh * kw
            else:  # separable: depthwise then pointwise
                macs[node.index] = spatial * c_in * kh * kw + out * c_in
        elif node.kind in ("max_pool", "avg_pool"):
            ph, pw = node.settings["pool"]
            other[node.index] = _elements(node.shape, node) * ph * pw
        elif node.kind in ("global_avg_pool", "global_max_pool"):
            other[node.index] = _elements(graph.nodes[node.inputs[0]].shape, node)
        elif node.kind in _ELEMENTWISE:
            other[node.index] = _elements(node.shape, node) * max(len(node.inputs) - 1, 1)
    return MacCount(macs, other)


def format_count(value: float) -> str:
    """A count as people write it: 1.81 G, 128 M, 4.0 k.

    >>> format_count(1_814_073_344), format_count(128_000_000), format_count(950)
    ('1.81 G', '128 M', '950')
    """
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            scaled = value / size
            return f"{scaled:.3g} {unit}"
    return f"{value:g}"


__all__ = ["MacCount", "ShapeUnknown", "count_macs", "format_count", "trace"]
