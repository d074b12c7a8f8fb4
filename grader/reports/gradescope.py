"""Gradescope's `results.json`: the Markdown summary on top, one test per check, totals, and per-assignment figures
in `extra_data`.

Gradescope shows no image a Markdown output links to; a failed check with a picture (`reports.pictures`) is the one
test whose output is HTML: its message, escaped, and the picture inlined as a data URI, with its words as alt
text."""

from __future__ import annotations

import json
from typing import Any

from grader.reports import summary
from grader.results import SubmissionResult

HIDDEN_VISIBILITY = "after_due_date"


def to_dict(result: SubmissionResult) -> dict[str, Any]:
    tests = []
    for assignment in result.assignments:
        for check in assignment.checks:
            test = {
                "name": check.name,
                "score": check.score,
                "max_score": check.max_score,
                "status": check.status,
                "output": check.output,
                "visibility": HIDDEN_VISIBILITY if check.hidden else "visible",
            }
            if not check.passed and not check.hidden and check.data and "figure" in check.data:
                test.update(output=_with_picture(check.output, check.data["figure"]), output_format="html")
            tests.append(test)
    return {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": round(result.execution_time, 2),
        "output": summary.markdown(result),
        "output_format": "md",  # escaped by `summary.markdown`
        "test_output_format": "text",  # shown as given, never interpreted (Gradescope's default, said outright)
        "test_name_format": "text",
        "tests": tests,
        "extra_data": {
            "assignments": {
                a.name: {"score": a.score, "max_score": a.max_score, "file": a.file,
                         "execution_time": round(a.execution_time, 2), "notes": list(a.notes),
                         "child_peak_mb": a.peak_memory_mb}
                for a in result.assignments
            },
            **result.extra,
        },
    }


def _with_picture(message: str, figure: dict[str, Any]) -> str:
    import base64

    from grader.reports import pictures
    from grader.reports.escape import html

    data = base64.b64encode(pictures.draw(figure)).decode()
    return (f"<pre>{html(message)}</pre><p><img alt='{html(pictures.describe(figure))}' "
            f"src='data:image/png;base64,{data}'></p>")


def render(result: SubmissionResult) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True) + "\n"


def ungraded(maxima: dict[str, float], output: str, extra: dict[str, Any]) -> bytes:
    """The results.json of a submission that could not be graded at all: 0 of each assignment's points (`maxima`),
    no test, `output` saying why, and `extra` in `extra_data` (`error`, or `grader_error` for the grader's own
    fault)."""
    report = {"score": 0, "max_score": sum(maxima.values()), "tests": [], "output": output,
              "extra_data": {"assignments": {n: {"score": 0, "max_score": m} for n, m in maxima.items()}, **extra}}
    return (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """A results.json without what differs from run to run of one grading (times, memory, the time limits that
    follow the machine): what two gradings of one submission must agree on."""
    kept = {k: v for k, v in report.items() if k != "execution_time"}
    extra = {k: v for k, v in kept.get("extra_data", {}).items()
             if k not in ("grader_peak_mb", "time_limit_s", "machine_slowdown", "time_limit_ceiling_s")}
    extra["assignments"] = {name: {k: v for k, v in figures.items() if k not in ("execution_time", "child_peak_mb")}
                            for name, figures in extra.get("assignments", {}).items()}
    return {**kept, "extra_data": extra}


def assignment_of(test: dict[str, Any]) -> str:
    """The assignment a test of a results.json belongs to (its name is `assignment/category: description`)."""
    return test["name"].split("/", 1)[0]
