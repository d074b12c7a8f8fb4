"""`grade gradescope`: the autograder zip, run in a fake /autograder layout as Gradescope would."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import GAP, ROOT, installed
from grader.cli import main


def test_the_autograder_zip_grades_a_submission_in_a_gradescope_layout(tmp_path) -> None:
    archive = tmp_path / "autograder.zip"
    outcome = CliRunner().invoke(main, ["gradescope", "--out", str(archive), "-a", "gap"])
    assert outcome.exit_code == 0, outcome.output
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        assert {"setup.sh", "run_autograder", "pyproject.toml", "grader/cli.py", "grader/sandbox/system.py",
                "grader/data/mnist-5000.npz", "solutions/gap.py", "constraints.txt"} <= names
        # setup.sh installs the course's exact versions, with any Python from 3.11 to 3.13.
        setup = bundle.read("setup.sh").decode()
        assert '"${pins[@]}" .' in setup and "pins=(-c constraints.txt)" in setup and "< (3, 14)" in setup
        assert bundle.read("constraints.txt") == (ROOT / "constraints.txt").read_bytes()
        assert '--budget "${GRADER_BUDGET:-600}"' in bundle.read("run_autograder").decode()
        assert any(n.startswith(".grader-cache/gap-quick-") for n in names)  # the reference artifact
        assert not any(n.startswith(("solutions/inception", "tests/")) for n in names)
        assert bundle.getinfo("run_autograder").external_attr >> 16 & 0o111
        bundle.extractall(tmp_path / "autograder" / "source")
    root = tmp_path / "autograder"
    # As setup.sh does (pip install . of the zip's own pyproject.toml), but without downloading the dependencies.
    python = installed(root / "source", tmp_path / "venv") / "python"
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": str(python)}
    env.pop("GRADER_CACHE", None)
    env.pop("GRADER_SOLUTIONS", None)

    (root / "submission").mkdir()
    (root / "submission" / "gap.py").write_text((GAP / "gap_wrong_kernel.py").read_text())
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["max_score"] == 23 and 0 < results["score"] < 23
    assert any(t["name"].startswith("gap/params") and t["status"] == "failed" for t in results["tests"])
    # The reference came from the artifact in the zip, not from a new computation.
    assert sorted(p.name for p in (root / "source" / ".grader-cache").glob("gap-*.json")) == \
        sorted(n.split("/")[-1] for n in names if n.startswith(".grader-cache/gap-"))

    (root / "submission" / "gap.py").unlink()
    (root / "submission" / "notes.txt").write_text("forgot the code")
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["max_score"] == 23
    assert "no file for 'gap'" in results["tests"][0]["output"]

    # A grader that cannot start still leaves a result that says so.
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")],
                          env={**env, "GRADER_PYTHON": "/nonexistent/python"}, capture_output=True, text=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"]

    # Killed for memory in a container too small: the result tells the course staff which setting to choose.
    killed = tmp_path / "killed-python"
    killed.write_text("#!/bin/sh\nkill -9 $$\n")
    killed.chmod(0o755)
    script = f"bash {root / 'source' / 'run_autograder'}"
    for megabytes, advice in ((512, "grading needs 768 MB"), (768, "choose the next larger resources")):
        with _memory_cgroup(megabytes) as enter:
            subprocess.run(["bash", "-c", f"{enter} exec {script}"], env={**env, "GRADER_PYTHON": str(killed)},
                           capture_output=True, text=True, timeout=60)
        results = json.loads((root / "results" / "results.json").read_text())
        assert results["score"] == 0 and results["max_score"] == 23
        assert f"this container has {megabytes} MB" in results["output"] and advice in results["output"]


@contextlib.contextmanager
def _memory_cgroup(megabytes: int):
    """A fresh memory cgroup (version 2 or 1) capped at `megabytes`; yields the shell words that enter it."""
    v2 = os.path.isfile("/sys/fs/cgroup/cgroup.controllers")
    group = Path("/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/memory") / f"grader-test-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"no memory cgroup can be made here ({exc.strerror}): needs root")
    try:
        (group / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(f"{megabytes}M")
        yield f"echo $$ > {group}/cgroup.procs;"
    finally:
        group.rmdir()
