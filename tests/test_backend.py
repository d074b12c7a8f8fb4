"""`grade --backend jax`: the networks are trained by JAX in a process of their own (here on the CPU; on a GPU
machine with `cnn-grader[gpu]`), and the convergence checks judge them with the same margins."""

from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import ROOT
from grader.cli import main


def test_the_reference_trains_under_jax_and_keeps_full_marks(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))  # no run cached: JAX must train
    (tmp_path / "cache").mkdir()
    for artifact in (ROOT / ".grader-cache").glob("gap-quick-*.json"):  # the reference's figures, as computed
        (tmp_path / "cache" / artifact.name).write_bytes(artifact.read_bytes())
    outcome = CliRunner().invoke(main, [str(ROOT / "solutions" / "gap.py"), "--backend", "jax", "--json",
                                        str(tmp_path / "r.json")])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads((tmp_path / "r.json").read_text())
    training = next(t for t in report["tests"] if t["name"].startswith("gap/convergence"))
    assert training["status"] == "passed", training["output"]
    assert report["score"] == report["max_score"]
    assert any("training: profile quick on CPU (jax backend)" in n
               for n in report["extra_data"]["assignments"]["gap"]["notes"])
    assert list((tmp_path / "cache" / "runs").glob("*.json"))  # the JAX run, cached under its own key
