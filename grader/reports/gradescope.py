"""Gradescope's `results.json`: the Markdown summary on top, one test per check, totals, and per-assignment figures
in `extra_data`."""

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
            tests.append({
                "name": check.name,
                "score": check.score,
                "max_score": check.max_score,
                "status": check.status,
                "output": check.output,
                "visibility": HIDDEN_VISIBILITY if check.hidden else "visible",
            })
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


def render(result: SubmissionResult) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True) + "\n"
