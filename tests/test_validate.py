"""`grade validate`: a mutant that does not lose points, an equivalent that does, or either that does not apply,
is reported as wrong."""

from __future__ import annotations

from grader.rubrics import RUBRICS
from grader.validate import table, validate


def test_validate_reports_each_variant_and_flags_a_mutant_that_keeps_full_marks(monkeypatch) -> None:
    monkeypatch.setattr(RUBRICS["gap"], "mutants", {
        "no softmax": ("return layers.Softmax()(scores)", "return scores"),
        "harmless": ("return layers.Softmax()(scores)", "return layers.Activation('softmax')(scores)"),
        "stale": ("text that is not in the solution", "anything"),
    })
    monkeypatch.setattr(RUBRICS["gap"], "equivalents", {
        "softmax as Activation": ("return layers.Softmax()(scores)", "return layers.Activation('softmax')(scores)"),
        "not equivalent": ("return layers.Softmax()(scores)", "return scores"),
    })
    rows = {row.variant: row for row in validate(["gap"])}
    assert rows["reference solution"].ok and rows["reference solution"].score == 23
    assert rows["stub"].ok and rows["stub"].score == 0
    assert rows["mutant: no softmax"].ok and "values" in rows["mutant: no softmax"].failed
    assert not rows["mutant: harmless"].ok  # an equivalent spelling keeps full marks: not a mutant
    stale = next(row for name, row in rows.items() if name.startswith("mutant: stale"))
    assert not stale.ok and "does not apply" in stale.variant
    assert rows["equivalent: softmax as Activation"].ok and rows["equivalent: softmax as Activation"].score == 23
    assert not rows["equivalent: not equivalent"].ok  # it loses points: the rubric would reject correct code
    helper = rows["equivalent: the code in a helper module"]
    assert helper.ok and helper.score == 23
    text = table(list(rows.values()))
    assert text.count("WRONG") == 3
