"""Which file `check()` grades from inside a notebook (grader.notebook.find)."""

from __future__ import annotations

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
