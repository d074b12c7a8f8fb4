"""Judgements shared by several rubrics: parameter counts and layer lists against the reference."""

from __future__ import annotations

from typing import Any

from grader.analysis.structure import chain_diff
from grader.registry import Fail


def compare_params(found: dict[str, Any], expected: dict[str, Any], what: str) -> str:
    """Pass with a message when trainable and non-trainable counts match; else Fail naming the layers."""
    if found["trainable"] == expected["trainable"] and found["non_trainable"] == expected["non_trainable"]:
        return f"{what}: {found['trainable']:,} trainable and {found['non_trainable']:,} non-trainable parameters"
    parts = []
    for key, text in (("trainable", "trainable"), ("non_trainable", "non-trainable")):
        if found[key] != expected[key]:
            parts.append(f"{text} parameters: expected {expected[key]:,}, found {found[key]:,}")
    layers = chain_diff(_param_labels(expected["layers"]), _param_labels(found["layers"]))
    message = f"{what}: " + "; ".join(parts)
    if layers:
        message += ".\nLayers with parameters that differ:\n" + "\n".join(f"  - {line}" for line in layers)
    raise Fail(message)


def _param_labels(layers: list[list[Any]]) -> list[str]:
    return [f"{label} ({count:,} parameters)" for label, count in layers]


def compare_layers(found: dict[str, Any], expected: dict[str, Any], what: str) -> str:
    """Pass when the canonical structure matches the reference's; else Fail with a short diff."""
    if found["signature"] == expected["signature"]:
        return f"{what}: " + " -> ".join(found["labels"])
    lines = chain_diff(expected["labels"], found["labels"])
    if not lines:
        lines = ["the same layers, connected differently"]
    raise Fail(f"{what} differs from the expected architecture:\n" + "\n".join(f"  - {line}" for line in lines))
