"""What differs between the reference's architecture and the student's, one readable line each, in the lecture's
words: a chain of layers (`chain_diff`), or two decompositions (`structure_diff`, over
`grader.analysis.structure.decompose`), with the layer kinds each line is about (`Difference.kinds`) for
`grader.causes`.
"""

from __future__ import annotations

import difflib
import re

from grader.analysis.structure import (
    PADDING,
    Item,
    Parallel,
    Step,
    branch_name,
    coarse,
    items_key,
    match_branches,
    moot,
)


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


class Difference(str):
    """One readable line of a structural diff, and the kinds of the layers it is about (`kinds`), so that a
    failed check can tell, from the layers and not from the words, which differences explain it
    (`grader.causes`)."""

    kinds: frozenset[str]
    key: str  # the same for the same mistake wherever it is: in blocks of other widths, after other layers

    def __new__(cls, text: str, kinds: frozenset[str] | set[str] = frozenset(), key: str | None = None
                ) -> Difference:
        line = super().__new__(cls, text)
        line.kinds = frozenset(kinds)
        line.key = key if key is not None else _widthless(text)
        return line


def _kinds(items: tuple[Item, ...] | list[Item]) -> set[str]:
    """Every layer kind in `items`, the merges and the layers of their branches included."""
    found: set[str] = set()
    for item in items:
        if isinstance(item, Step):
            found.add(item.kind)
        else:
            found.add(item.merge.kind)
            for branch in item.branches:
                found |= _kinds(branch)
    return found


def _kinds_of(lines: list[str]) -> set[str]:
    return set().union(*(getattr(line, "kinds", frozenset()) for line in lines))


def structure_diff(expected: tuple[Item, ...], found: tuple[Item, ...], limit: int = 8) -> list[Difference]:
    """Readable differences between two decompositions: the reference's and the student's."""
    lines: list[str] = []
    _diff(expected, found, "", lines)
    lines = _relu_before_add(lines)
    if len(lines) > limit:
        lines = lines[:limit] + [Difference(f"... and {len(lines) - limit} more differences")]
    return [line if isinstance(line, Difference) else Difference(line) for line in lines]


def _relu_before_add(lines: list[str]) -> list[str]:
    """ "ReLU missing after the Add" plus "an extra ReLU at the end of a branch" is one mistake: say so."""
    missing = [line for line in lines if line.endswith("after the Add: expected ReLU, found nothing")]
    extra = [line for line in lines if line.endswith("expected nothing, found ReLU")]
    if not (missing and extra):
        return lines
    rest = [line for line in lines if line not in missing[:1] + extra[:1]]
    prefix = missing[0][: missing[0].index("after the Add")]
    return [Difference(f"{prefix}after the addition: expected ReLU, found none; ReLU comes before the addition",
                       {"add", "relu"}), *rest]


def _text(items: tuple[Item, ...] | list[Item]) -> str:
    """Items in words; a run of the same few items repeated reads once, with its count."""
    labels = [i.label if isinstance(i, Step) else f"a block merged by {i.merge.label}" for i in items]
    for period in (1, 2, 3):
        times = len(labels) // period
        if times >= 3 and len(labels) % period == 0 and labels == labels[:period] * times:
            return f"{times} times {', '.join(labels[:period])}"
    return ", ".join(labels)


def _change_key(a: Step, b: Step) -> str:
    """What changed between two layers of one kind, wherever they are and whatever their widths: the parts of their
    labels (`canonical.label`) that differ, filter counts left out ("Conv2D 3x3, 64 filters, 'same', no bias" to
    "..., 'same'" is "conv: -no bias")."""
    want, got = (set(_FILTERS.sub("", label).split(", ")) - {""} for label in (a.label, b.label))
    return f"{a.kind}: -{'|'.join(sorted(want - got))} +{'|'.join(sorted(got - want))}"


def _shortcut_kinds(items: tuple[Item, ...]) -> set[str]:
    """The layer kinds of the blocks with an identity shortcut among `items`."""
    return _kinds([i for i in items if isinstance(i, Parallel) and len(i.branches) == 2 and () in i.branches])


def _unshortcut(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Each block with an identity shortcut replaced by its other branch: what is left when the shortcut is gone."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, Parallel) and len(item.branches) == 2 and () in item.branches:
            out.extend(next(b for b in item.branches if b))
        else:
            out.append(item)
    return tuple(out)


def _moved_layer(want: list[str], got: list[str]) -> str | None:
    """The one layer whose place differs, in words, when moving it back makes the two lists equal."""
    for label in dict.fromkeys(want):
        if want.count(label) == 1 and [x for x in want if x != label] == [x for x in got if x != label]:
            i, j = want.index(label), got.index(label)
            now = f"after {got[j - 1]}" if j > 0 else "first"
            belongs = f"after {want[i - 1]}" if i > 0 else f"before {want[i + 1]}"
            return f"{label} comes {now}; it belongs {belongs}"
    return None


_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def _stride_of(label: str) -> str | None:
    return label.split(", stride ")[1].split(",")[0] if ", stride " in label else None


def _without_stride(label: str) -> str:
    stride = _stride_of(label)
    return label.replace(f", stride {stride}", "") if stride else label


def _moved_stride(pairs: list[tuple[int, Step, Step]]) -> str | None:
    """Two convolutions that differ only in where the stride is: say that, not two replacements."""
    if len(pairs) != 2 or not all(a.kind == b.kind == "conv" for _, a, b in pairs):
        return None
    (i, a1, b1), (j, a2, b2) = pairs
    strip = {_without_stride(a1.label), _without_stride(b1.label)}
    if len(strip) != 1 or (_stride_of(a1.label) is None) == (_stride_of(a2.label) is None):
        return None
    want, got = (i, j) if _stride_of(a1.label) else (j, i)
    stride = _stride_of(a1.label) or _stride_of(a2.label)
    return (f"the stride {stride} is on the {_ORDINALS[min(got, 4)]} convolution; it belongs on the "
            f"{_ORDINALS[min(want, 4)]}")


def _flatten(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Each parallel section replaced by its longest branch: what is left when the merge is missing."""
    out: list[Item] = []
    for item in items:
        out.extend(max(item.branches, key=len) if isinstance(item, Parallel) else [item])
    return tuple(out)


_NO_SHORTCUT = "no shortcut connection: expected the block's input to be added to its output (Add), found no addition"


def _merge_lines(blocks: list[Parallel], where: str, extra: bool) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kinds = _kinds([block])
        shortcuts = [branch_name(b, len(block.branches)) for b in block.branches]
        shortcuts = [n for n in shortcuts if n.endswith("shortcut")]
        if extra and block.merge.kind == "add" and shortcuts:
            text = (f"{where}found a shortcut connection ({shortcuts[0]} added by {block.merge.label}), which the "
                    "assignment does not have here")
        elif extra:
            text = (f"{where}found parallel branches merged by {block.merge.label}, which the assignment does not "
                    "have here")
        elif block.merge.kind == "add":
            lines.append(Difference(f"{where}{_NO_SHORTCUT}", kinds, "no shortcut"))
            continue
        else:
            text = (f"{where}expected {len(block.branches)} parallel branches merged by {block.merge.label}, found a "
                    "single path")
        lines.append(Difference(text, kinds))
    return lines


def _diff(expected: tuple[Item, ...], found: tuple[Item, ...], where: str, lines: list[str]) -> None:
    # every identity shortcut gone
    if expected != _unshortcut(expected) and items_key(_unshortcut(expected)) == items_key(found):
        lines.append(Difference(f"{where}{_NO_SHORTCUT}", _shortcut_kinds(expected), "no shortcut"))
        return
    expected_blocks = [i for i in expected if isinstance(i, Parallel)]
    found_blocks = [i for i in found if isinstance(i, Parallel)]
    if expected_blocks and not found_blocks:
        lines.extend(_merge_lines(expected_blocks, where, extra=False))
        expected = _flatten(expected)
    elif found_blocks and not expected_blocks:
        lines.extend(_merge_lines(found_blocks, where, extra=True))
        found = _flatten(found)
    matcher = difflib.SequenceMatcher(a=[coarse(i) for i in expected], b=[coarse(i) for i in found],
                                      autojunk=False)
    ops = matcher.get_opcodes()
    skip: set[int] = set()
    for at, (op, a0, a1, b0, b1) in enumerate(ops):
        if at in skip:
            continue
        swapped = _across(ops, at, expected, found)
        if swapped is not None:  # one layer gone before a step and another come after it: one change, said once
            lines.append(Difference(f"{where}{swapped[0]}", swapped[1], swapped[2]))
            skip |= {at + 1, at + 2}
            continue
        if op == "equal":
            changed: list[tuple[int, Step, Step]] = []
            for position, (a, b) in enumerate(zip(expected[a0:a1], found[b0:b1], strict=True), start=a0):
                if isinstance(a, Parallel) and isinstance(b, Parallel) and a.key != b.key:
                    _diff_parallel(a, b, where, lines)
                elif isinstance(a, Step) and isinstance(b, Step) and a.label != b.label and not moot(a, b):
                    convs_before = sum(1 for i in expected[:position] if isinstance(i, Step) and i.kind == "conv")
                    changed.append((convs_before, a, b))
            moved = _moved_stride(changed)
            if moved:
                lines.append(Difference(f"{where}{moved}", {"conv"}))
            else:
                lines.extend(Difference(f"{where}expected {a.label}, found {b.label}", {a.kind, b.kind},
                                        _change_key(a, b)) for _, a, b in changed)
            continue
        after = ""
        if a0 > 0 and op != "replace":
            previous = expected[a0 - 1]
            after = f"after {previous.label if isinstance(previous, Step) else 'the ' + previous.merge.label}: "
        if expected[a0:a1] != _unshortcut(expected[a0:a1]) and items_key(_unshortcut(expected[a0:a1])) == \
                items_key(found[b0:b1]):
            lines.append(Difference(f"{where}{_NO_SHORTCUT}", _shortcut_kinds(expected[a0:a1]), "no shortcut"))
            continue
        want = _text(expected[a0:a1]) or "nothing"
        got = _text(found[b0:b1]) or "nothing"
        # layers missing or extra: the same mistake after whichever layer, however many times
        key = ("missing " + _FILTERS.sub("N filters", want.split(" times ")[-1]) if a1 > a0 and b1 == b0
               else "extra " + _FILTERS.sub("N filters", got.split(" times ")[-1]) if b1 > b0 and a1 == a0 else None)
        lines.append(Difference(f"{where}{after}expected {want}, found {got}",
                                _kinds(expected[a0:a1]) | _kinds(found[b0:b1]), key))




def _across(ops: list[tuple[str, int, int, int, int]], at: int, expected: tuple[Item, ...], found: tuple[Item, ...]
            ) -> tuple[str, set[str], str] | None:
    """A layer left out before one step and another added after it (a head that pools, then ends in a Dense layer
    where a class convolution belongs before the pooling): (line, kinds, key), else None."""
    if at + 2 >= len(ops):
        return None
    (op1, a0, a1, b0, b1), (op2, c0, c1, _, _), (op3, e0, e1, f0, f1) = ops[at:at + 3]
    if op2 != "equal" or c1 - c0 != 1 or {op1, op3} != {"delete", "insert"}:
        return None
    middle = _text(expected[c0:c1])
    gone, come = (expected[a0:a1], found[f0:f1]) if op1 == "delete" else (expected[e0:e1], found[b0:b1])
    before, after = ("before", "after") if op1 == "delete" else ("after", "before")
    text = f"expected {_text(gone)} {before} {middle}, found {_text(come)} {after} it"
    return text, _kinds(gone) | _kinds(come), _widthless(text)


def _diff_parallel(expected: Parallel, found: Parallel, where: str, lines: list[str]) -> None:
    block = f"{where}the block merged by {expected.merge.label}"
    if expected.merge.label != found.merge.label:
        lines.append(Difference(f"{block}: expected the merge {expected.merge.label}, found {found.merge.label}",
                                {expected.merge.kind, found.merge.kind}))
    if len(expected.branches) != len(found.branches):
        lines.append(Difference(f"{block}: expected {len(expected.branches)} branches, found {len(found.branches)}",
                                _kinds([expected]) | _kinds([found])))
    pairs = match_branches(expected.branches, found.branches)
    used = [f for _, f in pairs if f is not None]
    filters: list[tuple[str, str, str, int, int]] = []  # (branch, expected, found, first line, end) per branch
    start, projected = len(lines), []
    for branch, match in pairs:
        name = branch_name(branch, len(expected.branches))
        if match is None:
            lines.append(Difference(f"{block}: the {name} is missing", _kinds(branch) | {expected.merge.kind}))
        elif items_key(match) != items_key(branch):
            before = len(lines)
            _diff(branch, match, f"{name}: ", lines)
            _reword(branch, match, name, lines, before)
            changed = _filters_only(branch, match)
            if changed:
                filters.append((name, *changed, before, len(lines)))
            if not branch and branch_name(match, len(found.branches)) == "projection shortcut":
                projected += lines[before:]
    _swapped_filters(filters, where, lines)
    others = [line for line in lines[start:] if line not in projected and isinstance(line, Difference)]
    if others and projected:  # a block whose other branch changed its channels needs the projection: one mistake
        for line in projected:
            line.key = others[0].key  # type: ignore[attr-defined]
        lines[start:] = [line for line in lines[start:] if line not in projected] + projected
    for extra in found.branches:
        if extra not in used:
            lines.append(Difference(f"{block}: an extra branch {_text(extra) or '(identity)'}",
                                    _kinds(extra) | {found.merge.kind}))


_FILTERS = re.compile(r"(\d+) filters")


def _widthless(text: str) -> str:
    """A diff line without its filter counts and paddings: the same mistake in blocks of other widths and sizes."""
    return PADDING.sub("", _FILTERS.sub("N filters", text))


def _filters_only(expected: tuple[Item, ...], found: tuple[Item, ...]) -> tuple[str, str] | None:
    """The one number of filters in which two branches differ, if that is their only difference."""
    want = [i.label for i in expected if isinstance(i, Step)]
    got = [i.label for i in found if isinstance(i, Step)]
    if len(want) != len(got) or len(want) != len(expected) or len(got) != len(found):
        return None
    differ = [(a, b) for a, b in zip(want, got, strict=True) if a != b]
    if len(differ) != 1 or _FILTERS.sub("", differ[0][0]) != _FILTERS.sub("", differ[0][1]):
        return None
    a, b = (_FILTERS.search(label) for label in differ[0])
    return (a.group(1), b.group(1)) if a and b else None


def _swapped_filters(changes: list[tuple[str, str, str, int, int]], where: str, lines: list[str]) -> None:
    """Two branches that each have the other's number of filters: one mistake (two arguments swapped), said once."""
    for i, (name_a, want_a, got_a, start_a, end_a) in enumerate(changes):
        for name_b, want_b, got_b, start_b, end_b in changes[i + 1:]:
            if (want_a, got_a) == (got_b, want_b):
                # no counts in the line: the same swap in blocks of other widths reads once, with its count
                text = (f"{where}the {name_a} has the {name_b}'s number of filters and the {name_b} the {name_a}'s: "
                        "the two are swapped (check which argument each branch uses)")
                for start, end in sorted([(start_a, end_a), (start_b, end_b)], reverse=True):
                    del lines[start:end]
                lines.insert(min(start_a, start_b), Difference(text, {"conv"}))
                return


def _reword(expected: tuple[Item, ...], found: tuple[Item, ...], name: str, lines: list[str], start: int) -> None:
    """Say the usual mistakes in the lecture's words."""
    want = [i.label for i in expected if isinstance(i, Step)]
    got = [i.label for i in found if isinstance(i, Step)]
    if len(want) == len(expected) and len(got) == len(found) and want != got and sorted(want) == sorted(got):
        # short labels (no filter counts), so that one mistake repeated in blocks of other widths reads once
        short_want, short_got = [label.split(",")[0] for label in want], [label.split(",")[0] for label in got]
        if short_want == short_got:  # the same kinds in the same order: a setting moved (a stride), said above
            return
        want, got = short_want, short_got
        moved = _moved_layer(want, got)
        order = f"the same layers in another order: expected {' -> '.join(want)}, found {' -> '.join(got)}"
        lines[start:] = [Difference(f"{name}: {moved} ({order})" if moved else f"{name}: {order}",
                                    _kinds(expected))]
        return
    reductions = [s for s in want if s.startswith("Conv2D 1x1")]
    if reductions and len(want) > len(got) and not any(s.startswith("Conv2D 1x1") for s in got):
        kinds = _kinds_of(lines[start:]) | {"conv"}
        if name == "pool branch":
            text = f"{name}: no 1x1 projection after the pooling"
        elif name.endswith("shortcut"):
            text = f"{name}: no 1x1 projection"
        else:
            text = f"{name}: no 1x1 reduction before the {name.split()[0]} convolution"
        lines[start:] = [Difference(text, kinds)]
