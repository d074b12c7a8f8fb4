"""A class graded in shards (`grade batch --shard K/N`) and merged (`grade merge`) gives what one run gives."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from grader.batch import in_shard, merge, parse_shard, read_ledger, summarize, write_ledger
from grader.errors import UsageError

pytestmark = pytest.mark.quick
NAMES = ["alice", "bob", "carol", "dave", "erin", "fay", "gus"]


def test_every_student_is_in_exactly_one_shard() -> None:
    for n in (1, 2, 3, 5):
        for name in NAMES:
            assert [in_shard(name, (k, n)) for k in range(1, n + 1)].count(True) == 1
    assert {name for name in NAMES if in_shard(name, (1, 2))} not in (set(), set(NAMES))  # both shards have work


@pytest.mark.parametrize("text", ["2", "0/3", "4/3", "a/b"])
def test_a_shard_must_be_k_of_n(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def _graded(out, name: str, score: float) -> None:
    tests = [{"name": "gap/params: gap_head", "status": "passed" if score else "failed", "score": min(score, 1),
              "max_score": 1, "visibility": "visible", "output": "" if score else "expected 4,010, found 1,450"}]
    report = {"score": score, "max_score": 23, "tests": tests, "output": "",
              "extra_data": {"assignments": {"gap": {"score": score, "max_score": 23, "execution_time": 1.0}}}}
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / f"{name}.json").write_text(json.dumps(report))
    write_ledger(out, {**read_ledger(out), name: hashlib.sha256(json.dumps(report).encode()).hexdigest()})
    (out / "feedback" / name).mkdir(parents=True, exist_ok=True)
    (out / "feedback" / name / "feedback.html").write_text(f"<p>{name}</p>")


def test_merged_shards_give_the_files_of_one_run(tmp_path) -> None:
    single, parts = tmp_path / "single", [tmp_path / "part1", tmp_path / "part2"]
    for index, name in enumerate(NAMES):
        _graded(single, name, float(index * 3))
        _graded(parts[0 if in_shard(name, (1, 2)) else 1], name, float(index * 3))
    summarize(single, NAMES, fail_under=30)
    merged = merge(parts, tmp_path / "merged", fail_under=30)
    assert merged["students"] == len(NAMES) and merged["below"] == ["alice", "bob", "carol"]
    for name in ("grades.csv", "summary.md", "junit.xml", "index.html"):
        assert (tmp_path / "merged" / name).read_text() == (single / name).read_text(), name
    assert (tmp_path / "merged" / "feedback" / "gus" / "feedback.html").is_file()

    shutil.copy(sorted((parts[0] / "results").iterdir())[0], parts[1] / "results")  # one student in both
    with pytest.raises(UsageError, match="graded in two of the folders"):
        merge(parts, tmp_path / "again")
    (parts[1] / "results" / sorted((parts[0] / "results").iterdir())[0].name).unlink()

    # A result that grade batch did not write for that student (planted, edited) is refused, never merged.
    forged = next((parts[1] / "results").iterdir())
    forged.write_text(forged.read_text().replace('"score": ', '"score": 1', 1))
    with pytest.raises(UsageError, match="not the result grade batch wrote"):
        merge(parts, tmp_path / "forged")
