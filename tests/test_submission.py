"""Finding and loading submission files: names, notebooks, magics, broken files."""

from __future__ import annotations

import pytest

from conftest import GAP
from grader.errors import LoadError
from grader.submission import load, locate, matches, strip_ipython

pytestmark = pytest.mark.quick


@pytest.mark.parametrize("name", ["gap.py", "GAP.py", "Gap (1).py", "gap-2.ipynb", "jdoe_gap.py", "gap_final.ipynb"])
def test_renamed_copies_still_match(name: str) -> None:
    assert matches(name, "gap")


@pytest.mark.parametrize("name", ["gaps.py", "gap.txt", "mygapx.py", "resnet.py"])
def test_other_files_do_not_match(name: str) -> None:
    assert not matches(name, "gap")


def test_locate_ignores_checkpoints_and_hidden_folders(tmp_path) -> None:
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "gap-checkpoint.ipynb").write_text("{}")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "gap.py").write_text("x = 1\n")
    assert locate(tmp_path, "gap") == tmp_path / "work" / "gap.py"
    assert locate(tmp_path, "resnet") is None


def test_two_candidates_name_both(tmp_path) -> None:
    (tmp_path / "gap.py").write_text("")
    (tmp_path / "gap.ipynb").write_text("")
    with pytest.raises(LoadError, match="gap.ipynb and gap.py"):
        locate(tmp_path, "gap")


def test_magics_and_shell_lines_become_pass() -> None:
    source = "%matplotlib inline\n!pip install keras\nfiles = !ls\nif True:\n    !rm -rf /\nx = 1"
    assert strip_ipython(source) == "pass\npass\npass\nif True:\n    pass\nx = 1"


def test_shell_cell_magics_are_dropped_and_python_ones_kept() -> None:
    assert strip_ipython("%%bash\nrm -rf ~") == ""
    assert strip_ipython("%%time\nx = 1") == "x = 1"


def test_notebook_keeps_code_cells_with_their_numbers() -> None:
    source = load(GAP / "gap_notebook.ipynb", "gap")
    labels = [c.label for c in source.cells]
    assert labels == ["gap_notebook.ipynb, cell 2", "gap_notebook.ipynb, cell 3", "gap_notebook.ipynb, cell 5",
                      "gap_notebook.ipynb, cell 7"]
    assert "pip install" not in source.cells[0].source


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(LoadError, match=r"SyntaxError in gap_syntax_error.py, line 5: expected ':'"):
        load(GAP / "gap_syntax_error.py", "gap")


def test_syntax_error_in_a_notebook_names_the_cell(tmp_path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("def f(:\n    pass")])
    path = tmp_path / "gap.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(LoadError, match=r"gap.ipynb, cell 2, line 1"):
        load(path, "gap")


def test_binary_and_corrupt_files_get_clear_messages() -> None:
    with pytest.raises(LoadError, match="binary file"):
        load(GAP / "gap_binary.py", "gap")
    with pytest.raises(LoadError, match="not a valid Jupyter notebook"):
        load(GAP / "gap_corrupt.ipynb", "gap")


def test_latin1_source_is_reported_not_crashed(tmp_path) -> None:
    path = tmp_path / "gap.py"
    path.write_bytes("# caf\xe9\nx = 1\n".encode("latin-1"))
    with pytest.raises(LoadError, match="not UTF-8"):
        load(path, "gap")
