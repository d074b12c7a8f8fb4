"""The summary a student reads first, in Markdown: the score per assignment, each failed check with its cause in
one line, the training curves as figures, and what the total includes (hidden checks, missing assignments).

Gradescope shows it as the top-level output of results.json (`output_format: "md"`); Gradescope renders Markdown but
no images of ours, so a curve is a small table of its figures per epoch."""

from __future__ import annotations

from dataclasses import dataclass

from grader.reports.escape import markdown as _cell
from grader.results import AssignmentResult, CheckResult, SubmissionResult


@dataclass(frozen=True)
class Overview:
    """What the summary says, for every renderer of it (this Markdown, the feedback page's HTML)."""

    rows: tuple[tuple[AssignmentResult, int], ...]  # each assignment and its visible checks failed
    failures: tuple[CheckResult, ...]  # the visible checks failed, in order
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
                    tuple(c for c in checks if not c.passed and not c.hidden), tuple(c for c in checks if c.hidden),
                    tuple(result.extra.get("missing") or ()))


def markdown(result: SubmissionResult) -> str:
    facts = overview(result)
    lines = [f"**Score: {result.score:g} / {result.max_score:g}** ({result.percent:.0f}%)", "",
             "| assignment | file | points | checks failed |", "|---|---|---:|---:|"]
    for a, failed in facts.rows:
        lines.append(f"| {_cell(a.name)} | {_cell(a.file or 'no file')} | {a.score:g} / {a.max_score:g} | {failed} |")
    failures = facts.failures
    if failures:
        lines += ["", "### What to fix", ""]
        seen: dict[str, str] = {}
        for check in failures:
            cause = first_line(check.output)
            if cause in seen and check.category != "load":
                said = f"the same cause as *{_cell(seen[cause])}*"
            else:
                seen.setdefault(cause, f"{check.assignment} / {check.category}: {check.description}")
                said = _cell(cause)
            lines.append(f"- **{check.assignment}** / {check.category}: {_cell(check.description)} "
                         f"({check.score:g}/{check.max_score:g}): {said}")
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
