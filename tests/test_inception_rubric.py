"""The inception rubric on real submissions: the reference, the stub, typical bugs and equivalent spellings."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, ROOT, failed_categories, graded

INCEPTION = FIXTURES / "inception"


def _text(result) -> str:
    return "\n".join(c.output for c in result.checks)


def test_reference_solution_scores_full_marks() -> None:
    result = graded(ROOT / "solutions" / "inception.py", "inception")
    assert result.max_score == 28
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


def test_stub_scores_zero() -> None:
    result = graded(ROOT / "assignments" / "inception.py", "inception")
    assert result.score == 0 and result.max_score == 28
    assert "NotImplementedError" in _text(result)


@pytest.mark.parametrize("fixture", ["inception_equivalent.py", "inception_notebook.ipynb"])
def test_equivalent_spellings_keep_full_marks(fixture: str) -> None:
    result = graded(INCEPTION / fixture, "inception")
    assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]


# Each typical bug, the categories that must catch it, and words its messages must contain.
BUGS = {
    "inception_no_reduction.py": ({"params", "structure", "macs"},
                                  ["the 3x3 branch has no 1x1 reduction", "the 5x5 branch has no 1x1 reduction"]),
    "inception_no_pool_projection.py": ({"params", "structure", "shape"},
                                        ["the pool branch has no 1x1 projection",
                                         "pool branch: no 1x1 projection after the pooling"]),
    "inception_valid_5x5.py": ({"shape", "api", "params"}, ["Concatenate", "padding='same'"]),
    "inception_pool_stride_2.py": ({"shape", "api", "params"}, ["Concatenate", "stride 1"]),
    "inception_factorised_5x5.py": ({"params", "structure", "macs"}, ["factorised into two 3x3"]),
    "inception_no_relu.py": ({"structure", "convergence"}, ["have no ReLU after them", "expected ReLU, found nothing"]),
    "inception_wrong_axis.py": ({"shape", "api"}, ["concatenated on channels (axis=-1)"]),
    "inception_aux_stride_1.py": ({"params"}, ["pooling differs: expected AveragePooling2D 5x5, stride 3"]),
    "inception_aux_flag_ignored.py": ({"api"}, ["the flag must be honoured"]),
}


@pytest.mark.parametrize("fixture", sorted(BUGS))
def test_typical_bug_loses_points_on_the_check_that_names_it(fixture: str) -> None:
    categories, words = BUGS[fixture]
    result = graded(INCEPTION / fixture, "inception")
    assert result.score < result.max_score
    assert categories <= failed_categories(result), failed_categories(result)
    for word in words:
        assert word in _text(result)


def test_the_macs_check_shows_the_saving() -> None:
    result = graded(ROOT / "solutions" / "inception.py", "inception")
    macs = next(c for c in result.checks if c.category == "macs")
    assert "128 M" in macs.output and "303 M" in macs.output and "2.37 times" in macs.output
