"""Judgements shared by several rubrics: parameter counts and structure against the reference."""

from __future__ import annotations

from typing import Any

from grader.analysis.graph import Graph
from grader.analysis.params import diagnose
from grader.analysis.structure import chain_diff, decompose, structure_diff
from grader.registry import Context, Fail, Probe


def compare_params(ctx: Context, probe: Probe, what: str) -> str:
    """Pass when trainable and non-trainable counts match the reference's; else Fail naming the likely cause."""
    found, expected = ctx.student(probe, "params"), ctx.reference(probe, "params")
    if found["trainable"] == expected["trainable"] and found["non_trainable"] == expected["non_trainable"]:
        return f"{what}: {found['trainable']:,} trainable and {found['non_trainable']:,} non-trainable parameters"
    parts = []
    for key, text in (("trainable", "trainable"), ("non_trainable", "non-trainable")):
        if found[key] != expected[key]:
            parts.append(f"{text} parameters: expected {expected[key]:,}, found {found[key]:,}")
    message = f"{what}: " + "; ".join(parts) + "."
    causes = diagnose(ctx.student_graph(probe), ctx.reference_graph(probe))
    if causes:
        message += "\nLikely cause:\n" + "\n".join(f"  - {c}" for c in causes)
    layers = chain_diff(_param_labels(expected["layers"]), _param_labels(found["layers"]))
    if layers and (not causes or len(layers) <= 3):
            message += "\nLayers with parameters that differ:\n" + "\n".join(f"  - {line}" for line in layers)
    raise Fail(message)


def _param_labels(layers: list[list[Any]]) -> list[str]:
    return [f"{label} ({count:,} parameters)" for label, count in layers]


def compare_layers(ctx: Context, probe: Probe, what: str) -> str:
    """Pass when the canonical structure matches the reference's; else Fail with a short diff."""
    found, expected = ctx.student(probe, "structure"), ctx.reference(probe, "structure")
    if found["signature"] == expected["signature"]:
        return f"{what}: " + " -> ".join(found["labels"])
    lines = structure_diff(decompose(ctx.reference_graph(probe)), decompose(ctx.student_graph(probe)))
    if not lines:
        lines = ["the same layers, connected differently"]
    raise Fail(f"{what} differs from the expected architecture:\n" + "\n".join(f"  - {line}" for line in lines))


__all__ = ["Graph", "compare_layers", "compare_params"]
