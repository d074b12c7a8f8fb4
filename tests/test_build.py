"""`grade build`: stubs and notebooks made from the marked regions of the solutions, and `--check`."""

from __future__ import annotations

import ast
import shutil

import nbformat
import pytest
from click.testing import CliRunner

from conftest import ROOT
from grader.build import BuildError, stub_source
from grader.cli import main
from grader.submission import load

pytestmark = pytest.mark.quick


def test_the_committed_assignments_are_up_to_date() -> None:
    outcome = CliRunner().invoke(main, ["build", "--check"])
    assert outcome.exit_code == 0, outcome.output
    assert "all up to date" in outcome.output


def test_check_fails_when_a_solution_changes_and_build_brings_it_up_to_date(tmp_path) -> None:
    solutions = tmp_path / "solutions"
    shutil.copytree(ROOT / "solutions", solutions)
    shutil.copytree(ROOT / "assignments", tmp_path / "assignments")
    gap = solutions / "gap.py"
    gap.write_text(gap.read_text().replace("# HINT: gap_head:", "# HINT: gap_head (changed):"))
    stale = CliRunner().invoke(main, ["build", "--check", "--solutions", str(solutions)])
    assert stale.exit_code == 1 and "gap.py, gap.ipynb" in stale.output
    assert CliRunner().invoke(main, ["build", "--solutions", str(solutions)]).exit_code == 0
    assert "gap_head (changed):" in (tmp_path / "assignments" / "gap.py").read_text()
    assert CliRunner().invoke(main, ["build", "--check", "--solutions", str(solutions)]).exit_code == 0


def test_stubs_keep_signatures_and_docstrings_but_no_solution_code() -> None:
    gap = (ROOT / "assignments" / "gap.py").read_text()
    assert "def gap_head(features, num_classes: int, kernel_size: int = 5):" in gap
    assert "GlobalAveragePooling2D()(" not in gap and "BEGIN SOLUTION" not in gap and "HINT" not in gap
    messages = [node.exc.args[0].value for node in ast.walk(ast.parse(gap)) if isinstance(node, ast.Raise)]
    assert any("average each map with GlobalAveragePooling2D" in m for m in messages)
    assert "check your work with `grade assignments/gap.py`" in gap
    resnet = (ROOT / "assignments" / "resnet.py").read_text()
    assert "_conv_bn" not in resnet and "STAGES" not in resnet  # helpers marked SOLUTION ONLY are left out
    for name in ("gap", "inception", "resnet", "classic"):
        compile((ROOT / "assignments" / f"{name}.py").read_text(), name, "exec")


def test_notebooks_explain_in_markdown_and_load_as_the_stub() -> None:
    path = ROOT / "assignments" / "gap.ipynb"
    book = nbformat.read(path, as_version=4)
    kinds = [cell.cell_type for cell in book.cells]
    assert kinds[0] == "markdown" and book.cells[0].source.startswith("# Global average pooling heads")
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3
    assert any("## `gap_head`" in cell.source for cell in book.cells if cell.cell_type == "markdown")
    code = "\n".join(cell.source for cell in load(path, "gap").cells)
    assert "def gap_head" in code and "def build_lenet_gap" in code and "raise NotImplementedError" in code


def test_malformed_markers_are_an_error() -> None:
    with pytest.raises(BuildError, match="has no # END SOLUTION"):
        stub_source('def f():\n    # BEGIN SOLUTION\n    return 1\n', "broken")
    with pytest.raises(BuildError, match="outside a solution region"):
        stub_source('def f():\n    return 1\n    # END SOLUTION\n', "broken")
