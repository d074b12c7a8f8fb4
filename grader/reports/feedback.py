"""The student's feedback pages: Markdown, and a self-contained HTML page (plots inlined, readable offline),
each with a plot of every training curve beside the reference's."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

from grader.reports import pictures, summary
from grader.reports.escape import fence, markdown
from grader.results import CheckResult, SubmissionResult


def write(result: SubmissionResult, folder: Path) -> Path:
    """Write `feedback.md` and its PNG plots into `folder`; returns the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# Feedback", "", summary.markdown(result), "## Every check", ""]
    for assignment in result.assignments:
        lines += [f"## {markdown(assignment.name)} ({markdown(assignment.file or 'no file')}): "
                  f"{assignment.score:g} / {assignment.max_score:g}", ""]
        lines += [f"*{markdown(note)}*" for note in assignment.notes]
        lines += ["", "| | check | points |", "|---|---|---|"]
        for check in assignment.checks:
            mark = "pass" if check.passed else "**fail**"
            lines.append(f"| {mark} | {check.category}: {markdown(check.description)} | "
                         f"{check.score:g}/{check.max_score:g} |")
        lines.append("")
        drawn: set[str] = set()  # one picture drawn once per assignment (two checks of one example)
        for number, check in enumerate(assignment.checks):
            if check.output and not check.passed:
                lines += [f"### {check.category}: {markdown(check.description)}", "", *fence(check.output), ""]
                if check.data and "figure" in check.data and _once(check.data["figure"], drawn):
                    image = picture_name(assignment.name, number, check)
                    (folder / image).write_bytes(pictures.draw(check.data["figure"]))
                    lines += [f"![{markdown(pictures.describe(check.data['figure']))}]({image})", ""]
            if check.data and "curves" in check.data:
                image = f"{assignment.name}-{check.category}.png"
                plot_curves(check, folder / image)
                lines += [f"### Training curve: {markdown(check.description)}", "", markdown(check.output), "",
                          f"![{markdown(summary.curve_text(check))}]({image})", ""]
    page = folder / "feedback.md"
    page.write_text("\n".join(lines) + "\n")
    (folder / "feedback.html").write_text(html_page(result, folder))
    return page


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
.score { font-size: 1.2rem; } .bar { background: #eee; height: .6rem; border-radius: .3rem; width: 20rem; }
.bar span { display: block; height: 100%; background: #2a7; border-radius: .3rem; }
table { border-collapse: collapse; width: 100%; } td, th { padding: .35rem .5rem; vertical-align: top; }
tr { border-bottom: 1px solid #eee; } th { text-align: left; background: #f6f6f6; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
pre { white-space: pre-wrap; margin: .2rem 0 0; font-size: 13px; background: #fafafa; padding: .4rem;
      border-left: 3px solid #c62828; }
.note { color: #555; font-style: italic; } img { max-width: 100%; border: 1px solid #eee; }
section { background: #fafafa; border: 1px solid #eee; padding: .2rem 1rem 1rem; margin-top: 1.5rem; }
section h2 { margin-top: .8rem; } .fix li { margin: .5rem 0; } .fix li::marker { color: #c62828; }
.explains { color: #555; font-size: 13px; } figure { margin: .5rem 0; }
"""


def _once(figure: dict, drawn: set[str]) -> bool:
    key = json.dumps(figure, sort_keys=True)
    if key in drawn:
        return False
    drawn.add(key)
    return True


def picture_name(assignment: str, number: int, check: CheckResult) -> str:
    """The file of a check's picture beside the page: one per check."""
    return f"{assignment}-{number}-{check.category}.png"


def html_page(result: SubmissionResult, folder: Path) -> str:
    """One page, no external files: every plot is inlined as a data URI."""
    import base64

    from grader.reports.escape import html as escape

    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Feedback: "
             f"{escape(Path(result.path).name)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Feedback for {escape(Path(result.path).name)}</h1>",
             f"<p class='score'>{result.score:g} / {result.max_score:g} points ({result.percent:.0f}%)</p>",
             f"<div class='bar'><span style='width:{result.percent:.0f}%'></span></div>"]
    parts += _summary_html(result)
    for assignment in result.assignments:
        parts.append(f"<h2>{escape(assignment.name)} ({escape(assignment.file or 'no file')}): "
                     f"{assignment.score:g} / {assignment.max_score:g}</h2>")
        parts += [f"<p class='note'>{escape(note)}</p>" for note in assignment.notes]
        parts.append("<table><tr><th></th><th>check</th><th>points</th></tr>")
        numbered = sorted(enumerate(assignment.checks), key=lambda pair: pair[1].passed)  # the failures first
        for number, check in numbered:
            mark = "<span class='pass'>pass</span>" if check.passed else "<span class='fail'>fail</span>"
            detail = ""
            if check.output and not check.passed:
                detail = f"<pre>{escape(check.output)}</pre>"
                image = folder / picture_name(assignment.name, number, check)
                if check.data and "figure" in check.data and image.is_file():
                    data = base64.b64encode(image.read_bytes()).decode()
                    detail += (f"<figure><img alt='{escape(pictures.describe(check.data['figure']))}' "
                               f"src='data:image/png;base64,{data}'></figure>")
            elif check.output and check.category != "load":
                detail = f"<div class='note'>{escape(check.output)}</div>"
            parts.append(f"<tr><td>{mark}</td><td>{escape(check.category)}: {escape(check.description)}{detail}</td>"
                         f"<td>{check.score:g}/{check.max_score:g}</td></tr>")
        parts.append("</table>")
        for check in assignment.checks:
            image = folder / f"{assignment.name}-{check.category}.png"
            if check.data and "curves" in check.data and image.is_file():
                data = base64.b64encode(image.read_bytes()).decode()
                parts.append(f"<h3>Training curve: {escape(check.description)}</h3>"
                             f"<img alt='{escape(summary.curve_text(check))}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary_html(result: SubmissionResult) -> list[str]:
    """The summary first (`summary.overview`): points per assignment, then each failed check with its cause in one
    line."""
    from grader.reports.escape import html as escape

    facts = summary.overview(result)
    parts = ["<section aria-label='summary'><h2>Summary</h2><table><tr><th>assignment</th><th>file</th>"
             "<th>points</th><th>checks failed</th></tr>"]
    for a, failed in facts.rows:
        parts.append(f"<tr><td>{escape(a.name)}</td><td>{escape(a.file or 'no file')}</td>"
                     f"<td>{a.score:g} / {a.max_score:g}</td><td>{failed}</td></tr>")
    parts.append("</table>")
    if facts.causes:
        parts.append("<h3>What to fix</h3><ul class='fix'>")
        parts += [f"<li><b>{escape(c.assignment)}</b> {escape(summary.cause_text(c))} "
                  f"<br><em class='explains'>{escape(summary.explains_text(c))}</em></li>" for c in facts.causes]
        parts.append("</ul>")
    if facts.hidden:
        parts.append(f"<p class='note'>{escape(facts.hidden_text)}</p>")
    if facts.missing:
        parts.append(f"<p class='note'>{escape(facts.missing_text)}</p>")
    parts.append("</section>")
    return parts


def plot_curves(check: CheckResult, path: Path) -> None:
    """The student's loss and validation accuracy beside the reference's, as a PNG."""
    path.write_bytes(_curves_png(json.dumps(check.data["curves"], sort_keys=True)))  # type: ignore[index]


@functools.lru_cache(maxsize=64)
def _curves_png(curves_json: str) -> bytes:
    """Drawn once per process for the same curves: in a class most students' runs are the reference's (cached)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = json.loads(curves_json)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(9, 3.4))
    for who, style in (("reference", "--"), ("student", "-")):
        run = curves[who]
        if "loss_curve" not in run:
            continue
        steps = run["steps"]
        loss = run["loss_curve"]
        xs = [i * steps / max(len(loss), 1) for i in range(len(loss))]
        loss_axes.plot(xs, loss, style, label="yours" if who == "student" else "reference")
        epochs = list(range(1, len(run["val_curve"]) + 1))
        accuracy_axes.plot(epochs, run["val_curve"], style + "o", label="yours" if who == "student" else "reference")
    loss_axes.set(title="training loss", xlabel="step", yscale="log")
    accuracy_axes.set(title="validation accuracy", xlabel="epoch", ylim=(0, 1))
    for axes in (loss_axes, accuracy_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    plt.close(figure)
    return png.getvalue()
