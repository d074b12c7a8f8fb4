"""Checking one's work from inside a notebook: `from grader import check; check("gap")`.

The saved notebook is graded as `grade` grades it from a terminal (a separate process, the student's code in the
sandbox; what the kernel holds in memory plays no part), and the report is shown inline: the HTML page, curves
included, in a frame of its own so that its style stays out of the notebook, and the Markdown summary for plain
front ends. When the grader itself runs the notebook's cells, `check` does nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path

RUNNING_IN_GRADER = False  # set by grader.child before any student code runs


def check(assignment: str, path: str | os.PathLike[str] | None = None) -> dict | None:
    """Grade the saved notebook (or `path`) for `assignment` and show the report here; returns the Gradescope-format
    results as a dict (None inside the grader, where it does nothing)."""
    if RUNNING_IN_GRADER:
        return None
    from grader.errors import UsageError

    try:
        file = find(assignment, path)
    except UsageError as exc:
        _show(f"<p><b>Nothing graded:</b> {escape(str(exc))}</p>", f"Nothing graded: {exc}")
        return None
    saved = time.time() - file.stat().st_mtime
    with tempfile.TemporaryDirectory(prefix="grader-check-") as out:
        command = [sys.executable, "-m", "grader", str(file), "-a", assignment, "--quiet",
                   "--json", f"{out}/results.json", "--feedback", f"{out}/feedback"]
        done = subprocess.run(command, cwd=file.parent, capture_output=True, text=True)
        report = Path(out, "results.json")
        if done.returncode not in (0, 1) or not report.is_file():
            _show(f"<pre>{escape(done.stdout + done.stderr)}</pre>", done.stdout + done.stderr)
            return None
        results = json.loads(report.read_text())
        page = Path(out, "feedback", "feedback.html").read_text()
    when = (f"graded {file.name} as saved {saved:.0f} s ago" if saved < 120 else
            f"graded {file.name} as saved {saved / 60:.0f} min ago: save the notebook (Ctrl+S) for your latest changes")
    frame = (f"<p><b>{results['score']:g} / {results['max_score']:g}</b> points; {escape(when)}.</p>"
             f"<iframe title='feedback for {escape(file.name)}' srcdoc=\"{escape(page, quote=True)}\" "
             "style='width:100%;height:36rem;border:1px solid #ddd'></iframe>")
    _show(frame, f"{when}\n\n{results['output']}")
    return results


def find(assignment: str, path: str | os.PathLike[str] | None = None) -> Path:
    """The file to grade: `path`; else the notebook this kernel runs (as Jupyter names it); else the assignment's
    file in the working folder, as `grade .` would choose it."""
    from grader.errors import UsageError
    from grader.submission import locate, matches

    if path is not None:
        if not Path(path).is_file():
            raise UsageError(f"no such file: {path}")
        return Path(path).resolve()
    candidates = []
    for name in (os.environ.get("JPY_SESSION_NAME"), _ipython_session()):
        if name:
            candidates += [Path(name), Path.cwd() / Path(name).name]
    for candidate in candidates:
        if candidate.is_file() and matches(candidate.name, assignment):
            return candidate.resolve()
    found = locate(Path.cwd(), assignment)
    if found is None:
        raise UsageError(f"no {assignment}.ipynb or {assignment}.py in {Path.cwd()}: pass check({assignment!r}, "
                         "path='your notebook.ipynb')")
    return found.resolve()


def _ipython_session() -> str | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.user_ns.get("__session__") if shell is not None else None


def _show(html: str, text: str) -> None:
    try:
        from IPython.display import display
    except ImportError:
        print(text)
        return
    display({"text/html": html, "text/plain": text}, raw=True)
