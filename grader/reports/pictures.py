"""The lecture's pictures of a failed check, drawn from what the grader measured: the receptive field on the input,
the multiply-accumulates of the naive and the reduced Inception block, the gradient norm per layer at
initialisation. Each picture has alternative text that says the same in words (`describe`); a page is complete
without the pictures.

A check attaches a figure as data (`ctx.attach(figure={"kind": ..., ...})`); `draw` makes its PNG, the same bytes
for the same data (matplotlib, no timestamps)."""

from __future__ import annotations

import functools
import io
import json
from typing import Any

KINDS = ("receptive_field", "macs", "gradients", "connectivity", "block")


def describe(figure: dict[str, Any]) -> str:
    """The picture in words: its alternative text."""
    kind = figure["kind"]
    if kind == "receptive_field":
        def seen(field: dict[str, Any] | None) -> str:
            return "the whole input" if not field or field.get("size") is None else \
                f"{_pair(field['size'])} pixels, units {_one(field['jump'])} pixels apart"
        size = _pair(figure["input"])
        return (f"The region of a {size} input that one unit of {figure['what']} sees: yours "
                f"{seen(figure['student'])}; the assignment's {seen(figure['reference'])}.")
    if kind == "macs":
        parts = [f"{name}: yours {_count(figure['student'][key])}, the reference's {_count(figure['reference'][key])}"
                 for key, name in (("naive", "the naive block"), ("reduced", "the block with 1x1 reductions"))]
        return "Multiply-accumulates per image of " + "; ".join(parts) + "."
    if kind == "gradients":
        parts = []
        for key, name in (("student", "your ResNet-34"), ("plain", "your plain 34-layer network"),
                          ("reference", "the reference ResNet-34")):
            norms = figure.get(key) or []
            if norms:
                parts.append(f"{name}: {norms[0]:.3g} at the first convolution, {norms[-1]:.3g} at the last "
                             f"({norms[0] / norms[-1]:.3g} times)" if norms[-1] else f"{name}: not measured")
        return "The gradient norm of each convolution at initialisation, from the first to the last: " + \
            "; ".join(parts) + "."
    if kind == "connectivity":
        n, k = figure["inputs"], figure["kernel"]
        return (f"{n} inputs and {n} outputs. Fully connected, every input joins every output: "
                f"{len(_arrows(n, None))} arrows (yours counts {figure['student']['dense']}). A 'same' convolution "
                f"of kernel {k} joins each output to its {k} nearest inputs, fewer at the border: "
                f"{len(_arrows(n, k))} arrows (yours counts {figure['student']['conv']}).")
    if kind == "block":
        return (f"{figure['what']} as a graph, yours beside the reference's, the layers that differ marked: "
                f"yours {_sequence_text(figure['student'])}; the reference's {_sequence_text(figure['reference'])}.")
    raise ValueError(f"unknown figure kind {kind!r}; known: {', '.join(KINDS)}")


def _arrows(n: int, kernel: int | None) -> list[tuple[int, int]]:
    """(input, output) of every arrow: all pairs, or those within kernel // 2 of each other ('same' padding)."""
    return [(i, o) for o in range(n) for i in range(n) if kernel is None or abs(i - o) <= kernel // 2]


def _sequence_text(items: list[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        if "branches" in item:
            branches = " | ".join(_sequence_text(b) or "identity" for b in item["branches"])
            parts.append(f"[{branches}] merged by {item['label']}")
        else:
            parts.append(item["label"] + (" (differs)" if item.get("differs") else ""))
    return " -> ".join(parts)


def draw(figure: dict[str, Any]) -> bytes:
    """The picture as PNG bytes."""
    return _png(json.dumps(figure, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _png(figure_json: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    # Text is drawn as given: a count a student's function returned ("$\\undefined$") is never parsed as mathtext.
    with matplotlib.rc_context({"text.parse_math": False}):
        return _drawn(json.loads(figure_json))


def _drawn(figure: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    kind = figure["kind"]
    if kind == "receptive_field":
        canvas, axes = plt.subplots(1, 2, figsize=(7, 3.6))
        for ax, who, title in ((axes[0], "student", "yours"), (axes[1], "reference", "the assignment's")):
            _field(ax, figure["input"], figure[who], title)
    elif kind == "macs":
        canvas, ax = plt.subplots(figsize=(7, 2.8))
        names = ["naive block", "with 1x1 reductions"]
        for offset, (who, label, colour) in enumerate((("student", "yours", "#c62828"),
                                                       ("reference", "reference", "#888888"))):
            values = [figure[who]["naive"] / 1e6, figure[who]["reduced"] / 1e6]
            ax.barh([i + 0.38 * offset for i in range(2)], values, height=0.36, label=label, color=colour)
        ax.set_yticks([0.19, 1.19], names)
        ax.set_xlabel("million multiply-accumulates per image")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(axis="x", alpha=0.3)
    elif kind == "gradients":
        canvas, ax = plt.subplots(figsize=(7, 3.4))
        for who, label, style in (("reference", "reference ResNet-34", "--"), ("student", "your ResNet-34", "-"),
                                  ("plain", "your plain network", ":")):
            norms = figure.get(who) or []
            if norms:
                ax.plot(range(1, len(norms) + 1), norms, style, label=label)
        ax.set(yscale="log", xlabel="convolution (first to last)", ylabel="gradient norm at initialisation")
        ax.legend()
        ax.grid(alpha=0.3)
    elif kind == "connectivity":
        canvas, axes = plt.subplots(1, 2, figsize=(7, 3.2))
        n, k = figure["inputs"], figure["kernel"]
        for ax, kernel, key, name in ((axes[0], None, "dense", "fully connected"), (axes[1], k, "conv",
                                                                                   f"convolution, kernel {k}")):
            arrows = _arrows(n, kernel)
            wrong = figure["student"][key] != len(arrows)
            for i, o in arrows:
                ax.annotate("", (o, 1), (i, 0), arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.8})
            ax.scatter(range(n), [0] * n, s=60, color="#1f77b4", zorder=3)
            ax.scatter(range(n), [1] * n, s=60, color="#2a7", zorder=3)
            ax.set_title(f"{name}: {len(arrows)} arrows\n(yours counts {figure['student'][key]})", fontsize=10,
                         color="#c62828" if wrong else "#222222")
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_ylim(-0.3, 1.3)
            ax.axis("off")
    elif kind == "block":
        tallest = max(_extent(figure["student"])[1], _extent(figure["reference"])[1])
        widest = max(_extent(figure["student"])[0], _extent(figure["reference"])[0])
        canvas, axes = plt.subplots(1, 2, figsize=(min(3 + 2.4 * widest, 12), 1.2 + 1.1 * tallest))
        for ax, who, title in ((axes[0], "student", "yours"), (axes[1], "reference", "the reference's")):
            width, height = _extent(figure[who])
            _place(ax, figure[who], 0.0, 0.0, width)
            ax.set_title(title, fontsize=10)
            ax.set_xlim(-0.1, max(width, 1) + 0.1)
            ax.set_ylim(-height - 0.2, 0.4)
            ax.axis("off")
        canvas.suptitle(figure["what"], fontsize=11)
    else:
        raise ValueError(f"unknown figure kind {kind!r}; known: {', '.join(KINDS)}")
    canvas.tight_layout()
    png = io.BytesIO()
    canvas.savefig(png, format="png", dpi=90, metadata={"Software": None})
    plt.close(canvas)
    return png.getvalue()


_BOX_W, _BOX_H, _GAP = 1.0, 0.42, 0.18  # a layer's box and the space between boxes, in axis units


def _extent(items: list[dict[str, Any]]) -> tuple[float, float]:
    """(width, height) of a sequence drawn top to bottom, a block's branches side by side."""
    width, height = _BOX_W, 0.0
    for item in items:
        if "branches" in item:
            sizes = [_extent(b) for b in item["branches"]]
            width = max(width, sum(w for w, _ in sizes) + _GAP * (len(sizes) - 1))
            height += max((h for _, h in sizes), default=0) + _BOX_H + 2 * _GAP
        else:
            height += _BOX_H + _GAP
    return width, height


def _place(ax: Any, items: list[dict[str, Any]], left: float, top: float, width: float) -> float:
    """Draw `items` in the column [left, left + width] from `top` down; returns the bottom."""
    y = top
    for item in items:
        if "branches" in item:
            sizes = [_extent(b) for b in item["branches"]]
            x = left + (width - (sum(w for w, _ in sizes) + _GAP * (len(sizes) - 1))) / 2
            bottom = y
            for branch, (w, _) in zip(item["branches"], sizes, strict=True):
                end = _place(ax, branch, x, y, w) if branch else y
                if not branch:  # an identity shortcut: a line past the branches
                    ax.plot([x + w / 2, x + w / 2], [y, y - max(h for _, h in sizes)], color="#555555", lw=1)
                bottom = min(bottom, end)
                x += w + _GAP
            y = min(bottom, y - max(h for _, h in sizes)) - _GAP
            _box(ax, item, left + width / 2, y)
            y -= _BOX_H + _GAP
        else:
            _box(ax, item, left + width / 2, y)
            y -= _BOX_H + _GAP
    return y


def _box(ax: Any, item: dict[str, Any], centre: float, top: float) -> None:
    from matplotlib.patches import FancyBboxPatch

    differs = item.get("differs", False)
    ax.add_patch(FancyBboxPatch((centre - _BOX_W / 2, top - _BOX_H), _BOX_W, _BOX_H, boxstyle="round,pad=0.02",
                                facecolor="#fde0e0" if differs else "#eef3fb",
                                edgecolor="#c62828" if differs else "#6b8cc7", linewidth=2 if differs else 1))
    text = item["label"].replace(", ", "\n", 1) if len(item["label"]) > 16 else item["label"]
    ax.text(centre, top - _BOX_H / 2, text, ha="center", va="center", fontsize=7.5)


def _field(ax: Any, size: list[int], field: dict[str, Any] | None, title: str) -> None:
    """The input as a square, the units as dots `jump` apart, and the region the centre unit sees."""
    from matplotlib.patches import Rectangle

    h, w = size
    ax.add_patch(Rectangle((0, 0), w, h, facecolor="#f2f2f2", edgecolor="#666666"))
    if field and field.get("size") is not None:
        fh, fw = field["size"]
        jh, jw = field["jump"]
        ax.add_patch(Rectangle((w / 2 - fw / 2, h / 2 - fh / 2), fw, fh, facecolor="#c6282833", edgecolor="#c62828",
                               linewidth=2))
        xs = [w / 2 + jw * i for i in range(-(w // (2 * jw)), w // (2 * jw) + 1)]
        ys = [h / 2 + jh * i for i in range(-(h // (2 * jh)), h // (2 * jh) + 1)]
        ax.scatter([x for x in xs for _ in ys], [y for _ in xs for y in ys], s=4, color="#333333")
        ax.scatter([w / 2], [h / 2], s=40, color="#c62828", zorder=3)  # the unit whose field is drawn
        ax.set_title(f"{title}: {_pair(field['size'])} of the {h}x{w} input,\nunits {_one(field['jump'])} apart",
                     fontsize=10)
        span = max(h, w, fh, fw) * 0.55
    else:
        ax.set_title(f"{title}: the whole input", fontsize=10)
        span = max(h, w) * 0.55
    ax.set_xlim(w / 2 - span, w / 2 + span)
    ax.set_ylim(h / 2 - span, h / 2 + span)
    ax.set_aspect("equal")
    ax.axis("off")


def _pair(value: list[int] | tuple[int, ...]) -> str:
    return f"{value[0]}x{value[1]}"


def _one(value: list[int]) -> str:
    return str(value[0]) if value[0] == value[1] else _pair(value)


def _count(value: float) -> str:
    return f"{value / 1e6:,.0f} million" if value >= 1e6 else f"{value:,.0f}"
