"""The class index of `grade batch`: one row per student, linking to the page returned to them
(`feedback/<student>/feedback.html`), or saying why there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.reports.escape import html as escape

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; } td, th { padding: .3rem .5rem; text-align: left; }
tr { border-bottom: 1px solid #eee; } th { background: #f6f6f6; } td.n { text-align: right; }
.flag { color: #c62828; font-weight: 600; } .note { color: #555; }
"""


def render(out: Path, reports: dict[str, dict[str, Any]], assignments: list[str], below: list[str],
           broken: list[str]) -> str:
    """The index page of a graded class in `out`."""
    head = "".join(f"<th>{escape(a)}</th>" for a in assignments)
    rows = []
    for name, report in sorted(reports.items()):
        page = out / "feedback" / name / "feedback.html"
        link = (f"<a href='feedback/{escape(name)}/feedback.html'>{escape(name)}</a>" if page.is_file()
                else escape(name))
        per = report["extra_data"].get("assignments", {})
        cells = "".join(f"<td class='n'>{per[a]['score']:g}</td>" if a in per else "<td></td>" for a in assignments)
        flag = ("grader failed: not graded" if name in broken else "below the threshold" if name in below else "")
        note = "" if page.is_file() else f"<div class='note'>{escape(report.get('output', '')[:200])}</div>"
        percent = 100 * report["score"] / report["max_score"] if report["max_score"] else 0.0
        rows.append(f"<tr><td>{link}{note}</td>{cells}<td class='n'>{report['score']:g} / {report['max_score']:g}</td>"
                    f"<td class='n'>{percent:.1f}%</td><td class='flag'>{flag}</td></tr>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class: {len(reports)} students"
            f"</title><style>{_STYLE}</style></head><body><h1>{len(reports)} students</h1>"
            "<p>Each name links to the feedback page returned to that student. Also here: <a href='grades.csv'>"
            "grades.csv</a>, <a href='summary.md'>summary.md</a>, <a href='junit.xml'>junit.xml</a>.</p>"
            f"<table><tr><th>student</th>{head}<th>total</th><th>percent</th><th></th></tr>"
            + "\n".join(rows) + "</table></body></html>\n")
