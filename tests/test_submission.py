"""Finding and loading submission files: names, notebooks, magics, broken files."""

from __future__ import annotations

import os

import pytest

from conftest import GAP, ROOT
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


def _refused(path) -> str:
    with pytest.raises(LoadError) as caught:
        load(path, "gap")
    return str(caught.value)


def test_links_and_special_files_are_refused_without_reading_them(tmp_path) -> None:
    secret = tmp_path / "outside" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("TOP_SECRET = 'the first line of a file the student may not read'\n")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "gap.py").symlink_to(ROOT / "solutions" / "gap.py")
    message = _refused(submission / "gap.py")
    assert "symbolic link" in message and "def " not in message
    (submission / "gap.py").unlink()
    (submission / "gap.py").symlink_to(secret)
    assert "TOP_SECRET" not in _refused(submission / "gap.py")
    (submission / "gap.py").unlink()
    os.link(secret, submission / "gap.py")  # a second name of a file outside the submission
    message = _refused(submission / "gap.py")
    assert "hard link" in message and "TOP_SECRET" not in message
    (submission / "gap.py").unlink()
    os.mkfifo(submission / "gap.py")  # opening a pipe for reading would wait forever
    assert "not a regular file" in _refused(submission / "gap.py")


def test_a_linked_folder_is_not_entered_and_a_linked_file_is_named(tmp_path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "gap.py").write_text("x = 1\n")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "linked").symlink_to(tmp_path / "elsewhere")
    assert locate(submission, "gap") is None
    (submission / "gap.py").symlink_to(tmp_path / "elsewhere" / "gap.py")
    assert locate(submission, "gap") == submission / "gap.py"  # found, so that the load check can say why not


def _student_repository(root, worked: str) -> None:
    """A student's repository as the release leaves it, with the work done in `worked` (gap.py or gap.ipynb) and
    the course's and tools' files a student may keep beside it."""
    import nbformat

    stub = (ROOT / "assignments" / "gap.py").read_text()
    solution = (ROOT / "solutions" / "gap.py").read_text()
    (root / "assignments").mkdir()
    (root / "assignments" / "gap.py").write_text(solution if worked == "gap.py" else stub)
    notebook = nbformat.read(ROOT / "assignments" / "gap.ipynb", as_version=4)
    if worked == "gap.ipynb":
        notebook.cells.append(nbformat.v4.new_code_cell(solution))
        notebook.cells = [c for c in notebook.cells if "NotImplementedError" not in c.source]
    nbformat.write(notebook, root / "assignments" / "gap.ipynb")
    for folder in ("grader/rubrics", "solutions", "tests", "venv/lib/python3.11/site-packages/x", "copy/of/grader"):
        (root / folder).mkdir(parents=True)
    (root / "grader" / "rubrics" / "gap.py").write_text("RUBRIC = None\n")
    (root / "solutions" / "gap.py").write_text(solution)
    (root / "tests" / "test_gap.py").write_text("def test(): pass\n")
    (root / "test_gap.py").write_text("def test(): pass\n")
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "venv" / "lib" / "python3.11" / "site-packages" / "x" / "gap.py").write_text("x = 1\n")
    (root / "copy" / "pyproject.toml").write_text('[project]\nname = "cnn-grader"\n')
    (root / "copy" / "of" / "grader" / "gap.py").write_text("x = 1\n")
    (root / "copy" / "gap.py").write_text("x = 1\n")


@pytest.mark.parametrize("worked", ["gap.py", "gap.ipynb"])
def test_the_root_of_a_student_repository_gives_the_file_worked_in(tmp_path, worked: str) -> None:
    _student_repository(tmp_path, worked)
    assert locate(tmp_path, "gap") == tmp_path / "assignments" / worked


def test_untouched_stubs_alone_give_one_of_them_and_two_worked_files_are_an_error(tmp_path) -> None:
    for name in ("gap.py", "gap_v2.py"):
        (tmp_path / name).write_text((ROOT / "assignments" / "gap.py").read_text())
    assert locate(tmp_path, "gap") == tmp_path / "gap.py"
    (tmp_path / "gap_v2.py").write_text((ROOT / "solutions" / "gap.py").read_text())
    assert locate(tmp_path, "gap") == tmp_path / "gap_v2.py"
    (tmp_path / "gap.py").write_text("def gap_head(x, n, k=5):\n    return x\n")
    with pytest.raises(LoadError, match="gap.py and gap_v2.py"):
        locate(tmp_path, "gap")


def test_a_folder_given_by_name_is_searched_whatever_it_is_called() -> None:
    assert locate(ROOT / "solutions", "gap") == ROOT / "solutions" / "gap.py"
