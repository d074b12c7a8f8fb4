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
        assert "**Score: 23 / 23**" not in text and "### What to fix" in text and "found Conv2D 3x3" in text  # cause
    assert "<iframe" in html and "data:image/png;base64," in html  # the page, training curves included


_COLAB_STAND_IN = '''"""A stand-in for Colab's front end: the one call `check()` makes, answering with $NOTEBOOK."""
import json
import os


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    assert request_type == "get_ipynb"
    with open(os.environ["NOTEBOOK"]) as f:
        return {"ipynb": json.load(f)}
'''


def test_in_colab_the_last_cell_grades_the_notebook_as_it_is_open(tmp_path, monkeypatch) -> None:
    """Colab keeps the notebook in Drive, not on the kernel's disk: `check` asks the front end for it (here a
    stand-in for that one call; Colab itself is not reachable from these machines)."""
    from nbclient import NotebookClient

    _worked_notebook(tmp_path / "open.ipynb", solved=True)
    stand_in = tmp_path / "colab"
    (stand_in / "google" / "colab").mkdir(parents=True)  # `google` stays a namespace package (protobuf is in it)
    (stand_in / "google" / "colab" / "__init__.py").write_text("")
    (stand_in / "google" / "colab" / "_message.py").write_text(_COLAB_STAND_IN)
    monkeypatch.setenv("PYTHONPATH", str(stand_in))
    monkeypatch.setenv("NOTEBOOK", str(tmp_path / "open.ipynb"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    content = tmp_path / "content"  # Colab's working folder: no notebook file in it
    content.mkdir()
    notebook = nbformat.read(tmp_path / "open.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(content)}}
                   ).execute()
    shown = notebook.cells[-1].outputs
    assert [o["output_type"] for o in shown] == ["display_data"], shown
    text = shown[0]["data"]["text/plain"]
    assert "as it is open in Colab" in text and "**Score: 23 / 23**" in text
    assert list(content.iterdir()) == []  # nothing written into the student's folder
