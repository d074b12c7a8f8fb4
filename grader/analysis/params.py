"""Parameter accounting per node and in total (why two models' counts differ, in words, is
`grader.rubrics.diagnosis`).

>>> import keras
>>> inputs = keras.Input((8, 8, 3))
>>> x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
>>> x = keras.layers.BatchNormalization()(x)
>>> count = count_params(trace(keras.Model(inputs, x)))
>>> count.trainable, count.non_trainable
(120, 8)
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.analysis.graph import Graph, trace


@dataclass(frozen=True)
class ParamCount:
    trainable: int
    non_trainable: int
    per_node: tuple[tuple[str, int, int], ...]  # (label, trainable, non-trainable) of nodes with weights

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


def count_params(graph: Graph) -> ParamCount:
    """Trainable and non-trainable parameters, per node and in total."""
    rows = tuple((n.label, n.trainable, n.non_trainable) for n in graph.nodes if n.params)
    return ParamCount(sum(r[1] for r in rows), sum(r[2] for r in rows), rows)


__all__ = ["ParamCount", "count_params", "trace"]
