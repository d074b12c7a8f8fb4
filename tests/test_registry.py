"""Rubric declarations: names are checked when the rubric is imported, checks are declared one way."""

from __future__ import annotations

import pytest

from grader.convergence import Margins
from grader.registry import Fail, Rubric
from grader.rubrics import RUBRICS
from grader.rubrics.common import params

pytestmark = pytest.mark.quick


def test_misspelt_measures_datasets_harnesses_and_categories_fail_at_declaration() -> None:
    rubric = Rubric("demo", functions=("f",))
    with pytest.raises(ValueError, match="unknown measure"):
        rubric.probe("f", measures=("param",))
    with pytest.raises(ValueError, match="unknown dataset"):
        rubric.probe("f", measures=("convergence",), dataset="cifar", margins=Margins(accuracy={"quick": 0.1}))
    with pytest.raises(ValueError, match="unknown harness"):
        rubric.harness("resnet_net", "f", dataset="shapes", margins=Margins(loss={"quick": 0.1}))
    with pytest.raises(ValueError, match="needs margins"):
        rubric.probe("f", measures=("convergence",), dataset="mnist")
    with pytest.raises(ValueError, match="unknown check category"):
        rubric.check("param", "f", points=1)


def test_a_check_is_declared_the_same_way_with_a_shared_judge_or_its_own() -> None:
    rubric = Rubric("demo", functions=("f",))
    probe = rubric.probe("f", measures=("params",))
    rubric.check("params", "f's parameters", points=1, judge=params(probe, "f()"))

    @rubric.check("values", "f's value", points=2, hidden=True)
    def value(ctx) -> str:
        raise Fail("no")

    assert [(c.category, c.points, c.hidden) for c in rubric.checks] == [("params", 1, False), ("values", 2, True)]
    assert rubric.max_score == 3


def test_every_training_probe_of_the_course_declares_its_margins() -> None:
    training = [p for r in RUBRICS.values() for p in r.probes.values() if "convergence" in p.measures]
    assert len(training) == 3 and all(p.margins and (p.margins.accuracy or p.margins.loss) for p in training)


@pytest.mark.quick
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_measured_value_that_is_not_finite_fails_before_any_tolerance(bad: float) -> None:
    from grader.registry import Context, Outcome

    rubric = RUBRICS["resnet"]
    probe = next(p for p in rubric.probes.values() if "gradients" in p.measures)
    ctx = Context(rubric, {probe.id: Outcome(measured={"gradients": {"first": 1.0, "last": bad, "ratio": 0.5}})}, {})
    with pytest.raises(Fail, match=r"not finite numbers \(last is (NaN|infinite|minus infinity)\)"):
        ctx.student(probe, "gradients")
    fine = Context(rubric, {probe.id: Outcome(measured={"gradients": {"first": 1.0, "last": 2.0}})}, {})
    assert fine.student(probe, "gradients") == {"first": 1.0, "last": 2.0}
