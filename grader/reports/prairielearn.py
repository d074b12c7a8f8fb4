"""PrairieLearn's `results.json` (its external graders' format): the score as a fraction, one test per check, the
Markdown summary as the message, at most 1 MB; `gradable: false` with the reasons when nothing could be graded.

PrairieLearn has no hidden tests: a hidden check is a test like the others, and its output says only what a hidden
check may say (`grader.grading`). A failed check with a picture carries it as an image of its test.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from grader.reports import summary
from grader.results import SubmissionResult

MAX_BYTES = 1_000_000  # PrairieLearn's limit on results.json
_KEPT_OUTPUT = 2000  # characters of each test's output kept when the whole would pass the limit


def to_dict(result: SubmissionResult) -> dict[str, Any]:
    unloaded = [(a.name, a.checks[0].output) for a in result.assignments
                if a.checks and a.checks[0].category == "load" and not a.checks[0].passed]
    if result.assignments and len(unloaded) == len(result.assignments):  # nothing could be graded
        return {"gradable": False, "format_errors": [f"{name}: {reason}" for name, reason in unloaded],
                "message": summary.markdown(result)}
    tests = []
    for assignment in result.assignments:
        for check in assignment.checks:
            test: dict[str, Any] = {"name": check.name, "description": check.description, "points": check.score,
                                    "max_points": check.max_score, "output": check.output,
                                    "message": "passed" if check.passed else "failed"}
            if not check.passed and not check.hidden and check.data and "figure" in check.data:
                from grader.reports import pictures

                png = base64.b64encode(pictures.draw(check.data["figure"])).decode()
                test["images"] = [{"label": pictures.describe(check.data["figure"]),
                                   "url": f"data:image/png;base64,{png}"}]
            tests.append(test)
    return {"gradable": True, "score": result.score / result.max_score if result.max_score else 0.0,
            "message": summary.markdown(result), "tests": tests,
            "points": result.score, "max_points": result.max_score}


def render(result: SubmissionResult) -> str:
    """The results.json, within PrairieLearn's 1 MB: the pictures are the first to go, then long outputs are cut."""
    report = to_dict(result)
    text = json.dumps(report, indent=1, sort_keys=True)
    if len(text.encode()) > MAX_BYTES:
        for test in report.get("tests", []):
            test.pop("images", None)
        text = json.dumps(report, indent=1, sort_keys=True)
    if len(text.encode()) > MAX_BYTES:
        for test in report.get("tests", []):
            if len(test["output"]) > _KEPT_OUTPUT:
                test["output"] = test["output"][:_KEPT_OUTPUT] + "\n... (cut to keep the results within 1 MB)"
        report["message"] = report["message"][:20_000]
        text = json.dumps(report, indent=1, sort_keys=True)
    return text + "\n"
