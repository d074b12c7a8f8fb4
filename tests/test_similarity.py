"""Similarity across a class: copied code and identical unusual mistakes, as evidence for a person."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, ROOT
from grader.similarity import report, shared_mistakes, source_pairs

pytestmark = pytest.mark.quick


def _class(root) -> None:
    solution = (ROOT / "solutions" / "gap.py").read_text()
    disguised = (solution.replace("class_maps", "maps").replace("scores", "logits")
                 .replace('"""', "'''").replace("# ", "# note: "))
    for name, code in {"alice": solution, "bob": disguised,
                       "carol": (FIXTURES / "gap" / "gap_flatten_dense.py").read_text(),
                       "dave": (ROOT / "assignments" / "gap.py").read_text(),
                       "eve": (ROOT / "assignments" / "gap.py").read_text()}.items():  # two untouched stubs
        (root / name).mkdir(parents=True)
        (root / name / "gap.py").write_text(code)


def _result(out, name: str, failed: dict[str, str]) -> None:
    tests = [{"name": n, "status": "failed", "visibility": "visible", "output": o} for n, o in failed.items()]
    (out / "results" / f"{name}.json").write_text(json.dumps({"tests": tests}))


def test_a_disguised_copy_is_found_and_the_stub_shared_by_all_is_not(tmp_path) -> None:
    _class(tmp_path / "class")
    pairs = source_pairs(tmp_path / "class", tmp_path / "out")
    assert [(p.assignment, p.first, p.second) for p in pairs] == [("gap", "alice", "bob")]
    assert min(pairs[0].share_first, pairs[0].share_second) > 0.6


def test_only_unusual_identical_mistakes_are_evidence(tmp_path) -> None:
    (tmp_path / "results").mkdir()
    odd = {"gap/params: gap_head": "expected 4,010, found 3,217", "gap/structure: head": "found Dense 7"}
    common = {"gap/values: probabilities": "the outputs are not probabilities"}
    _result(tmp_path, "erin", odd)
    _result(tmp_path, "fay", odd)
    for name in ("gus", "hal", "ian"):
        _result(tmp_path, name, common)
    assert shared_mistakes(tmp_path) == [("gap", ["erin", "fay"], ["gap/params: gap_head", "gap/structure: head"])]
    (tmp_path / "class" / "erin").mkdir(parents=True)
    text = report(tmp_path / "class", tmp_path)
    assert "never a score change" in text and "**gap**: erin, fay" in text and "gus" not in text
