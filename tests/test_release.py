"""`grade release`: the student folder has the stubs and the visible checks only; its grader works alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from conftest import ROOT
from grader.cli import main
from grader.rubrics import RUBRICS


def test_release_gives_students_visible_checks_only_and_a_grader_that_works(tmp_path) -> None:
    outcome = CliRunner().invoke(main, ["release", "--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    student = tmp_path / "student"
    assert (student / "assignments" / "gap.py").is_file() and (student / "assignments" / "gap.ipynb").is_file()
    assert not (student / "solutions").exists()
    shipped = [*(student / "assignments").iterdir(), *(student / "grader" / "rubrics").glob("*.py"),
               *(student / ".grader-cache").glob("*.json")]
    text = "\n".join(p.read_text() for p in shipped)
    for secret in ("BEGIN SOLUTION", "hidden=True", "HEAD_HIDDEN", "kernel_size=7", "GlobalAveragePooling2D()(class",
                   "_conv_bn"):
        assert secret not in text, secret
    artifact = json.loads((student / ".grader-cache" / "gap-quick-release.json").read_text())
    assert len(artifact) < len(RUBRICS["gap"].probes)  # the hidden probes' values are not shipped
    assert (tmp_path / "autograder" / "run_autograder").is_file() and (tmp_path / "autograder.zip").is_file()
    assert (tmp_path / "autograder" / "solutions" / "gap.py").is_file()

    # The student's grader, alone (no solutions anywhere it looks), grades the stub and the reference.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    results = {}
    for label, path in (("stub", student / "assignments" / "gap.py"), ("reference", ROOT / "solutions" / "gap.py")):
        out = tmp_path / f"{label}.json"
        done = subprocess.run([sys.executable, "-m", "grader", str(path), "-a", "gap", "--json", str(out), "-q"],
                              cwd=student, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        results[label] = json.loads(out.read_text())
    visible_points = sum(c.points for c in RUBRICS["gap"].checks if not c.hidden)
    assert results["stub"]["score"] == 0 and results["stub"]["max_score"] == visible_points
    assert results["reference"]["score"] == results["reference"]["max_score"] == visible_points
    assert all(t["visibility"] == "visible" for t in results["reference"]["tests"])
