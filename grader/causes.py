"""What one mistake explains: an assignment's failed checks grouped by cause, from the grader's own measurements.

A failed check is explained by what it read (`Context.read`):
- a call that raised, or returned no model: that error, one cause per function;
- a plain function's value: the function, whatever the arguments;
- a model or block that differs from the reference's: the structural differences (`structure.Difference`) of that
  call, or of the function's visible calls that measured its graph, that can change what the check measures (a
  ReLU where a tanh belongs changes no parameter count; a kernel size changes the count, the receptive field and the
  MACs). A value or training check prefers the differences of the outputs' activations, a gradient check those of
  the shortcuts. The same difference found in several functions (a block and the network built of it) is one cause;
- nothing of these: the check itself.
A hidden check never adds words of its own calls: it joins the visible causes of the same function that can explain
it, else it is a cause of its own, said in its public words (`grading._judge`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from grader.registry import Context, Probe
from grader.results import Cause, CheckResult
from grader.rubrics.differences import Difference, structure_diff

_CONVS = frozenset({"conv", "conv1d", "depthwiseconv2d", "separableconv2d", "conv2dtranspose"})
_POOLS = frozenset({"max_pool", "avg_pool", "global_avg_pool", "global_max_pool"})
_MERGES = frozenset({"add", "concat", "multiply", "average", "maximum", "subtract"})
_OUTPUTS = frozenset({"softmax", "sigmoid"})
_ACTIVATIONS = _OUTPUTS | {"relu", "relu_variant", "tanh", "elu", "gelu", "selu", "silu", "leaky_relu", "softplus",
                           "relu6", "hard_sigmoid"}
_SPATIAL = _CONVS | _POOLS | {"zero_padding", "flatten", "dense"}

# The layer kinds whose difference can change what a check of this category measures (None: any). "input" is the
# model's input shape (`differences`).
RELEVANT: dict[str, frozenset[str] | None] = {
    "params": _SPATIAL | _MERGES | {"batchnorm", "input"},  # a pool's stride changes what a Dense layer sees
    "receptive_field": _CONVS | _POOLS | _MERGES | {"zero_padding"},
    "shape": _SPATIAL | _MERGES | {"input"},
    "macs": _SPATIAL | _MERGES | {"input"},
    "invariance": _SPATIAL,
    "equivariance": _SPATIAL,
    "structure": None,
    "values": None,
    "convergence": None,
    "gradient_flow": None,
    "api": None,  # e.g. "the main network unchanged" compares layers
    "load": frozenset(),
}
# Among the relevant differences, the first group that has any is the explanation.
PREFERRED: dict[str, tuple[frozenset[str], ...]] = {
    "values": (_OUTPUTS, _ACTIVATIONS),
    "convergence": (_OUTPUTS, frozenset({"add"}), _ACTIVATIONS | {"batchnorm"}),
    "gradient_flow": (frozenset({"add"}), _ACTIVATIONS | {"batchnorm"}),
}


@dataclass(frozen=True)
class Reason:
    """One cause of one failed check: `key` says which failed checks share it."""

    key: tuple[str, ...]
    text: str
    functions: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    visible: bool = True  # said by a visible check (a hidden check's own words come last)
    places: tuple[str, ...] = ()  # the words of the same mistake found in other places by the same check


def explain(ctx: Context, category: str, description: str, hidden: bool, message: str) -> list[Reason]:
    """The causes of a check that failed with `message` (for a hidden check: its public words only)."""
    read = list({p.id: p for p in ctx.read}.values())
    if hidden:  # the visible causes of the same functions, in the hidden check's own words (`gather`)
        functions = tuple(dict.fromkeys(p.function for p in read)) or (ctx.rubric.name,)
        visible = [p for p in ctx.rubric.probes.values() if p.function in functions and not p.hidden
                   and not p.reference_only]
        found = _preferred([r for p in visible for r in _of_probe(ctx, p, category, "")], category)
        return [Reason(r.key, message, functions, r.kinds, visible=False) for r in found] or \
            [Reason(("hidden", functions[0]), message, functions, visible=False)]
    found = [r for p in read for r in _of_probe(ctx, p, category, message)]
    # nothing to point at: the checks that failed on the same call are one cause
    own = ("call", read[0].id) if read else ("check", category, description)
    return _preferred(found, category) or [Reason(own, message, tuple(dict.fromkeys(p.function for p in read[:1])))]


def _of_probe(ctx: Context, probe: Probe, category: str, message: str) -> list[Reason]:
    outcome = ctx.outcome(probe)
    if outcome.too_large:  # the model's size is the mistake: the differences found where it could be measured
        borrowed = _elsewhere(ctx, probe, "params")
        if borrowed:
            return borrowed
    if outcome.error is not None or outcome.measured is None:
        # other calls of the function built and differ: what they show is why this one failed (a Flatten/Dense head
        # that cannot be built on maps of unknown size)
        built = _graphed(ctx, lambda p: p.function == probe.function)
        lines = [_structural(line, p.function) for p in built for line in differences(ctx, p)]
        if lines:
            return [r for r in lines if _relevant(r.kinds, RELEVANT.get(category))] or lines
        # the same error at other sizes is one cause (Keras's "incompatible shapes (8, 8, 128) and (16, 16, 64)")
        error = re.sub(r"\d+", "N", (outcome.error or f"returned {outcome.returned}").strip().splitlines()[0])
        return [Reason(("error", error), message or f"{probe.function} failed", (probe.function,))]
    if probe.value:
        return [Reason(("value", probe.function), message, (probe.function,))]
    relevant = RELEVANT.get(category)
    if relevant is not None and not relevant:
        return []
    graphs = [probe] if "graph" in outcome.measured else _graphed(ctx, lambda p: p.function == probe.function)
    lines = [_structural(line, graphed.function) for graphed in graphs for line in differences(ctx, graphed)]
    if graphs and not lines and any(not _same(ctx, g) for g in graphs):
        return _elsewhere(ctx, probe, category)  # it differs where the diff cannot say: look at the other functions
    return [r for r in lines if _relevant(r.kinds, relevant)]


def _structural(line: Difference, function: str) -> Reason:
    return Reason(("structure", line.key), str(line), (function,), line.kinds)


def _relevant(kinds: frozenset[str], relevant: frozenset[str] | None) -> bool:
    """Whether a difference about layers of these kinds can change what a check of a category measures."""
    return bool(kinds) and (relevant is None or bool(kinds & relevant))


def _graphed(ctx: Context, which) -> list[Probe]:
    """The visible probes that measured a graph of the student's model, of the functions `which` accepts."""
    return [p for p in ctx.rubric.probes.values() if which(p) and not p.hidden and not p.reference_only
            and "graph" in (ctx.outcome(p).measured or {})]


def _elsewhere(ctx: Context, probe: Probe, category: str) -> list[Reason]:
    """The relevant differences of the assignment's other functions: what a call that failed, or differs where no
    line of the diff can say, is most likely built from."""
    relevant = RELEVANT.get(category)
    return [_structural(line, p.function) for p in _graphed(ctx, lambda p: p.function != probe.function)
            for line in differences(ctx, p) if _relevant(line.kinds, relevant)]


def _same(ctx: Context, probe: Probe) -> bool:
    found = (ctx.outcome(probe).measured or {}).get("structure")
    expected = ctx.reference(probe, "structure") if "structure" in probe.measures else None
    return found is not None and expected is not None and found["signature"] == expected["signature"]


def differences(ctx: Context, probe: Probe) -> list[Difference]:
    """The structural differences of one call from the reference's, its input shape included, computed once."""
    if probe.id not in ctx.differences:
        lines: list[Difference] = []
        if not _same(ctx, probe):
            student, reference = ctx.student_graph(probe), ctx.reference_graph(probe)
            lines = structure_diff(*ctx.decomposed(probe))
            inputs = [[n.settings.get("shape") for n in g.nodes if n.kind == "input"] for g in (reference, student)]
            if inputs[0] != inputs[1] and len(inputs[0]) == len(inputs[1]) == 1:
                lines.insert(0, Difference(f"the input is {_size(inputs[1][0])}; the assignment's is "
                                           f"{_size(inputs[0][0])}", {"input"}))
        ctx.differences[probe.id] = lines
    return ctx.differences[probe.id]


def _size(shape) -> str:
    return "x".join("any" if d is None else str(d) for d in shape) if shape else "of unknown size"


def _preferred(reasons: list[Reason], category: str) -> list[Reason]:
    """The reasons once each; of a check that prefers some layers' differences, only those if there are any."""
    first: dict[tuple[str, ...], Reason] = {}
    for reason in reasons:
        kept = first.setdefault(reason.key, reason)
        if kept is not reason and reason.text not in kept.places:  # the same mistake in another place: counted
            first[reason.key] = dataclasses.replace(kept, places=kept.places + (reason.text,))
    reasons = list(first.values())
    structural = [r for r in reasons if r.key[0] == "structure"]
    for group in PREFERRED.get(category, ()):
        chosen = [r for r in structural if r.kinds & group]
        if chosen:
            return [r for r in reasons if r.key[0] != "structure"] + chosen
    return reasons


def gather(assignment: str, judged: list[tuple[CheckResult, list[Reason]]]) -> tuple[Cause, ...]:
    """Each distinct cause once, in the order its first check failed, with the checks it explains."""
    load = next((c for c, _ in judged if c.category == "load" and not c.passed), None)
    failed = [c for c, _ in judged if not c.passed and c.category != "load"]
    if load is not None:  # nothing else can be judged: the one cause is the file
        return (_cause(assignment, Reason(("load",), load.output), failed),)
    groups: dict[tuple[str, ...], list[tuple[CheckResult, Reason]]] = {}
    for check, reasons in judged:
        for reason in reasons:
            groups.setdefault(reason.key, []).append((check, reason))
    for key, pairs in list(groups.items()):
        if not any(r.visible for _, r in pairs):  # no visible check failed of it: the hidden checks' own cause
            del groups[key]
            for check, reason in pairs:
                own = ("hidden", reason.functions[0] if reason.functions else assignment)
                if all(c is not check for c, _ in groups.get(own, [])):
                    groups.setdefault(own, []).append((check, Reason(own, reason.text, reason.functions,
                                                                     visible=False)))
    return _merged(tuple(_cause(assignment, min((r for _, r in pairs), key=lambda r: not r.visible),
                                [c for c, _ in pairs], [r for _, r in pairs]) for pairs in groups.values()))


def _merged(causes: tuple[Cause, ...]) -> tuple[Cause, ...]:
    """Structural differences that fail exactly the same checks are one item: the checks cannot tell them apart
    (LeNet-5 with ReLU and max pooling fails only the layers' check). So is an input of fixed size that fails no check
    another difference does not: it is what that difference needed (a Dense head needs one)."""
    structural = [c for c in causes if c.source == "structure"]

    def whole_of(i: int) -> int | None:
        """The widest cause the `i`th joins, the first of equal ones (so that joining never goes round)."""
        part = structural[i]
        wholes = [j for j, whole in enumerate(structural) if j != i and _within(part, whole)
                  and (part.kinds == ("input",) or _within(whole, part)) and not (_within(whole, part) and j > i)]
        return min(wholes, key=lambda j: (-len(structural[j].checks), -structural[j].hidden, j), default=None)

    into = {i: whole_of(i) for i in range(len(structural))}
    kept = {i: cause for i, cause in enumerate(structural) if into[i] is None}
    for i, j in into.items():
        while j is not None and j not in kept:
            j = into[j]
        if j is not None:
            part, whole = structural[i], kept[j]
            kept[j] = dataclasses.replace(whole, text=f"{whole.text}; {part.text}",
                                          functions=tuple(dict.fromkeys(whole.functions + part.functions)),
                                          kinds=tuple(sorted(set(whole.kinds) | set(part.kinds))))
    at = {id(c): i for i, c in enumerate(structural)}
    return tuple(c if c.source != "structure" else kept[at[id(c)]] for c in causes
                 if c.source != "structure" or at[id(c)] in kept)


def _within(part: Cause, whole: Cause) -> bool:
    """Whether every check `part` explains is explained by `whole` too."""
    return set(part.checks) <= set(whole.checks) and part.hidden <= whole.hidden


def _cause(assignment: str, said: Reason, checks: list[CheckResult], reasons: list[Reason] | None = None) -> Cause:
    """A cause in the words of its first visible reason (`said`), with the checks it explains (each once)."""
    checks = list({id(c): c for c in checks}.values())
    functions = tuple(dict.fromkeys(f for r in [said, *(reasons or [])] for f in r.functions))
    places = len({t for r in reasons or [] if r.visible and r.key[0] == "structure" for t in (r.text, *r.places)})
    if places > 1:  # the same mistake in blocks of other widths, or after other layers
        said = dataclasses.replace(said, text=f"{said.text} (and in {places - 1} other place{'s' * (places > 2)})")
    return Cause(assignment, said.key[0], said.text, functions,
                 tuple(f"{c.category}: {c.description}" for c in checks if not c.hidden),
                 sum(1 for c in checks if c.hidden), sum(c.max_score - c.score for c in checks),
                 tuple(dict.fromkeys(c.category for c in checks)), tuple(sorted(said.kinds)))
