"""The class view of `grade batch` and `grade merge`, rendered from a class's results (`results.ClassResult`):
`grades.csv`, `summary.md` (Markdown, e.g. for a CI job's summary), `junit.xml`, `index.html`, `histogram.png`, and
with a roster the Canvas and Moodle gradebooks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from grader.reports import class_index, gradebook, junit
from grader.reports.escape import csv_writer, markdown
from grader.reports.summary import first_line
from grader.results import ClassResult


def write(klass: ClassResult, out: Path, fail_under: float | None = None,
          roster: dict[str, dict[str, str]] | None = None, title: str = "CNN assignments") -> dict[str, Any]:
    """Write the class view into `out`; returns what the command says of it (`below`: the students under
    `fail_under` percent, `grader_failures`: those the grader failed on)."""
    reports, assignments = klass.reports, klass.assignments
    broken = klass.grader_failures
    below = sorted(n for n in reports if fail_under is not None and klass.percent(n) < fail_under and n not in broken)
    (out / "grades.csv").write_text(_grades_csv(klass), newline="")
    (out / "summary.md").write_text(_summary_markdown(klass, fail_under, below))
    (out / "junit.xml").write_text(junit.render(sorted(reports.items())))
    (out / "index.html").write_text(class_index.render(out, reports, assignments, below, broken))
    _histogram([klass.percent(n) for n in reports], out / "histogram.png")
    unrostered: list[str] = []
    if roster is not None:
        (out / "canvas.csv").write_text(gradebook.canvas(reports, roster, title))
        (out / "moodle.csv").write_text(gradebook.moodle(reports, roster, title, assignments))
        unrostered, _ = gradebook.unmatched(reports, roster)
    return {"students": len(reports), "most_failed": klass.failed().most_common(5), "grader_failures": broken,
            "below": below, "unrostered": unrostered}


def _grades_csv(klass: ClassResult) -> str:
    import io

    buffer = io.StringIO(newline="")
    writer = csv_writer(buffer)
    writer.writerow(["student", *klass.assignments, "total", "max_score", "percent", "grader_error"])
    for name, report in sorted(klass.reports.items()):
        per = report["extra_data"].get("assignments", {})
        top = report["max_score"] or sum(a.get("max_score", 0) for a in per.values()) or None
        percent = f"{100 * report['score'] / top:.1f}" if top else "0.0"
        writer.writerow([name, *(per.get(a, {}).get("score", "") for a in klass.assignments), report["score"],
                         top if top is not None else "", percent, report["extra_data"].get("grader_error", "")])
    return buffer.getvalue()


def _summary_markdown(klass: ClassResult, fail_under: float | None, below: list[str]) -> str:
    reports, assignments, broken = klass.reports, klass.assignments, klass.grader_failures
    percents = [klass.percent(n) for n in reports]
    lines = [f"# Class summary: {len(reports)} students", ""]
    if percents:
        lines += [f"Mean {sum(percents) / len(percents):.1f}%, lowest {min(percents):.1f}%, "
                  f"highest {max(percents):.1f}%.", "", "![scores](histogram.png)", ""]
    if broken:
        lines += [f"**The grader itself failed on {len(broken)} student(s), not graded:** "
                  f"{markdown(', '.join(broken))} "
                  "(`grader_error` in grades.csv).", ""]
    if fail_under is not None:
        lines += [f"Below {fail_under:g}%: {markdown(', '.join(below)) if below else 'nobody'}.", ""]
    causes: dict[str, Counter] = {}
    for report in reports.values():
        for t in report["tests"]:
            if t["status"] == "failed" and t.get("visibility") == "visible":
                causes.setdefault(t["name"], Counter())[first_line(t["output"], 160)] += 1
    lines += ["## Checks failed most often", "", "| students | check | the cause named most often |", "|---|---|---|"]
    for name, count in klass.failed().most_common(15):
        cause, times = (causes.get(name) or Counter({"(hidden)": count})).most_common(1)[0]
        lines.append(f"| {count} | {markdown(name)} | {markdown(cause)} ({times}) |")
    lines += ["", "## Students", "", "| student | " + " | ".join(assignments) + " | total | percent |",
              "|---|" + "---:|" * (len(assignments) + 2)]
    for name, report in sorted(reports.items()):
        per = report["extra_data"].get("assignments", {})
        cells = [f"{per[a]['score']:g}" if a in per else "" for a in assignments]
        flag = " (grader failed)" if name in broken else " (below)" if name in below else ""
        lines.append(f"| {markdown(name)}{flag} | " + " | ".join(cells)
                     + f" | {report['score']:g} / {report['max_score']:g} | {klass.percent(name):.1f}% |")
    return "\n".join(lines) + "\n"


def _histogram(percents: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.hist(percents, bins=[i * 10 for i in range(11)], color="#4477aa", edgecolor="white")
    axes.set_xlabel("score (%)")
    axes.set_ylabel("students")
    axes.set_title(f"{len(percents)} students")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
