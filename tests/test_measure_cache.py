"""A configuration measured once in a grader process is not rebuilt again: a class of mostly identical networks
costs the grader one rebuild per network, and every student's result is what grading them alone gives."""

from __future__ import annotations

import shutil

from conftest import GAP, ROOT
from grader import runner
from grader.grading import grade_submission
from grader.rubrics import RUBRICS


def test_a_second_identical_network_is_measured_from_memory_with_the_same_result(tmp_path) -> None:
    for name, source in (("first", ROOT / "solutions" / "gap.py"), ("second", ROOT / "solutions" / "gap.py"),
                         ("other", GAP / "gap_wrong_kernel.py")):
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / "gap.py")
    runner._MEASURED.clear()
    first = grade_submission(tmp_path / "first", ["gap"]).assignments[0]
    hits = runner.measured_hits
    second = grade_submission(tmp_path / "second", ["gap"]).assignments[0]
    with_model = [p for p in RUBRICS["gap"].probes.values() if not p.value and not p.reference_only]
    assert runner.measured_hits - hits == len(with_model)  # the training one too (its run is cached apart)
    assert any("convergence" in p.measures for p in with_model)
    assert [(c.name, c.score, c.output) for c in first.checks] == [(c.name, c.score, c.output) for c in second.checks]
    hits = runner.measured_hits
    other = grade_submission(tmp_path / "other", ["gap"]).assignments[0]
    assert other.score < first.score  # another network is measured, not taken from memory
    assert runner.measured_hits - hits < 5
