"""A Keras model as a flat graph of canonical nodes, whatever the spelling.

Nested models (a `Sequential` inside a functional model) are expanded, an activation folded into a layer
(`Conv2D(..., activation="relu")`) becomes a node of its own, and `keras.ops` calls on tensors become nodes
like layers, so `Conv2D(activation="relu")`, `Conv2D` + `ReLU()` and `Conv2D` + `Activation("relu")` give the
same graph.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import keras

from grader.analysis.canonical import canonical_activation, describe_layer


@dataclass
class Node:
    """One step of the computation."""

    index: int
    kind: str
    settings: dict[str, Any]
    inputs: tuple[int, ...]
    layer: Any = None
    shape: tuple[int | None, ...] | None = None
    params: int = 0

    @property
    def label(self) -> str:
        from grader.analysis.canonical import label

        return label(self.kind, self.settings)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def consumers(self, index: int) -> list[Node]:
        return [n for n in self.nodes if index in n.inputs]

    def of_kind(self, *kinds: str) -> list[Node]:
        return [n for n in self.nodes if n.kind in kinds]


def trace(model: keras.Model) -> Graph:
    """The canonical graph of a built functional or Sequential model."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        tracer = _Tracer()
        tracer.graph.outputs = tracer.expand(model, None)
        return tracer.graph
    finally:
        sys.setrecursionlimit(limit)


class _Tracer:
    def __init__(self) -> None:
        self.graph = Graph()

    def add(self, layer: Any, inputs: list[int], shape: Any) -> int:
        kind, settings, activation = describe_layer(layer)
        shape = tuple(shape) if shape is not None else None
        params = layer.count_params() if isinstance(layer, keras.layers.Layer) and layer.built else 0
        index = len(self.graph.nodes)
        if kind is not None:
            self.graph.nodes.append(Node(index, kind, settings, tuple(inputs), layer, shape, params))
            inputs = [index]
        if activation is not None:
            index = len(self.graph.nodes)
            self.graph.nodes.append(Node(index, activation, {}, tuple(inputs), None, shape, 0))
            inputs = [index]
        return inputs[0]

    def expand(self, model: Any, input_ids: list[int] | None) -> list[int]:
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

    def _chain(self, model: keras.Sequential, input_ids: list[int] | None) -> list[int]:
        ids = input_ids or []
        for layer in model.layers:
            if isinstance(layer, keras.Model):
                ids = self.expand(layer, ids)
            else:
                ids = [self.add(layer, ids, None)]
        return ids


__all__ = ["Graph", "Node", "trace", "canonical_activation"]
