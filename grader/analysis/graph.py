"""A Keras model as a flat graph of canonical nodes, whatever the spelling.

Nested models (a `Sequential` inside a functional model) are expanded, an activation folded into a layer
(`Conv2D(..., activation="relu")`) becomes a node of its own, and `keras.ops` calls on tensors become nodes
like layers, so `Conv2D(activation="relu")`, `Conv2D` + `ReLU()` and `Conv2D` + `Activation("relu")` give the
same graph. A graph is plain data (`to_data`, `from_data`), so it can be cached without Keras.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from grader.analysis.canonical import NO_PADDING, describe_layer, label, padding_is_moot


@dataclass
class Node:
    """One step of the computation: its kind, settings, producers, output shape and own parameters."""

    index: int
    kind: str
    settings: dict[str, Any]
    inputs: tuple[int, ...]
    shape: tuple[int | None, ...] | None = None
    trainable: int = 0
    non_trainable: int = 0
    name: str = ""

    @property
    def label(self) -> str:
        return label(self.kind, self.settings)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class Graph:
    """Nodes in topological order (producers first) and the indices of the model's outputs."""

    nodes: list[Node] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def consumers(self, index: int) -> list[Node]:
        return [n for n in self.nodes if index in n.inputs]

    def of_kind(self, *kinds: str) -> list[Node]:
        return [n for n in self.nodes if n.kind in kinds]

    def ancestors(self, index: int) -> set[int]:
        """The nodes `index` is computed from, itself included."""
        seen, stack = {index}, [index]
        while stack:
            for producer in self.nodes[stack.pop()].inputs:
                if producer not in seen:
                    seen.add(producer)
                    stack.append(producer)
        return seen

    def main_output(self) -> int | None:
        """The output computed from the most nodes: the main classifier of a network with auxiliary heads, which
        branch off earlier, whatever the order in which the model lists its outputs."""
        return max(self.outputs, key=lambda i: len(self.ancestors(i)), default=None)

    def to_data(self) -> dict[str, Any]:
        nodes = [[n.kind, n.settings, list(n.inputs), list(n.shape) if n.shape is not None else None,
                  n.trainable, n.non_trainable, n.name] for n in self.nodes]
        return {"nodes": nodes, "outputs": list(self.outputs)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Graph:
        nodes = []
        for index, (kind, settings, inputs, shape, trainable, frozen, name) in enumerate(data["nodes"]):
            settings = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
            nodes.append(Node(index, kind, settings, tuple(inputs), tuple(shape) if shape is not None else None,
                              trainable, frozen, name))
        return cls(nodes, list(data["outputs"]))


def trace(model: Any) -> Graph:
    """The canonical graph of a built functional or Sequential Keras model."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        tracer = _Tracer()
        tracer.graph.outputs = tracer.expand(model, None)
        return tracer.graph
    finally:
        sys.setrecursionlimit(limit)


def _size(weights: list[Any]) -> int:
    total = 0
    for w in weights:
        count = 1
        for d in w.shape:
            count *= int(d)
        total += count
    return total


_WINDOWED = {"conv", "conv1d", "depthwiseconv2d", "separableconv2d", "max_pool", "avg_pool"}


class _Tracer:
    def __init__(self) -> None:
        self.graph = Graph()
        self.seen_layers: set[int] = set()

    def add(self, layer: Any, inputs: list[int], shape: Any) -> int:
        import keras

        kind, settings, activation = describe_layer(layer)
        shape = tuple(shape) if shape is not None else None
        if kind in _WINDOWED and settings.get("padding") in ("same", "valid") and \
                getattr(layer, "data_format", "channels_last") == "channels_last" and \
                padding_is_moot(settings, self.graph.nodes[inputs[0]].shape if inputs else None):
            settings = {**settings, "padding": NO_PADDING}  # as 'same' adds nothing here, both spell one function
        if kind == "concat" and shape is not None and settings.get("axis") == len(shape) - 1:
            settings = {**settings, "axis": -1}  # axis 3 of a 4-D tensor is the channel axis, as -1 is
        trainable = frozen = 0
        if isinstance(layer, keras.layers.Layer) and id(layer) not in self.seen_layers:
            self.seen_layers.add(id(layer))  # a shared layer's weights are counted once
            trainable, frozen = _size(layer.trainable_weights), _size(layer.non_trainable_weights)
        name = getattr(layer, "name", "")
        if kind is not None:
            index = len(self.graph.nodes)
            self.graph.nodes.append(Node(index, kind, settings, tuple(inputs), shape, trainable, frozen, name))
            inputs = [index]
        if activation is not None:
            index = len(self.graph.nodes)
            self.graph.nodes.append(Node(index, activation, {}, tuple(inputs), shape, 0, 0, name))
            inputs = [index]
        return inputs[0]

    def expand(self, model: Any, input_ids: list[int] | None) -> list[int]:
        import keras

        functional = model
        if isinstance(model, keras.Sequential):
            functional = getattr(model, "_functional", None)
            if functional is None:
                return self._chain(model, input_ids)
        inner_inputs = keras.tree.flatten(functional.inputs)
        binding: dict[int, int] = {}
        if input_ids is not None:
            binding = {id(t): i for t, i in zip(inner_inputs, input_ids, strict=False)}
        memo: dict[tuple[int, int], list[int]] = {}

        def visit(tensor: Any) -> int:
            if id(tensor) in binding:
                return binding[id(tensor)]
            operation, node_index, tensor_index = tensor._keras_history
            key = (id(operation), node_index)
            if key not in memo:
                if isinstance(operation, keras.layers.InputLayer):
                    memo[key] = [self.add(operation, [], tensor.shape)]
                else:
                    node = operation._inbound_nodes[node_index]
                    ids = [visit(t) for t in node.input_tensors]
                    if isinstance(operation, keras.Model):
                        memo[key] = self.expand(operation, ids)
                    else:
                        memo[key] = [self.add(operation, ids, tensor.shape)]
            outs = memo[key]
            return outs[tensor_index] if tensor_index < len(outs) else outs[0]

        return [visit(t) for t in keras.tree.flatten(functional.outputs)]

    def _chain(self, model: Any, input_ids: list[int] | None) -> list[int]:
        import keras

        ids = input_ids or []
        for layer in model.layers:
            if isinstance(layer, keras.Model):
                ids = self.expand(layer, ids)
            else:
                ids = [self.add(layer, ids, None)]
        return ids
