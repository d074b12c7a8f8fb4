"""Rubric declarations: names and reads are checked when the rubric is imported, checks are declared one way, what
is hidden is said once."""

from __future__ import annotations

import pytest

from grader.margins import Margins
from grader.registry import Context, Fail, Outcome, Rubric, RubricError, declared_reads, judgement
from grader.rubrics import RUBRICS
from grader.rubrics.common import params_match

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
    rubric.check("params", "f's parameters", points=1, judge=params_match(probe, "f()"))

    with rubric.hidden():
        other = rubric.probe("f", measures=("params",), width=3)

        @rubric.check("values", "f's value", points=2)
        def value(ctx) -> str:
            raise Fail("no")

    same = rubric.probe("f", measures=("params",), width=3)  # declared again outside: the call is visible
    visible = rubric.probe("f", measures=("params",), width=4)
    assert [(c.category, c.points, c.hidden) for c in rubric.checks] == [("params", 1, False), ("values", 2, True)]
    assert rubric.max_score == 3
    assert same is not other and same.id == other.id and not rubric.probes[same.id].hidden
    assert not visible.hidden and not rubric._hiding


def test_a_read_of_a_measure_the_probe_does_not_take_fails_at_declaration() -> None:
    rubric = Rubric("demo", functions=("f",))
    probe = rubric.probe("f", measures=("outputs",))
    with pytest.raises(RubricError, match="reads 'params' of f\\(\\), which measures only outputs"):
        rubric.check("params", "shared", points=1, judge=params_match(probe, "f()"))

    def reads_macs(ctx) -> str:
        return ctx.student(probe, "macs")

    with pytest.raises(RubricError, match="reads 'macs'"):
        rubric.check("macs", "its own", points=1)(reads_macs)

    def applies_a_judgement(ctx) -> str:
        return params_match(probe, "f()")(ctx)

    with pytest.raises(RubricError, match="reads 'params'"):
        rubric.check("params", "applied", points=1)(applies_a_judgement)

    def reads_the_graph(ctx) -> str:
        return str(ctx.student_graph(probe))

    with pytest.raises(RubricError, match="reads 'graph'"):
        rubric.check("structure", "graph", points=1)(reads_the_graph)
    assert rubric.checks == []


def test_a_read_the_source_does_not_tell_fails_as_the_graders_fault_when_it_runs() -> None:
    rubric = Rubric("demo", functions=("f",))
    probes = [rubric.probe("f", measures=("outputs",))]

    @judgement
    def first_params(ctx, among) -> str:
        return ", ".join(str(ctx.student(probe, "params")) for probe in among)

    judge = first_params(probes)
    assert declared_reads(judge) == []  # through a loop: not told by the source
    rubric.check("params", "through a list", points=1, judge=judge)
    ctx = Context(rubric, {probes[0].id: Outcome(measured={"outputs": [[None, 10]]})}, {})
    with pytest.raises(RubricError, match="reads 'params'"):
        judge(ctx)


def test_every_check_of_the_course_reads_what_its_probes_measure() -> None:
    """The import did it; this says how much of the course the source tells (the rest is checked when it runs)."""
    told = [declared_reads(c.function) for r in RUBRICS.values() for c in r.checks]
    assert sum(map(bool, told)) >= 0.8 * len(told)
    for reads in told:
        for probe, key in reads:
            from grader.measure import provided

            assert key in provided(probe.measures)


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
