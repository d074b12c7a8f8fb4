"""The measure registry (`grader.measure.MEASURES`): each measure declared once, with what it provides and whether
it runs the model; what the child, the rebuild and the checks' reads go by."""

from __future__ import annotations

import pytest

from grader.measure import MEASURES, VALUE_MEASURES, provided
from grader.registry import Rubric, RubricError

pytestmark = pytest.mark.quick


def test_each_measure_is_declared_once_with_who_takes_it() -> None:
    assert list(MEASURES) == ["params", "structure", "macs", "outputs", "field", "shapes", "probabilities",
                              "invariance", "equivariance", "gradients", "convergence", "value"]
    for name, measure in MEASURES.items():
        assert measure.name == name and measure.provides
        assert (measure.take is not None) == (measure.taken_by == "rebuild"), name
    assert {m.taken_by for m in MEASURES.values()} == {"rebuild", "training", "child"}


def test_what_runs_the_model_and_what_a_check_may_read_follow_from_the_declarations() -> None:
    assert VALUE_MEASURES == {"probabilities", "invariance", "equivariance", "gradients", "convergence"}
    assert provided(("params",)) == {"graph", "params"} and provided(("structure", "macs")) == {"graph", "structure",
                                                                                                 "macs"}
    assert provided(()) == frozenset()


def test_a_probe_names_only_declared_measures() -> None:
    rubric = Rubric("demo", functions=("f",))
    assert rubric.probe("f", measures=tuple(m for m in MEASURES if m not in ("convergence", "value"))).measures
    with pytest.raises(RubricError, match="unknown measure"):
        rubric.probe("f", measures=("parameters",))
