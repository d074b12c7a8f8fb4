"""Structural comparison: a canonical signature of a graph and a short readable diff of two of them.

The signature ignores layer names, the order of the operands of commutative merges (the branches of an
Inception block, the two sides of an `Add`) and how activations are spelled.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from typing import TYPE_CHECKING

from grader.analysis.canonical import COMMUTATIVE

if TYPE_CHECKING:
    from grader.analysis.graph import Graph


def signature(graph: Graph) -> str:
    """A hash equal for two graphs exactly when they compute the same thing up to the equivalences."""
    memo: dict[int, str] = {}
    for node in graph.nodes:
        parts = [memo[i] for i in node.inputs]
        if node.kind in COMMUTATIVE:
            parts.sort()
        settings = {k: v for k, v in node.settings.items() if k != "shape" or node.kind != "input"}
        text = json.dumps([node.kind, settings, parts], sort_keys=True, default=str)
        memo[node.index] = hashlib.sha256(text.encode()).hexdigest()[:24]
    outputs = sorted(memo[i] for i in graph.outputs)
    return hashlib.sha256(json.dumps(outputs).encode()).hexdigest()[:24]


def layer_labels(graph: Graph) -> list[str]:
    """The graph as a list of readable steps in order, inputs left out."""
    return [n.label for n in graph.nodes if n.kind != "input"]


def chain_diff(expected: list[str], found: list[str], limit: int = 6) -> list[str]:
    """The differences between two step lists, one readable line each.

    >>> chain_diff(["Conv2D 5x5", "GlobalAveragePooling2D", "softmax"], ["Conv2D 3x3", "GlobalAveragePooling2D"])
    ['expected Conv2D 5x5, found Conv2D 3x3', 'after GlobalAveragePooling2D: expected softmax, found nothing']
    """
    lines = []
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        where = f"after {expected[a0 - 1]}: " if a0 > 0 and op != "replace" else ""
        want = ", ".join(expected[a0:a1]) or "nothing"
        got = ", ".join(found[b0:b1]) or "nothing"
        lines.append(f"{where}expected {want}, found {got}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more differences"]
    return lines
