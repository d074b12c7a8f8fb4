"""The summary a student reads first, in Markdown: the score per assignment, each failed check with its cause in
one line, the training curves as figures, and what the total includes (hidden checks, missing assignments).

Gradescope shows it as the top-level output of results.json (`output_format: "md"`); Gradescope renders Markdown but
no images of ours, so a curve is a small table of its figures per epoch."""

from __future__ import annotations

from dataclasses import dataclass

from grader.reports.escape import markdown as _cell
from grader.results import AssignmentResult, Cause, CheckResult, SubmissionResult


@dataclass(frozen=True)
class Overview:
    """What the summary says, for every renderer of it (this Markdown, the feedback page's HTML)."""

    rows: tuple[tuple[AssignmentResult, int], ...]  # each assignment and its visible checks failed
    failures: tuple[CheckResult, ...]  # the visible checks failed, in order
    causes: tuple[Cause, ...]  # each distinct mistake once, in the order of the assignments
    hidden: tuple[CheckResult, ...]
    missing: tuple[str, ...]  # assignments not started, not scored

    @property
    def hidden_text(self) -> str:
        return (f"{len(self.hidden)} hidden check(s) worth {sum(c.max_score for c in self.hidden):g} points are "
                "graded now and counted in the total above; what each found is shown after the due date.")

    @property
    def missing_text(self) -> str:
        return f"Not started (no file, or the stub untouched), so not scored here: {', '.join(self.missing)}."


def overview(result: SubmissionResult) -> Overview:
    checks = [c for a in result.assignments for c in a.checks]
    return Overview(tuple((a, sum(not c.passed for c in a.checks if not c.hidden)) for a in result.assignments),
                    tuple(c for c in checks if not c.passed and not c.hidden),
                    tuple(c for a in result.assignments for c in a.causes), tuple(c for c in checks if c.hidden),
                    tuple(result.extra.get("missing") or ()))


def markdown(result: SubmissionResult) -> str:
    facts = overview(result)
    lines = [f"**Score: {result.score:g} / {result.max_score:g}** ({result.percent:.0f}%)", "",
             "| assignment | file | points | checks failed |", "|---|---|---:|---:|"]
    for a, failed in facts.rows:
        lines.append(f"| {_cell(a.name)} | {_cell(a.file or 'no file')} | {a.score:g} / {a.max_score:g} | {failed} |")
    if facts.causes:
        lines += ["", "### What to fix", ""]
        lines += [f"- **{_cell(c.assignment)}** {_cell(cause_text(c))} *{_cell(explains_text(c))}*"
                  for c in facts.causes]
    curves = [c for a in result.assignments for c in a.checks if c.data and "curves" in c.data and not c.hidden]
    if curves:
        lines += ["", "### Training curves, yours beside the reference's", ""]
        for check in curves:
            lines += curve_table(check)
    lines += ["", "### What the total includes", ""]
    lines.append(f"- {facts.hidden_text}" if facts.hidden else "- No hidden checks: every check that counts is listed "
                 "here.")
    if facts.missing:
        lines.append(f"- {facts.missing_text}")
    lines.append("- Every check, with its full message, is listed below this summary.")
    return "\n".join(lines) + "\n"


# What a check of each category measures, as the summary says what one cause changes.
_EFFECTS = {"api": "what the function accepts and returns", "values": "the values it returns",
            "shape": "the output shape", "params": "the parameter count", "receptive_field": "the receptive field",
            "macs": "the multiply-accumulates", "structure": "the layers", "invariance": "the invariance to shifts",
            "equivariance": "the equivariance to shifts", "gradient_flow": "the gradient flow at initialisation",
            "convergence": "how it trains"}


# The lecture's point behind a structural cause: (layer kinds it is about, categories it changes, the point).
_LECTURE = (
    ({"softmax"}, set(), "A softmax turns the class scores into probabilities, which the cross-entropy loss needs to "
     "train the network."),
    ({"add"}, set(), "A residual block adds its input to its output, y = ReLU(F(x) + x): the shortcut gives the "
     "gradient a direct path to the early layers; the plain network is the same stack without shortcuts."),
    ({"flatten", "dense"}, {"shape", "invariance"}, "Flatten and Dense tie a network to one input size and to where "
     "things are; a global average over each class map does neither."),
    ({"conv", "max_pool", "avg_pool"}, {"receptive_field"}, "Each k x k layer adds (k - 1) x jump pixels to what one "
     "unit sees, and each stride or pooling multiplies the jump."),
)


def lecture_point(cause: Cause) -> str | None:
    """The lecture's point behind a structural cause, chosen from its layers and what it changes."""
    for kinds, categories, point in _LECTURE:
        if kinds & set(cause.kinds) and (not categories or categories & set(cause.categories)):
            return point
    return None


def cause_text(cause: Cause, limit: int = 360) -> str:
    """A cause in whole sentences: where it was found and what differs, or the first check's message shortened."""
    if cause.source == "structure":
        where = _listed(list(cause.functions))
        text = _sentence_end(f"In {where}: {cause.text}" if where else cause.text)
    elif cause.source in ("value", "error") and cause.functions:
        text = first_line(cause.text, limit)
        text = text if text.startswith(cause.functions[0]) else f"{cause.functions[0]}: {text}"
        lines = [x.strip() for x in cause.text.splitlines()]
        where = next((x for x in lines[1:3] if ", line " in x and ": " in x), None)  # the runner's "file, line N"
        hint = next((x for x in lines if x.startswith("Hint: ")), None)
        if hint:  # before the place, which is left out first when the item must be short
            text += f" {_sentence_end(hint)}"
        if where:
            text += f" At {_sentence_end(where)}"
    elif cause.source == "hidden":
        text = f"Hidden checks: {first_line(cause.text, limit)}" if cause.text else \
            f"Hidden checks of {_listed(list(cause.functions))} failed."
    else:
        text = first_line(cause.text, limit)
    effects = [_EFFECTS[c] for c in cause.categories if c in _EFFECTS]
    if len(effects) > 1 and cause.source != "load":  # a file that does not load changes nothing: it is not graded
        text += f" This one mistake changes {_listed(effects)}."
    point = lecture_point(cause) if cause.source == "structure" else None
    return _shortened(text + (f" {point}" if point else ""), limit + 240)


def explains_text(cause: Cause) -> str:
    """Which checks a cause explains and the points at stake, in one sentence."""
    if cause.source == "load":
        hidden = f" and {cause.hidden} hidden" if cause.hidden else ""
        return (f"Until the file loads, none of {cause.assignment}'s checks can be graded: {len(cause.checks)} "
                f"checks{hidden}, {cause.points:g} points.")
    parts = []
    if cause.checks:
        parts.append(f"{len(cause.checks)} check{'s' if len(cause.checks) > 1 else ''} "
                     f"({'; '.join(cause.checks)})")
    if cause.hidden:
        parts.append(f"{cause.hidden} hidden check{'s' if cause.hidden > 1 else ''}")
    points = f"{cause.points:g} point{'' if cause.points == 1 else 's'}"
    return f"Fixing it is worth up to {points}: {' and '.join(parts) or 'the checks above'}."


def _listed(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def first_line(output: str, limit: int = 320) -> str:
    """The cause of a failure in whole sentences on one line: the message's first line, with the line it announces
    (a first line ending in a colon) or the likely cause the message names (a "Likely cause:" line, or the items
    listed under it). Too long, it says less: whole sentences, then whole clauses, never a cut word.

    >>> first_line("gap_head differs from the expected architecture:\\n  - expected Conv2D 5x5, found Conv2D 3x3")
    'gap_head differs from the expected architecture: expected Conv2D 5x5, found Conv2D 3x3.'
    >>> first_line("1 of 3 calls gave another value:\\n  f(1): expected 2, returned 3\\nLikely cause: no bias.")
    '1 of 3 calls gave another value. Likely cause: no bias.'
    >>> first_line("expected 4,010, found 1,450.\\nLikely cause:\\n  - a 3x3 kernel\\n  - no bias\\nLayers: ...")
    'expected 4,010, found 1,450. Likely cause: a 3x3 kernel; no bias.'
    """
    lines = [x.strip() for x in output.splitlines() if x.strip()] or ["no message"]
    line = lines[0]
    at = next((i for i, x in enumerate(lines) if x.startswith("Likely cause:")), None)
    if at is not None and at > 0:
        said = lines[at][len("Likely cause:"):].strip()
        if not said:  # the causes are the items listed beneath it
            items = []
            for x in lines[at + 1:]:
                if not x.startswith(("-", "•")):
                    break
                items.append(_sentence_end(x.lstrip("-• ").strip(), ""))
            said = "; ".join(items)
        if said:
            line = f"{_sentence_end(line.rstrip(':'), '')}. Likely cause: {_sentence_end(said, '')}"
    elif line.endswith(":") and len(lines) > 1:
        line = f"{line} {lines[1].lstrip('-• ').strip()}"
    return _shortened(_sentence_end(line), limit)


def _sentence_end(text: str, stop: str = ".") -> str:
    """`text` without the stops and colons it ended in, then `stop` (none after a question or exclamation mark)."""
    text = text.rstrip().rstrip(".;:,")
    return text if not text or text[-1] in "?!" else text + stop


def _shortened(text: str, limit: int) -> str:
    """`text` within `limit` characters by leaving out its last sentences, then its last clauses; a single word
    longer than that is the only thing ever cut."""
    if len(text) <= limit:
        return text
    for separator, end in ((". ", "."), ("; ", "."), (", ", " …")):
        parts = text.split(separator)
        kept = parts[0]
        for part in parts[1:]:
            if len(kept) + len(separator) + len(part) + 2 > limit:
                break
            kept += separator + part
        if len(kept) + 2 <= limit and kept != text:
            return _sentence_end(kept, "") + end
    words = text[: limit - 2].rsplit(" ", 1)[0]
    return words + " …"


def curve_table(check: CheckResult) -> list[str]:
    """A training run and the reference's as a Markdown table: validation accuracy per epoch, then the last
    training loss."""
    curves = check.data["curves"]  # type: ignore[index]
    runs = [(who, curves[who]) for who in ("student", "reference") if "val_curve" in curves.get(who, {})]
    if not runs:
        return []
    epochs = max(len(run["val_curve"]) for _, run in runs)
    lines = [f"**{check.assignment}: {_cell(check.description)}** (validation accuracy by epoch; training loss "
             "at the end)", "", "| | " + " | ".join(f"epoch {e}" for e in range(1, epochs + 1)) + " | loss |",
             "|---|" + "---:|" * (epochs + 1)]
    for who, run in runs:
        values = [f"{v:.1%}" for v in run["val_curve"]] + [""] * (epochs - len(run["val_curve"]))
        loss = f"{run['train_loss']:.3f}" if isinstance(run.get("train_loss"), int | float) else ""
        lines.append(f"| {'yours' if who == 'student' else 'reference'} | " + " | ".join(values) + f" | {loss} |")
    return [*lines, ""]


def curve_text(check: CheckResult) -> str:
    """A training run and the reference's in words: the alternative text of its plot."""
    curves = check.data["curves"]  # type: ignore[index]
    parts = []
    for who, name in (("student", "yours"), ("reference", "the reference's")):
        run = curves.get(who, {})
        if "val_curve" in run:
            accuracy = ", ".join(f"{v:.0%}" for v in run["val_curve"])
            loss = f"; final training loss {run['train_loss']:.3f}" if isinstance(run.get("train_loss"), int | float) \
                else ""
            parts.append(f"{name}: validation accuracy by epoch {accuracy}{loss}")
    return f"Training curves of {check.assignment}, {check.description}. " + "; ".join(parts) + "."
