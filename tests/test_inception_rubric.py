"""The inception rubric: what its messages say (the reference, stub, spellings and bugs: test_rubrics.py)."""

from __future__ import annotations

from conftest import ROOT, graded


def test_the_macs_check_shows_the_saving() -> None:
    result = graded(ROOT / "solutions" / "inception.py", "inception")
    macs = next(c for c in result.checks if c.category == "macs")
    assert "128 M" in macs.output and "303 M" in macs.output and "2.37 times" in macs.output
