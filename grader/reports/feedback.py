"""The student's feedback page (Markdown) with a plot of each training curve beside the reference's."""

from __future__ import annotations

from pathlib import Path

from grader.results import CheckResult, SubmissionResult


def write(result: SubmissionResult, folder: Path) -> Path:
    """Write `feedback.md` and its PNG plots into `folder`; returns the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# Feedback: {result.score:g} / {result.max_score:g} points", ""]
    for assignment in result.assignments:
        lines += [f"## {assignment.name} ({assignment.file or 'no file'}): "
                  f"{assignment.score:g} / {assignment.max_score:g}", ""]
        lines += [f"*{note}*" for note in assignment.notes]
        lines += ["", "| | check | points |", "|---|---|---|"]
        for check in assignment.checks:
            mark = "pass" if check.passed else "**fail**"
            lines.append(f"| {mark} | {check.category}: {check.description} | {check.score:g}/{check.max_score:g} |")
        lines.append("")
        for check in assignment.checks:
            if check.output and not check.passed:
                lines += [f"### {check.category}: {check.description}", "", "```", check.output, "```", ""]
            if check.data and "curves" in check.data:
                image = f"{assignment.name}-{check.category}.png"
                plot_curves(check, folder / image)
                lines += [f"### Training curve: {check.description}", "", check.output, "",
                          f"![training curve]({image})", ""]
    page = folder / "feedback.md"
    page.write_text("\n".join(lines) + "\n")
    return page


def plot_curves(check: CheckResult, path: Path) -> None:
    """The student's loss and validation accuracy beside the reference's, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = check.data["curves"]  # type: ignore[index]
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
    figure.savefig(path, dpi=100)
    plt.close(figure)
