"""The grader installed from a wheel (not editable), run from a folder that is not the course: it finds its
reference solutions in the package, computes their artifacts into the user's cache, and scores as the checkout."""

from __future__ import annotations

import json
import subprocess

from conftest import GAP, ROOT, clean_environment, graded, installed


def test_an_installed_wheel_grades_from_anywhere_like_the_checkout(tmp_path) -> None:
    bin_dir = installed(ROOT, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "gap.py").write_text((GAP / "gap_wrong_kernel.py").read_text())
    env = clean_environment(tmp_path / "home")
    done = subprocess.run([str(bin_dir / "grade"), "gap.py", "--json", "out.json", "-q"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads((elsewhere / "out.json").read_text())
    checkout = graded(GAP / "gap_wrong_kernel.py")
    assert found["score"] == checkout.score < checkout.max_score == found["max_score"]
    assert [t["status"] for t in found["tests"]] == ["passed" if c.passed else "failed" for c in checkout.checks]
    # The grader that ran is the installed one, and its cache is the user's, not the checkout's.
    assert str(ROOT) not in done.stdout + done.stderr
    assert list((tmp_path / "home" / ".cache" / "cnn-grader").glob("gap-quick-*.json"))


