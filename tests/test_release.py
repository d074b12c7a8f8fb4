"""`grade release`: the student folder has the stubs and the visible checks only; its grader, installed with
`pip install .` as its README says, works alone from any folder."""

from __future__ import annotations

import json
import subprocess
import tomllib

from click.testing import CliRunner
from packaging.requirements import Requirement

from conftest import ROOT, clean_environment, installed
from grader.cli import main
from grader.rubrics import RUBRICS


def test_release_gives_students_visible_checks_only_and_a_grader_that_works(tmp_path) -> None:
    outcome = CliRunner().invoke(main, ["release", "--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    student = tmp_path / "student"
    assert (student / "assignments" / "gap.py").is_file() and (student / "assignments" / "gap.ipynb").is_file()
    assert not (student / "solutions").exists()
    artifacts = student / "grader" / "course" / "artifacts"
    shipped = [*(student / "assignments").iterdir(), *(student / "grader" / "rubrics").glob("*.py"),
               *artifacts.glob("*.json")]
    assert len(shipped) > 15
    text = "\n".join(p.read_text() for p in shipped)
    for secret in ("BEGIN SOLUTION", "hidden()", "HEAD_HIDDEN", "kernel_size=7", "GlobalAveragePooling2D()(class",
                   "_conv_bn", "RUBRIC.mutant", "RUBRIC.equivalent"):  # mutants quote the solution
        assert secret not in text, secret
    artifact = json.loads((artifacts / "gap-quick-release.json").read_text())
    assert len(artifact) < len(RUBRICS["gap"].probes)  # the hidden probes' values are not shipped
    assert (tmp_path / "autograder" / "run_autograder").is_file() and (tmp_path / "autograder.zip").is_file()
    assert (tmp_path / "autograder" / "solutions" / "gap.py").is_file()
    # The student's package states ranges (Colab's TensorFlow is kept) and Python 3.13; the exact versions beside it.
    project = tomllib.loads((student / "pyproject.toml").read_text())["project"]
    assert not [r for r in project["dependencies"] if "==" in r], project["dependencies"]
    names = {Requirement(r).name: Requirement(r).specifier for r in project["dependencies"]}
    assert "tensorflow" in names and "2.20.0" in names["tensorflow"] and "tensorflow-cpu" not in names
    assert "3.13" in project["requires-python"] or "<3.14" in project["requires-python"], project["requires-python"]
    assert "grader.sandbox" in (student / "pyproject.toml").read_text()
    assert (student / "constraints.txt").read_bytes() == (ROOT / "constraints.txt").read_bytes()

    # The student's grader, installed from the student folder and run elsewhere (no solutions anywhere it looks),
    # grades the stub and the reference.
    bin_dir = installed(student, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_environment(tmp_path / "home")
    results = {}
    for label, path in (("stub", student / "assignments" / "gap.py"), ("reference", ROOT / "solutions" / "gap.py")):
        out = tmp_path / f"{label}.json"
        done = subprocess.run([str(bin_dir / "grade"), str(path), "-a", "gap", "--json", str(out), "-q"],
                              cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        results[label] = json.loads(out.read_text())
    visible_points = sum(c.points for c in RUBRICS["gap"].checks if not c.hidden)
    assert results["stub"]["score"] == 0 and results["stub"]["max_score"] == visible_points
    assert results["reference"]["score"] == results["reference"]["max_score"] == visible_points
    assert all(t["visibility"] == "visible" for t in results["reference"]["tests"])


def test_every_probe_of_a_hidden_part_is_marked_hidden(tmp_path) -> None:
    """Hidden probes run in a child of their own; one not marked hidden would put hidden arguments in the visible
    child's job. The probes a student release keeps must be exactly the ones declared outside `RUBRIC.hidden()`."""
    from grader import locations
    from grader.release import _probe_ids, visible_source

    for name, rubric in RUBRICS.items():
        path = tmp_path / f"{name}.py"
        path.write_text(visible_source((locations.PACKAGE / "rubrics" / f"{name}.py").read_text()))
        visible = {i for i, p in rubric.probes.items() if not p.hidden}
        assert _probe_ids(path, name) == visible, name
