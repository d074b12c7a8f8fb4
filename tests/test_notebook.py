"""Checking from inside a notebook: the stub notebook's last cell, executed in a real Jupyter kernel (nbclient and
ipykernel), grades the saved notebook in the sandbox and shows the report inline."""

from __future__ import annotations

import nbformat
import pytest

from conftest import ROOT


def _worked_notebook(path, solved: bool) -> None:
    """The released gap notebook with the student's work: the reference's functions, or a 3x3 head."""
    notebook = nbformat.read(ROOT / "assignments" / "gap.ipynb", as_version=4)
    solution = (ROOT / "solutions" / "gap.py").read_text()
    if not solved:
        solution = solution.replace("kernel_size: int = 5", "kernel_size: int = 3")
    stub_cells = [i for i, c in enumerate(notebook.cells) if "NotImplementedError" in c.source]
    notebook.cells[stub_cells[0]] = nbformat.v4.new_code_cell(solution)
    notebook.cells = [c for i, c in enumerate(notebook.cells) if i not in stub_cells[1:]]
    nbformat.write(notebook, path)


@pytest.mark.parametrize("solved", [True, False])
def test_the_last_cell_grades_the_saved_notebook_and_shows_the_report(tmp_path, solved: bool) -> None:
    from nbclient import NotebookClient

    _worked_notebook(tmp_path / "gap.ipynb", solved)
    notebook = nbformat.read(tmp_path / "gap.ipynb", as_version=4)
    assert notebook.cells[-1].source == 'from grader import check\n\ncheck("gap")'
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    shown = notebook.cells[-1].outputs
    assert [o["output_type"] for o in shown] == ["display_data"], shown  # no error, no recursion
    text, html = shown[0]["data"]["text/plain"], shown[0]["data"]["text/html"]
    assert "graded gap.ipynb as saved" in text
    if solved:
        assert "**Score: 23 / 23**" in text and "<b>23 / 23</b>" in html
    else:
        assert "**Score: 23 / 23**" not in text and "### What to fix" in text and "found 1,450" in text  # the cause
    assert "<iframe" in html and "data:image/png;base64," in html  # the page, training curves included
