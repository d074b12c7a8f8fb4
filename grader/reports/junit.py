"""JUnit XML for CI: one test suite per assignment, one test case per check (hidden checks say only pass/fail)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.results import SubmissionResult


def render(results: list[SubmissionResult]) -> str:
    suites = ET.Element("testsuites", name="grade")
    for result in results:
        for assignment in result.assignments:
            failures = sum(1 for c in assignment.checks if not c.passed)
            suite = ET.SubElement(suites, "testsuite", name=f"{result.path}:{assignment.name}",
                                  tests=str(len(assignment.checks)), failures=str(failures), errors="0",
                                  time=f"{assignment.execution_time:.2f}")
            for check in assignment.checks:
                case = ET.SubElement(suite, "testcase", classname=f"{assignment.name}.{check.category}",
                                     name=f"{check.description} ({check.score:g}/{check.max_score:g})")
                if not check.passed:
                    first = check.output.splitlines()[0] if check.output else "failed"
                    failure = ET.SubElement(case, "failure", message=first[:300])
                    failure.text = check.output
                elif check.output:
                    ET.SubElement(case, "system-out").text = check.output
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
