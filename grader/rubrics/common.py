"""Judgements shared by several rubrics, each named for the verdict it gives a probe: `params_match`,
`layers_match`, `outputs_shaped`, `outputs_are_probabilities`, `trains_like_reference`.

Each is a `grader.registry.judgement`: `params_match(PROBE, what)` is the judge of a check
(`RUBRIC.check(..., judge=params_match(PROBE, what))`), and `params_match(PROBE, what)(ctx)` its verdict inside
another judge.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from grader.analysis.structure import marked
from grader.margins import verdict
from grader.registry import Context, Fail, Probe, judgement
from grader.rubrics.diagnosis import diagnose
from grader.rubrics.differences import chain_diff, structure_diff


@judgement
def params_match(ctx: Context, probe: Probe, what: str) -> str:
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


BLOCK_PICTURE_LAYERS = 24  # the most layers a structure check draws, on either side (an Inception block has 13)


@judgement
def layers_match(ctx: Context, probe: Probe, what: str) -> str:
    """Pass when the canonical structure matches the reference's; else Fail with a short diff."""
    found, expected = ctx.student(probe, "structure"), ctx.reference(probe, "structure")
    if found["signature"] == expected["signature"]:
        if len(found["labels"]) <= 8:
            return f"{what}: " + " -> ".join(found["labels"])
        return f"{what}: the same {len(found['labels'])} layers as the reference, arranged equivalently"
    expected_items, found_items = ctx.decomposed(probe)
    lines = structure_diff(expected_items, found_items)
    # a block or a head, yours as small: a drawing of thousands of a student's layers would take the grader's time
    if max(len(expected["labels"]), len(found["labels"])) <= BLOCK_PICTURE_LAYERS:
        reference_data, student_data = marked(expected_items, found_items)
        ctx.attach(figure={"kind": "block", "what": what, "student": student_data, "reference": reference_data})
    if not lines:
        lines = ["the same layers, connected differently"]
    counts = Counter(lines)  # one mistake repeated in every block reads once, with its count
    lines = [line if counts[line] == 1 else f"{line} ({counts[line]} times)" for line in dict.fromkeys(lines)]
    raise Fail(f"{what} differs from the expected architecture:\n" + "\n".join(f"  - {line}" for line in lines))


def _shape_text(shape: list[int | None]) -> str:
    return "(" + ", ".join("batch" if d is None else str(d) for d in shape) + ")"


@judgement
def outputs_shaped(ctx: Context, probe: Probe, expected: list[list[int | None]], why: str) -> str:
    """Pass when the model's outputs have exactly the expected shapes."""
    found = ctx.student(probe, "outputs")
    wanted = ", ".join(_shape_text(s) for s in expected)
    got = ", ".join(_shape_text(s) for s in found)
    if found != expected:
        count = f"{len(expected)} output{'s' if len(expected) > 1 else ''}"
        reason = f": {why}" if why else ""
        raise Fail(f"{probe.call_text()}: expected {count} of shape {wanted}, found {got}{reason}")
    return f"output shape {got}"


def not_probabilities(output: dict[str, float]) -> bool:
    """The one probability rule: whether an output (its `min`, `max` and rows' `sum_error`, as measured) is not a
    probability vector: a value below 0 or above 1, or a row that does not sum to 1, beyond rounding."""
    return output["min"] < 0 or output["max"] > 1 + 1e-5 or output["sum_error"] > 1e-4


@judgement
def outputs_are_probabilities(ctx: Context, probe: Probe, what: str) -> str:
    """Pass when every output row of the model is non-negative and sums to 1."""
    found = ctx.student(probe, "probabilities")
    if "error" in found:
        raise Fail(f"{what} could not classify a batch: {found['error']}")
    for number, output in enumerate(found["outputs"], start=1):
        if not_probabilities(output):
            which = f"output {number}" if len(found["outputs"]) > 1 else "the output"
            raise Fail(f"{what}: {which} is not a probability vector: values from {output['min']:.3g} to "
                       f"{output['max']:.3g}, rows summing to 1 within {output['sum_error']:.3g}. End each classifier "
                       "with a softmax.")
    return f"{len(found['outputs'])} output(s), each a probability vector"


@judgement
def trains_like_reference(ctx: Context, probe: Probe, what: str) -> str:
    """Pass when the student's network trains like the reference's under the same seed and budget, within the
    probe's margins for the profile (`grader.margins.verdict`)."""
    found, expected = ctx.student(probe, "convergence"), ctx.reference(probe, "convergence")
    if "error" in found:
        raise Fail(f"{what}: {found['error']}")
    ctx.attach(curves={"student": found, "reference": expected})
    budget = (f"{found['steps']} steps of {found['profile']} training on {found['dataset']} "
              f"(seed {found['seed']})")
    summary = (f"{what} reached {found['val_accuracy']:.1%} validation accuracy and a training loss of "
               f"{found['train_loss']:.3f} after {budget}; the reference reached {expected['val_accuracy']:.1%} "
               f"and {expected['train_loss']:.3f}")
    assert probe.margins is not None  # declared with the probe: Rubric.probe / Rubric.harness check it
    reason = verdict(found, expected, probe.margins, found["profile"])
    if reason:
        raise Fail(f"{summary}: {reason}. {_why_slow(ctx)}")
    return summary


def _why_slow(ctx: Context) -> str:
    """The likely cause of slow training: what an earlier check of this assignment already found, else a guess."""
    outputs = next(((name, line) for name, line in ctx.failed if "probabilit" in line), None)
    if outputs:
        return (f"The check \"{outputs[0]}\" found why: {outputs[1]} The cross-entropy loss is computed on the outputs "
                "as probabilities, so a network whose outputs are not probabilities cannot learn from it: fix that "
                "first.")
    if ctx.failed:
        name, line = ctx.failed[0]
        return (f"Fix what the check \"{name}\" found first ({line}): a network built otherwise than specified "
                "trains otherwise.")
    return ("A network that learns this slowly usually lacks a nonlinearity, a shortcut, or throws away where things "
            "are before classifying them.")
