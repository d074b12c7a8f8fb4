"""`grade validate`: a mutant that does not lose points, or does not apply, is reported as wrong."""

from __future__ import annotations

from grader.rubrics import RUBRICS
from grader.validate import table, validate


def test_validate_reports_each_variant_and_flags_a_mutant_that_keeps_full_marks(monkeypatch) -> None:
    monkeypatch.setattr(RUBRICS["gap"], "mutants", {
        "no softmax": ("return layers.Softmax()(scores)", "return scores"),
        "harmless": ("return layers.Softmax()(scores)", "return layers.Activation('softmax')(scores)"),
        "stale": ("text that is not in the solution", "anything"),
    })
    rows = {row.variant: row for row in validate(["gap"])}
    assert rows["reference solution"].ok and rows["reference solution"].score == 23
    assert rows["stub"].ok and rows["stub"].score == 0
    assert rows["mutant: no softmax"].ok and "values" in rows["mutant: no softmax"].failed
    assert not rows["mutant: harmless"].ok  # an equivalent spelling keeps full marks: not a mutant
    stale = next(row for name, row in rows.items() if name.startswith("mutant: stale"))
    assert not stale.ok and "does not apply" in stale.variant
    text = table(list(rows.values()))
    assert text.count("WRONG") == 2
