"""Why a student's parameter count differs from the reference's: the usual causes, each in one sentence in the
lecture's words (a bias before BatchNormalization, a missing projection shortcut, a 5x5 convolution factorised...),
found by comparing the two graphs."""

from __future__ import annotations

from collections import Counter

from grader.analysis.graph import Graph
from grader.analysis.params import count_params
from grader.analysis.structure import Parallel, Step, decompose


def _biases_before_bn(graph: Graph) -> int:
    total = 0
    for node in graph.of_kind("conv"):
        if node.settings.get("bias") and any(c.kind == "batchnorm" for c in graph.consumers(node.index)):
            total += int(node.settings["filters"])
    return total


def _blocks_per_stage(graph: Graph) -> list[int]:
    """Residual blocks (additions) per spatial resolution, in order."""
    stages: list[list[object]] = []
    for node in graph.of_kind("add"):
        size = node.shape[1] if node.shape else None
        if not stages or stages[-1][0] != size:
            stages.append([size, 0])
        stages[-1][1] = int(stages[-1][1]) + 1  # type: ignore[call-overload]
    return [int(s[1]) for s in stages]  # type: ignore[call-overload]


def _expansion(graph: Graph) -> float | None:
    """Output channels of the last residual block over the filters of its 3x3 convolution."""
    adds = graph.of_kind("add")
    if not adds or not adds[-1].shape:
        return None
    convs = [n for n in graph.nodes[: adds[-1].index] if n.kind == "conv" and n.settings["kernel"] == (3, 3)]
    if not convs:
        return None
    return int(adds[-1].shape[-1]) / int(convs[-1].settings["filters"])  # type: ignore[index]


def _branch_steps(graph: Graph) -> list[tuple[str, tuple[Step, ...]]]:
    """(merge kind, steps) of every branch of every parallel section on the main path."""
    out = []
    pending = list(decompose(graph))
    while pending:
        item = pending.pop()
        if isinstance(item, Parallel):
            for branch in item.branches:
                out.append((item.merge.kind, tuple(i for i in branch if isinstance(i, Step))))
                pending.extend(branch)
    return out


def _projections(graph: Graph) -> tuple[int, int]:
    """(projection shortcuts, of which without BatchNormalization) over the residual blocks."""
    with_bn = without_bn = 0
    for merge, steps in _branch_steps(graph):
        kinds = [s.kind for s in steps]
        if merge == "add" and kinds and kinds[0] == "conv" and "1x1" in steps[0].label and len(kinds) <= 2:
            if kinds == ["conv"]:
                without_bn += 1
            else:
                with_bn += 1
    return with_bn + without_bn, without_bn


def _unreduced(graph: Graph) -> Counter[str]:
    """Inception branches whose large convolution has no 1x1 reduction, and pool branches with no projection."""
    found: Counter[str] = Counter()
    for merge, steps in _branch_steps(graph):
        if merge != "concat":
            continue
        convs = [s for s in steps if s.kind == "conv"]
        if convs and "1x1" not in convs[0].label:
            found["the " + convs[0].label.split(",")[0].replace("Conv2D ", "") + " branch has no 1x1 reduction"] += 1
        if steps and steps[0].kind in ("max_pool", "avg_pool") and not convs:
            found["the pool branch has no 1x1 projection"] += 1
    return found


def diagnose(found: Graph, expected: Graph) -> list[str]:
    """The usual causes of a difference in parameter counts, each in one sentence; empty when none applies."""
    mine, theirs = count_params(found), count_params(expected)
    causes: list[str] = []
    stages_found, stages_expected = _blocks_per_stage(found), _blocks_per_stage(expected)
    restaged = stages_found != stages_expected and bool(stages_expected)
    if restaged:  # the other counts follow from it, so it is the one cause named
        causes.append(f"residual blocks per stage: expected {stages_expected}, found {stages_found}")
    extra_biases = _biases_before_bn(found) - _biases_before_bn(expected)
    if extra_biases > 0:
        exact = " exactly" if mine.trainable - theirs.trainable == extra_biases else ""
        causes.append(f"{extra_biases:,} of the difference is{exact} the biases of the convolutions that feed a "
                      "BatchNormalization, which cancels them: use use_bias=False on those convolutions")
    bn_found, bn_expected = len(found.of_kind("batchnorm")), len(expected.of_kind("batchnorm"))
    if bn_found != bn_expected and not restaged:
        causes.append(f"found {bn_found} BatchNormalization layers, expected {bn_expected} "
                      f"({bn_expected - bn_found} missing)" if bn_found < bn_expected else
                      f"found {bn_found} BatchNormalization layers, expected {bn_expected} "
                      f"({bn_found - bn_expected} extra)")
    ratio_found, ratio_expected = _expansion(found), _expansion(expected)
    if ratio_found and ratio_expected and ratio_found != ratio_expected and ratio_expected > 1:
        causes.append(f"the bottleneck expansion is {ratio_found:g}, expected {ratio_expected:g}: the last 1x1 "
                      f"convolution of a block has {ratio_expected:g} x filters")
    proj_found, proj_expected = _projections(found), _projections(expected)
    if proj_found[0] < proj_expected[0]:
        causes.append(f"found {proj_found[0]} projection shortcuts, expected {proj_expected[0]}: a block that changes "
                      "the shape needs a strided 1x1 convolution with BatchNormalization on its shortcut")
    if proj_found[1] > proj_expected[1]:
        causes.append(f"{proj_found[1]} projection shortcuts have no BatchNormalization after their 1x1 convolution")
    unreduced = _unreduced(found) - _unreduced(expected)
    for what, count in sorted(unreduced.items()):
        causes.append(what + (f" (in {count} blocks)" if count > 1 else ""))
    pools_found = Counter(n.label for n in found.of_kind("max_pool", "avg_pool"))
    pools_expected = Counter(n.label for n in expected.of_kind("max_pool", "avg_pool"))
    if pools_found != pools_expected and not restaged:
        missing = ", ".join(sorted((pools_expected - pools_found).elements())) or "nothing"
        extra = ", ".join(sorted((pools_found - pools_expected).elements())) or "nothing"
        causes.append(f"pooling differs: expected {missing}, found {extra}")
    kernels_found = Counter(n.settings["kernel"] for n in found.of_kind("conv"))
    kernels_expected = Counter(n.settings["kernel"] for n in expected.of_kind("conv"))
    if kernels_found != kernels_expected and not unreduced and not restaged:
        lost, gained = kernels_expected - kernels_found, kernels_found - kernels_expected
        if set(lost) == {(5, 5)} and set(gained) == {(3, 3)} and gained[(3, 3)] == 2 * lost[(5, 5)]:
            where = f" (in {lost[(5, 5)]} blocks)" if lost[(5, 5)] > 1 else ""
            causes.append(f"the 5x5 convolution is factorised into two 3x3 convolutions{where}, as in later Inception "
                          "versions; this assignment asks for GoogLeNet's single 5x5 convolution")
            return causes
        if sum(lost.values()) == sum(gained.values()) == 1:
            (k_lost,), (k_gained,) = lost, gained
            causes.append(f"a convolution has a {k_gained[0]}x{k_gained[1]} kernel where a {k_lost[0]}x{k_lost[1]} "
                          "one is expected")
            return causes
        parts = []
        for kernel in sorted(set(kernels_found) | set(kernels_expected)):
            if kernels_found[kernel] != kernels_expected[kernel]:
                parts.append(f"{kernel[0]}x{kernel[1]}: expected {kernels_expected[kernel]}, "
                             f"found {kernels_found[kernel]}")
        causes.append("convolutions by kernel size differ (" + "; ".join(parts) + ")")
    return causes
