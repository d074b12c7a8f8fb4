"""Measuring apart (`grader.measurer`): where memory is short the grader imports no TensorFlow and rebuilds each
child's models in a measurer forked by the fork server after the child ended. It grades as measuring here does,
and a measurer that dies is the grader's failure, never the student's."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from grader import measurer
from grader.reports import gradescope
from grader.sandbox import forked

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.mark.quick
def test_it_measures_apart_where_memory_is_short_or_where_it_is_told(monkeypatch) -> None:
    monkeypatch.delenv("GRADER_MEASURE", raising=False)
    monkeypatch.setattr(forked, "enabled", lambda: True)
    monkeypatch.setattr(measurer, "memory_mb", lambda: 768)  # Gradescope's default container
    assert measurer.apart()
    monkeypatch.setattr(measurer, "memory_mb", lambda: 1536)
    assert not measurer.apart()
    monkeypatch.setenv("GRADER_MEASURE", "apart")
    assert measurer.apart()
    monkeypatch.setenv("GRADER_MEASURE", "here")
    monkeypatch.setattr(measurer, "memory_mb", lambda: 768)
    assert not measurer.apart()
    monkeypatch.setattr(forked, "enabled", lambda: False)  # no fork server, nothing to fork a measurer from
    monkeypatch.setenv("GRADER_MEASURE", "apart")
    assert not measurer.apart()


@pytest.mark.quick
def test_the_memory_it_may_use_is_at_most_the_machines() -> None:
    found = measurer.memory_mb()
    assert found is not None and 0 < found <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


@pytest.mark.quick
def test_answers_are_read_until_the_measurer_stops_even_in_the_middle_of_one() -> None:
    stream = b"".join(measurer._HEADER.pack(len(p)) + p for p in (pickle.dumps({"a": 1}), pickle.dumps({"b": 2})))
    assert list(measurer._receive(io.BytesIO(stream))) == [{"a": 1}, {"b": 2}]
    assert list(measurer._receive(io.BytesIO(stream[:-3]))) == [{"a": 1}]  # killed while it wrote the second
    assert list(measurer._receive(io.BytesIO(stream[:5]))) == []


class _Unknown:
    """A job the measurer cannot read: this module is not importable where the fork server runs."""


def test_a_measurer_that_ends_before_it_answered_is_the_graders_failure(monkeypatch) -> None:
    from grader.errors import GraderError
    from grader.grading import grade_submission
    from grader.sandbox.limits import Limits

    monkeypatch.setenv("GRADER_MEASURE", "apart")
    result = grade_submission(FIXTURES / "gap" / "gap_flatten_dense.py", ["gap"], Limits(timeout=120.0))
    assert result.score < result.max_score  # a child ran (and a measurer): the server is up
    with pytest.raises(GraderError, match=r"measuring process ended \(exit status \d+\) after 0 of 1 models"):
        measurer.measure_apart([_Unknown()], 120.0)  # type: ignore[list-item]


def test_grading_apart_gives_what_grading_here_gives_and_imports_no_tensorflow(tmp_path) -> None:
    """One grader per mode over submissions that reach each path of the measuring: the reference, a wrong structure
    trained, a model too large to rebuild, a custom layer, a residual network trained in its harness."""
    files = [ROOT / "solutions" / "gap.py", FIXTURES / "gap" / "gap_flatten_dense.py",
             FIXTURES / "hostile" / "gap_huge_model.py", FIXTURES / "gap" / "gap_custom_layer.py",
             FIXTURES / "resnet" / "resnet_no_identity_shortcut.py"]
    said = ("import atexit, runpy, sys\n"
            "atexit.register(lambda: print('tensorflow imported:', 'tensorflow' in sys.modules, file=sys.stderr))\n"
            "sys.argv = ['grade', *sys.argv[1:]]\n"
            "runpy.run_module('grader', run_name='__main__')\n")
    reports = {}
    for mode in ("apart", "here"):
        out = tmp_path / mode
        done = subprocess.run([sys.executable, "-c", said, *map(str, files), "-q", "--json", str(out)],
                              env={**os.environ, "GRADER_MEASURE": mode, "GRADER_SERVICE": "0"},
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"tensorflow imported: {mode == 'here'}" in done.stderr
        reports[mode] = {f.stem: gradescope.without_timings(json.loads((out / f"{f.stem}.json").read_text()))
                         for f in files}
    assert reports["apart"] == reports["here"]
    scores = {name: (r["score"], r["max_score"]) for name, r in reports["apart"].items()}
    assert scores["gap"][0] == scores["gap"][1]
    assert all(scores[f.stem][0] < scores[f.stem][1] for f in files[1:])
    huge = reports["apart"]["gap_huge_model"]
    assert any("parameters" in t.get("output", "") for t in huge["tests"] if t["score"] < t["max_score"])


@pytest.mark.quick
def test_a_measurer_killed_midway_is_followed_by_a_fresh_one_for_the_rest(monkeypatch) -> None:
    asked: list[int] = []

    def measurer_killed_after_one(jobs, budget_s, threads):
        asked.append(len(jobs))
        return [{"measured": {"n": jobs[0]}}], -9, "Killed"  # the first answer in, then the OOM killer

    monkeypatch.setattr(measurer, "_in_a_measurer", measurer_killed_after_one)
    assert measurer.measure_apart([1, 2, 3], 120.0) == [{"measured": {"n": n}} for n in (1, 2, 3)]  # type: ignore
    assert asked == [3, 2, 1]
    monkeypatch.setattr(measurer, "_in_a_measurer", lambda jobs, budget_s, threads: ([], -9, "Killed"))
    with pytest.raises(measurer.GraderError, match=r"exit status -9\) after 0 of 2 models: Killed"):
        measurer.measure_apart([1, 2], 120.0)  # type: ignore[list-item]


@pytest.mark.quick
def test_a_batch_worker_that_measures_apart_imports_no_tensorflow_to_share_the_cores() -> None:
    check = ("import sys\nfrom grader import batch\nbatch._limit_threads(1)\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", check], env={**os.environ, "GRADER_MEASURE": "apart"},
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False"], done.stderr[-2000:]
