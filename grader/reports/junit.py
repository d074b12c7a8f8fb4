"""JUnit XML for CI: one test suite per submission and assignment, one test case per check (hidden checks say only
pass/fail). Made from Gradescope-format reports, so that `grade` and `grade batch` (whose results are kept as
JSON) write the same thing. Names are stable from run to run: the points go in the case's output, not its name.
Student text is made XML 1.0 first (`escape.xml`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from grader.reports.escape import xml as _safe


def render(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """`reports`: (submission or student name, its results.json as a dict) pairs."""
    suites = ET.Element("testsuites", name="grade")
    for who, report in reports:
        by_assignment: dict[str, list[dict[str, Any]]] = {}
        for test in report.get("tests", []):
            assignment, _, rest = test["name"].partition("/")
            by_assignment.setdefault(assignment, []).append({**test, "check": rest})
        figures = report.get("extra_data", {}).get("assignments", {})
        for assignment in figures if figures else by_assignment:
            tests = by_assignment.get(assignment, [])
            failures = sum(t["status"] == "failed" for t in tests)
            seconds = figures.get(assignment, {}).get("execution_time", 0.0)
            suite = ET.SubElement(suites, "testsuite", name=_safe(f"{who}:{assignment}"), tests=str(len(tests)),
                                  failures=str(failures), errors="0", time=f"{seconds:.2f}")
            if not tests:  # nothing graded (no file, a grader failure): one failing case says why
                case = ET.SubElement(suite, "testcase", classname=f"{assignment}.load", name="graded")
                ET.SubElement(case, "failure", message=_safe(_first(report.get("output", ""))) or "not graded")
                suite.set("tests", "1")
                suite.set("failures", "1")
            for test in tests:
                category, _, description = test["check"].partition(": ")
                case = ET.SubElement(suite, "testcase", classname=_safe(f"{assignment}.{category}"),
                                     name=_safe(description))
                points = f"points: {test['score']:g}/{test['max_score']:g}"
                if test["status"] == "failed":
                    failure = ET.SubElement(case, "failure", message=_safe(_first(test["output"])) or "failed")
                    failure.text = _safe(f"{test['output']}\n{points}")
                else:
                    ET.SubElement(case, "system-out").text = _safe(f"{test['output']}\n{points}".strip())
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _first(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")[:300]
