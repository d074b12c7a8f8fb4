"""The resnet rubric: what its messages say (the reference, stub, spellings and bugs: test_rubrics.py)."""

from __future__ import annotations

from conftest import FIXTURES, graded

RESNET = FIXTURES / "resnet"


def test_gradient_flow_shows_both_numbers() -> None:
    result = graded(RESNET / "resnet_no_identity_shortcut.py", "resnet")
    check = next(c for c in result.checks if c.category == "gradient_flow")
    assert "in your ResNet-34" in check.output and "in your plain 34-layer network" in check.output
