"""Where one submission's reports go, and the one function that writes them: for `grade` and for each student of
`grade batch` alike."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.results import SubmissionResult


@dataclass(frozen=True)
class Outputs:
    """The reports to write for one submission; None: not written."""

    json: Path | None = None  # Gradescope's results.json
    prairielearn: Path | None = None  # PrairieLearn's results.json
    feedback: Path | None = None  # the student's pages: feedback.md, feedback.html and the plots, in this folder
    summary: Path | None = None  # the Markdown summary, appended (e.g. "$GITHUB_STEP_SUMMARY")
    heading: str = ""  # the summary's heading, for a file that collects several


def write(result: SubmissionResult, outputs: Outputs) -> bytes | None:
    """Write `result`'s reports as `outputs` says; returns the bytes of the results.json written, if one was."""
    written = None
    if outputs.json is not None:
        from grader.reports import gradescope

        written = write_atomically(outputs.json, gradescope.render(result).encode())
    if outputs.prairielearn is not None:
        from grader.reports import prairielearn

        write_atomically(outputs.prairielearn, prairielearn.render(result).encode())
    if outputs.feedback is not None:
        from grader.reports import feedback

        feedback.write(result, outputs.feedback)
    if outputs.summary is not None:
        from grader.reports import summary

        with outputs.summary.open("a") as f:
            f.write(f"{outputs.heading}{summary.markdown(result)}\n")
    return written


def write_atomically(path: Path, data: bytes) -> bytes:
    """`data` into `path` through a temporary file beside it: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data
