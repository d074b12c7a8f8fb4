"""The readable terminal report: one line per check, the message indented beneath it. Student text is escaped
(`escape.terminal`): a message cannot move the cursor, retitle the window or hide a line."""

from __future__ import annotations

import textwrap

from grader.reports.escape import terminal as _safe
from grader.reports.summary import cause_text, explains_text
from grader.results import AssignmentResult, SubmissionResult

_WIDTH = 100


def render(result: SubmissionResult, color: bool = False) -> str:
    """The report of one submission as text."""
    lines = [f"Submission: {_safe(result.path)}", ""]
    for assignment in result.assignments:
        lines += _assignment(assignment, color)
        lines.append("")
    if result.extra.get("missing"):
        lines += [f"Not started (no file, or the stub untouched), so not scored here: "
                  f"{_safe(', '.join(result.extra['missing']))} (a class grading or Gradescope counts each as 0).", ""]
    lines.append(f"Total: {_points(result.score)} / {_points(result.max_score)} ({result.percent:.0f}%)  "
                 f"in {result.execution_time:.1f} s")
    return "\n".join(lines) + "\n"


def _assignment(assignment: AssignmentResult, color: bool) -> list[str]:
    file = _safe(assignment.file or "no file")
    head = f"== {assignment.name} ({file}): {_points(assignment.score)} / {_points(assignment.max_score)} =="
    lines = [_style(head, bold=True, color=color)]
    seen: set[str] = set()
    for check in assignment.checks:
        mark = "PASS" if check.passed else "FAIL"
        mark = _style(mark, fg="green" if check.passed else "red", color=color)
        points = f"{_points(check.score):>4}/{_points(check.max_score):<4}"
        lines.append(f"  {mark}  {points} {check.category}: {_safe(check.description)}")
        if check.output in seen and not check.passed and not check.hidden:
            lines.append(" " * 14 + "(the same reason as above)")
        elif check.output and not (check.passed and check.category == "load"):
            seen.add(check.output)
            for paragraph in _safe(check.output).splitlines():
                wrapped = textwrap.wrap(paragraph, _WIDTH - 14, subsequent_indent="  ") or [""]
                lines += [" " * 14 + w for w in wrapped]
    if assignment.causes:
        lines.append("  what to fix (each mistake once):")
        for cause in assignment.causes:
            wrapped = textwrap.wrap(_safe(f"{cause_text(cause)} {explains_text(cause)}"), _WIDTH - 6)
            lines += ["    - " + wrapped[0], *("      " + w for w in wrapped[1:])]
    for note in assignment.notes:
        lines.append(f"  note: {_safe(note)}")
    return lines


def _points(value: float) -> str:
    return f"{value:g}"


def _style(text: str, color: bool, **kwargs: object) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kwargs)  # type: ignore[arg-type]
