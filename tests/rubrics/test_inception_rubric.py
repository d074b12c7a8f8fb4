"""The inception rubric: what its messages say (the reference, stub, spellings and bugs: test_rubrics.py)."""

from __future__ import annotations

from conftest import ROOT, graded


def test_the_macs_check_shows_the_saving() -> None:
    result = graded(ROOT / "solutions" / "inception.py", "inception")
    macs = next(c for c in result.checks if c.category == "macs")
    assert "128 M" in macs.output and "303 M" in macs.output and "2.37 times" in macs.output


def test_outputs_in_another_order_cost_the_order_check_only() -> None:
    result = graded(ROOT / "tests" / "fixtures" / "inception" / "inception_aux_order.py", "inception")
    failed = [c.description for c in result.checks if not c.passed]
    # the auxiliary heads still branch off after 4a and 4d, and the main output's field is measured, not the first's
    assert failed == ["build_googlenet(aux_classifiers=True) has outputs [main, aux1, aux2]"]
