"""Structural comparison: a canonical signature of a graph, and its decomposition into steps and parallel sections.

The signature ignores layer names, the order of the operands of commutative merges (the branches of an
Inception block, the two sides of an `Add`) and how activations are spelled. For a comparison, a graph is split
into a series of steps and parallel sections (a split, its branches, their merge), the way residual and
Inception blocks are drawn; branches are matched by similarity, not by order (`match_branches`), and two
decompositions are marked where they differ for a picture (`marked`). What differs, in the lecture's words, is
`grader.rubrics.differences`.
"""


from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Step:
    """One node on the main line."""

    label: str
    kind: str


@dataclass(frozen=True)
class Parallel:
    """Branches from one split to one merge; an empty branch is an identity shortcut."""

    branches: tuple[tuple[Step | Parallel, ...], ...]
    merge: Step

    @property
    def key(self) -> str:
        return self.merge.label + "[" + "|".join(sorted(items_key(b) for b in self.branches)) + "]"


Item = Step | Parallel


def items_key(items: tuple[Item, ...]) -> str:
    return ">".join(i.label if isinstance(i, Step) else i.key for i in items)


def _dominators(graph: Graph) -> dict[int, int | None]:
    """Immediate dominator of every node (the latest node every path from the input passes through)."""
    idom: dict[int, int | None] = {}
    depth: dict[int, int] = {}
    for node in graph.nodes:
        if not node.inputs:
            idom[node.index], depth[node.index] = None, 0
            continue
        common = node.inputs[0]
        for other in node.inputs[1:]:
            a, b = common, other
            while a != b:
                if a is None or b is None:
                    break
                if depth[a] >= depth[b]:
                    a = idom[a]
                else:
                    b = idom[b]
            common = a if a == b else None  # type: ignore[assignment]
            if common is None:
                break
        idom[node.index] = common
        depth[node.index] = depth[common] + 1 if common is not None else 0
    return idom


def decompose(graph: Graph, output: int | None = None) -> tuple[Item, ...]:
    """The path to `output` (default: the main output, `Graph.main_output`) as steps and parallel sections."""
    idom = _dominators(graph)

    def walk(node: int | None, stop: int | None) -> list[Item]:
        items: list[Item] = []
        while node is not None and node != stop:
            current = graph.nodes[node]
            step = Step(current.label, current.kind)
            if len(current.inputs) <= 1:
                if current.kind != "input":
                    items.append(step)
                node = current.inputs[0] if current.inputs else None
                continue
            split = idom[node]
            branches = tuple(tuple(reversed(walk(i, split))) for i in current.inputs)
            items.append(Parallel(branches, step))
            node = split
        return items

    start = graph.main_output() if output is None else output
    return tuple(reversed(walk(start, None)))


def branch_name(branch: tuple[Item, ...], siblings: int) -> str:
    """A short name for a branch: "identity shortcut", "5x5 branch", "pool branch", "projection shortcut"."""
    steps = [i for i in branch if isinstance(i, Step)]
    if not branch:
        return "identity shortcut"
    kernels = [s.label.split()[1].rstrip(",") for s in steps if s.kind == "conv"]
    if siblings == 2 and kernels == ["1x1"] and all(s.kind in ("conv", "batchnorm") for s in steps):
        return "projection shortcut"
    if any(s.kind in ("max_pool", "avg_pool") for s in steps):
        return "pool branch"
    if kernels:
        return f"{max(kernels, key=lambda k: int(k.split('x')[0]))} branch"
    return "branch " + " -> ".join(s.label for s in steps)


def coarse(item: Item) -> str:
    return item.kind if isinstance(item, Step) else f"<{item.merge.kind}>"


PADDING = re.compile(r", '(same|valid)'")  # a padding a label shows


def moot(a: Step, b: Step) -> bool:
    """Two labels that differ only in a padding that one of them shows as moot at its input size (`canonical`)."""
    bare_a, bare_b = PADDING.sub("", a.label), PADDING.sub("", b.label)
    return a.kind == b.kind and bare_a == bare_b and (bare_a == a.label or bare_b == b.label)


def _similarity(a: tuple[Item, ...], b: tuple[Item, ...]) -> float:
    return difflib.SequenceMatcher(a=items_key(a).split(">"), b=items_key(b).split(">"), autojunk=False).ratio()


def match_branches(expected: tuple[tuple[Item, ...], ...], found: tuple[tuple[Item, ...], ...]
                    ) -> list[tuple[tuple[Item, ...], tuple[Item, ...] | None]]:
    """Pair each expected branch with a found one, maximising total similarity (any order of branches)."""
    import itertools

    found_list = list(found) + [None] * max(len(expected) - len(found), 0)  # type: ignore[list-item]
    best, best_score = None, -1.0

    def score_of(e: tuple[Item, ...], f: tuple[Item, ...] | None) -> float:
        if f is None:
            return 0.0  # a branch of the same kind (a pool branch to a pool branch) pairs first
        same_kind = branch_name(e, len(expected)) == branch_name(f, len(found))
        return _similarity(e, f) + (0.5 if same_kind else 0.0)

    if len(found_list) <= 7:
        for perm in itertools.permutations(found_list, len(expected)):
            score = sum(score_of(e, f) for e, f in zip(expected, perm, strict=True))
            if score > best_score:
                best, best_score = perm, score
    else:
        best = tuple(found_list[: len(expected)])
    return list(zip(expected, best, strict=True))  # type: ignore[arg-type]


def marked(expected: tuple[Item, ...], found: tuple[Item, ...]) -> tuple[list[dict], list[dict]]:
    """Both decompositions as plain data for a picture (`reports.pictures`), each layer marked where it differs:
    a layer with no counterpart, or one whose counterpart has another label; branches paired as the diff pairs
    them."""
    matcher = difflib.SequenceMatcher(a=[coarse(i) for i in expected], b=[coarse(i) for i in found],
                                      autojunk=False)
    want: list[dict] = []
    got: list[dict] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            want += [_plain(i, True) for i in expected[a0:a1]]
            got += [_plain(i, True) for i in found[b0:b1]]
            continue
        for a, b in zip(expected[a0:a1], found[b0:b1], strict=True):
            if isinstance(a, Parallel) and isinstance(b, Parallel):
                pairs = match_branches(a.branches, b.branches)
                sides = [marked(e, f) if f is not None else ([_plain(i, True) for i in e], []) for e, f in pairs]
                extra = [f for f in b.branches if f not in [p for _, p in pairs]]
                want.append({"label": a.merge.label, "branches": [w for w, _ in sides]})
                got.append({"label": b.merge.label, "differs": a.merge.label != b.merge.label,
                            "branches": [g for _, g in sides] + [[_plain(i, True) for i in f] for f in extra]})
            else:
                differs = isinstance(a, Step) and isinstance(b, Step) and a.label != b.label and not moot(a, b)
                want.append(_plain(a, differs))
                got.append(_plain(b, differs))
    return want, got


def _plain(item: Item, differs: bool) -> dict:
    if isinstance(item, Step):
        return {"label": item.label, "differs": differs}
    return {"label": item.merge.label, "differs": differs,
            "branches": [[_plain(i, differs) for i in branch] for branch in item.branches]}
