"""Which file `check()` grades from inside a notebook (grader.notebook.find)."""

from __future__ import annotations

import json
import sys

import pytest

from grader.errors import UsageError
from grader.notebook import find

pytestmark = pytest.mark.quick


def test_the_notebook_jupyter_names_then_the_working_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(UsageError, match="pass check"):
        find("gap")
    (tmp_path / "gap.py").write_text("def gap_head(x, n, k=5):\n    return x\n")
    assert find("gap") == tmp_path / "gap.py"
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "Gap lab.ipynb").write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "work" / "Gap lab.ipynb"))
    assert find("gap") == tmp_path / "work" / "Gap lab.ipynb"  # the notebook this kernel runs
    assert find("resnet", tmp_path / "gap.py") == tmp_path / "gap.py"  # a path given is taken as given
    with pytest.raises(UsageError, match="no such file"):
        find("gap", tmp_path / "missing.ipynb")


def _colab(monkeypatch, reply) -> list[str]:
    """A stand-in for Colab's one call (google.colab._message.blocking_request); records what was asked."""
    import types

    asked: list[str] = []

    def blocking_request(request_type, request="", timeout_sec=5, parent=None):
        asked.append(request_type)
        if isinstance(reply, Exception):
            raise reply
        return reply

    message = types.ModuleType("google.colab._message")
    message.blocking_request = blocking_request
    colab = types.ModuleType("google.colab")
    colab._message = message
    google = types.ModuleType("google")
    google.colab = colab
    for name, module in (("google", google), ("google.colab", colab), ("google.colab._message", message)):
        monkeypatch.setitem(sys.modules, name, module)
    return asked


def test_in_colab_the_open_notebook_is_graded(tmp_path, monkeypatch) -> None:
    from grader.notebook import _to_grade

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "gap.py").write_text("def gap_head(x, n, k=5):\n    return x\n")  # not the notebook that runs
    notebook = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [],
                           "execution_count": None}],
                "metadata": {"colab": {"name": "Gap lab.ipynb"}}, "nbformat": 4, "nbformat_minor": 5}
    asked = _colab(monkeypatch, {"ipynb": notebook})
    file, said = _to_grade("gap", None, tmp_path / "scratch")
    assert asked == ["get_ipynb"]
    assert file == tmp_path / "scratch" / "gap.ipynb" and json.loads(file.read_text()) == notebook
    assert "open in Colab" in said and "Gap lab.ipynb" in said
    # A path given is still taken as given.
    assert _to_grade("gap", tmp_path / "gap.py", tmp_path / "other")[0] == tmp_path / "gap.py"


@pytest.mark.parametrize("reply", [None, {"ipynb": "not a notebook"}, {}, RuntimeError("the front end is gone")])
def test_in_colab_a_front_end_that_gives_no_notebook_grades_nothing_and_says_so(tmp_path, monkeypatch, reply) -> None:
    from grader.notebook import _to_grade

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    _colab(monkeypatch, reply)
    with pytest.raises(UsageError, match="not a file"):
        _to_grade("gap", None, tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()


def test_a_students_check_runs_the_quick_profile_unless_asked(tmp_path, monkeypatch) -> None:
    """Even on Colab's GPU, where `grade` would default to the full profile."""
    import subprocess

    from grader import notebook

    commands = []

    def run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 2, "", "stopped here")

    monkeypatch.setattr(notebook.subprocess, "run", run)
    (tmp_path / "gap.py").write_text("x = 1\n")
    assert notebook.check("gap", tmp_path / "gap.py") is None
    assert notebook.check("gap", tmp_path / "gap.py", profile="full") is None
    assert [c[c.index("--profile") + 1] for c in commands] == ["quick", "full"]
