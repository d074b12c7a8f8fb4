"""Time limits that follow the machine (grader.timing)."""

from __future__ import annotations

import pytest

from grader import timing

pytestmark = pytest.mark.quick


def test_a_machine_four_times_slower_gets_four_times_as_long(tmp_path) -> None:
    here = timing.workload_seconds()
    assert here > 0
    slower_there = {"reference_seconds": 10.0, "workload_seconds": here / 4}
    limit, slowdown = timing.limit(120.0, [slower_there, None])
    assert slowdown == pytest.approx(4.0) and limit == pytest.approx(480.0)
    faster_there = {"reference_seconds": 50.0, "workload_seconds": here * 3}
    assert timing.limit(120.0, [faster_there]) == (200.0, 1.0)  # never less than the floor, nor 4x the reference
    assert timing.limit(120.0, [None]) == (120.0, 1.0)  # no record (a student release): the floor as given


def test_the_record_beside_an_artifact_is_read_back_and_a_broken_one_ignored(tmp_path) -> None:
    artifact = tmp_path / "gap-quick-0123.json"
    timing.record(artifact, 12.345)
    assert timing.read(artifact)["reference_seconds"] == 12.35
    timing.record_path(artifact).write_text('{"reference_seconds": 3, "workload_seconds": 0}')
    assert timing.read(artifact) is None
    timing.record_path(artifact).write_text("not json")
    assert timing.read(artifact) is None
