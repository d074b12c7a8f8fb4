"""The rubrics' convergence margins hold on the recorded calibration runs.

The margins are measured by `make calibrate` (quick profile, 2 cores: the reference and an equivalent spelling under
ten seeds must all pass against the reference's seed-0 run, each broken variant under three must fail) and by
benchmarks/convergence.py on a GPU (full profile); both records are judged here again with the rubrics' own margins
and the one verdict function, so that a margin changed without a new calibration fails the test run.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from grader.margins import verdict
from grader.rubrics import RUBRICS

pytestmark = pytest.mark.quick


def _margins(assignment: str):
    return next(p.margins for p in RUBRICS[assignment].probes.values() if p.margins is not None)


RECORDS = {"quick": "convergence-quick-2cpu.json", "full": "convergence-full-h200-jax.json"}


@pytest.mark.parametrize("profile", sorted(RECORDS))
def test_the_margins_separate_the_recorded_calibration_runs(profile: str) -> None:
    recorded = json.loads((ROOT / "benchmarks" / "results" / RECORDS[profile]).read_text())
    assert recorded["profile"] == profile
    references = {r["assignment"]: r for r in recorded["runs"] if r["variant"] == "reference" and r["seed"] == 0}
    verdicts: dict[tuple[str, str], list[bool]] = {}
    for run in recorded["runs"]:
        # Quick: every run against the reference's seed 0, as students are judged; full: seed against seed.
        reference = references[run["assignment"]] if profile == "quick" else next(
            r for r in recorded["runs"] if r["assignment"] == run["assignment"] and r["variant"] == "reference"
            and r["seed"] == run["seed"])
        passed = verdict(run, reference, _margins(run["assignment"]), profile) is None
        variant = "broken" if run["variant"] not in ("reference", "equivalent") else run["variant"]
        verdicts.setdefault((run["assignment"], variant), []).append(passed)
    assert {a for a, _ in verdicts} == {"gap", "inception", "resnet"}
    for (assignment, variant), outcomes in verdicts.items():
        if variant == "broken":
            assert not any(outcomes), (assignment, outcomes)
        else:
            assert all(outcomes), (assignment, variant, outcomes)
            if profile == "quick":
                assert len(outcomes) >= 10  # the seeds behind the margin


def test_the_verdict_names_the_reason() -> None:
    margins = _margins("resnet")
    reference = {"val_accuracy": 0.9, "train_loss": 0.05, "finite": True}
    assert verdict({**reference, "train_loss": 0.2}, reference, margins, "quick") is None
    assert "learns too slowly" in verdict({**reference, "train_loss": 0.5}, reference, margins, "quick")
    assert "infinite" in verdict({**reference, "finite": False}, reference, margins, "quick")
    assert "below the reference" in verdict({**reference, "val_accuracy": 0.5}, reference, _margins("gap"), "full")


