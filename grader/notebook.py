"""Checking one's work from inside a notebook: `from grader import check; check("gap")`.

The saved notebook is graded as `grade` grades it from a terminal (a separate process, the student's code in the
sandbox; what the kernel holds in memory plays no part), and the report is shown inline: the HTML page, curves
included, in a frame of its own so that its style stays out of the notebook, and the Markdown summary for plain
front ends. When the grader itself runs the notebook's cells, `check` does nothing.

In Colab the notebook is not a file (it lives in Drive): there `check` asks Colab's front end for the notebook as it
is open (`google.colab._message.blocking_request("get_ipynb")`), writes it to a scratch folder and grades that file,
exactly as `grade` grades a saved notebook. A student's own check runs the quick profile unless asked otherwise, even
on Colab's GPU.
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
from typing import Any

from grader.errors import UsageError

RUNNING_IN_GRADER = False  # set by grader.child before any student code runs


def check(assignment: str, path: str | os.PathLike[str] | None = None, profile: str = "quick") -> dict | None:
    """Grade the saved notebook (or `path`) for `assignment` and show the report here; returns the Gradescope-format
    results as a dict (None inside the grader, where it does nothing)."""
    if RUNNING_IN_GRADER:
        return None
    with tempfile.TemporaryDirectory(prefix="grader-check-") as out:
        try:
            file, when = _to_grade(assignment, path, Path(out) / "notebook")
        except UsageError as exc:
            _show(f"<p><b>Nothing graded:</b> {escape(str(exc))}</p>", f"Nothing graded: {exc}")
            return None
        command = [sys.executable, "-m", "grader", str(file), "-a", assignment, "--quiet", "--profile", profile,
                   "--json", f"{out}/results.json", "--feedback", f"{out}/feedback"]
        # through the kernel's grading service (`grader.service`): the second check pays no TensorFlow import
        env = {**os.environ, "GRADER_SERVICE": os.environ.get("GRADER_SERVICE", "1")}
        done = subprocess.run(command, cwd=file.parent, capture_output=True, text=True, env=env)
        report = Path(out, "results.json")
        if done.returncode not in (0, 1) or not report.is_file():
            _show(f"<pre>{escape(done.stdout + done.stderr)}</pre>", done.stdout + done.stderr)
            return None
        results = json.loads(report.read_text())
        page = Path(out, "feedback", "feedback.html").read_text()
    frame = (f"<p><b>{results['score']:g} / {results['max_score']:g}</b> points; {escape(when)}.</p>"
             f"<iframe title='feedback for {escape(file.name)}' srcdoc=\"{escape(page, quote=True)}\" "
             "style='width:100%;height:36rem;border:1px solid #ddd'></iframe>")
    _show(frame, f"{when}\n\n{results['output']}")
    return results


def _to_grade(assignment: str, path: str | os.PathLike[str] | None, scratch: Path) -> tuple[Path, str]:
    """The file to grade, and what to tell the student about it (how fresh it is)."""
    try:
        file = find(assignment, path)
    except NoNotebookFile:
        notebook = colab_notebook()
        if notebook is None:
            raise
        scratch.mkdir(parents=True)
        file = scratch / f"{assignment}.ipynb"
        file.write_text(json.dumps(notebook))
        return file, f"graded this notebook as it is open in Colab ({_colab_name(notebook, assignment)})"
    saved = time.time() - file.stat().st_mtime
    if saved < 120:
        return file, f"graded {file.name} as saved {saved:.0f} s ago"
    return file, (f"graded {file.name} as saved {saved / 60:.0f} min ago: save the notebook (Ctrl+S) for your latest "
                  "changes")


def find(assignment: str, path: str | os.PathLike[str] | None = None) -> Path:
    """The file to grade: `path`; else the notebook this kernel runs (as Jupyter names it); else, outside Colab, the
    assignment's file in the working folder, as `grade .` would choose it. In Colab (where the running notebook is
    no file), `NoNotebookFile` once `path` and Jupyter's names found nothing: `colab_notebook` is graded instead."""
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
    if in_colab():
        raise NoNotebookFile(f"the notebook running {assignment} is not a file")
    found = locate(Path.cwd(), assignment)
    if found is None:
        raise NoNotebookFile(f"no {assignment}.ipynb or {assignment}.py in {Path.cwd()}: pass check({assignment!r}, "
                             "path='your notebook.ipynb')")
    return found.resolve()


class NoNotebookFile(UsageError):
    """No file on disk holds the notebook to grade."""


def in_colab() -> bool:
    """Whether this kernel runs in Colab (its front end can hand over the open notebook)."""
    return "google.colab" in sys.modules or _colab_message() is not None


def _colab_message() -> Any:
    try:
        from google.colab import _message  # type: ignore[import-not-found]
    except ImportError:
        return None
    return _message


def colab_notebook() -> dict | None:
    """The notebook open in Colab, as its front end holds it (None outside Colab or if it does not answer)."""
    message = _colab_message()
    if message is None:
        return None
    try:
        reply = message.blocking_request("get_ipynb", timeout_sec=30)
    except Exception:  # noqa: BLE001  whatever the front end fails with, the student is told nothing was found
        return None
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    return notebook if isinstance(notebook, dict) and isinstance(notebook.get("cells"), list) else None


def _colab_name(notebook: dict, assignment: str) -> str:
    name = notebook.get("metadata", {}).get("colab", {}).get("name")
    return name if isinstance(name, str) and name else f"{assignment}.ipynb"


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
