"""What pip would install for the student release on each platform students use (`make resolve`).

    python -m benchmarks.resolve [--out benchmarks/results/resolve.txt]

For macOS on Apple silicon, Windows and Linux, each with Python 3.11, 3.12 and 3.13, asks the real package index
(`pip install --dry-run --only-binary=:all: --platform ... --python-version ...`) to resolve a wheel of this checkout
with its ranges, as a student's `pip install .` of the release would, and records the TensorFlow, Keras and NumPy it
would get. Binary wheels only: a platform on which something would have to be compiled counts as a failure.
Resolving is not running: the student workflow (examples/github-actions/student-matrix.yml) runs the grader there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = {
    "macOS arm64": ["macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64"],
    "Windows x86-64": ["win_amd64"],
    "Linux x86-64": ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                     "manylinux2014_x86_64"],
}
PYTHONS = ("3.11", "3.12", "3.13")
SHOWN = ("tensorflow", "keras", "numpy", "psutil", "scikit-learn", "matplotlib")


def resolve(wheel: Path, tags: list[str], python: str, target: Path) -> tuple[bool, str]:
    report = target / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
               "--only-binary=:all:", "--python-version", python, "--target", str(target), "--report", str(report),
               *(f"--platform={t}" for t in tags), str(wheel)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or done.stderr.splitlines()
        return False, (lines[-1] if lines else f"exit {done.returncode}")[:300]
    plan = json.loads(report.read_text())["install"]
    installed = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in plan}
    tf_like = sorted(n for n in installed if n.startswith("tensorflow"))
    shown = ", ".join(f"{n} {installed[n]}" for n in SHOWN if n in installed)
    return True, f"{len(installed)} packages: {shown}; TensorFlow distributions: {', '.join(tf_like)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "resolve.txt")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grade-resolve-"))
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work),
                        str(ROOT)], check=True, capture_output=True)
        wheel = next(work.glob("cnn_grader-*.whl"))
        lines = [f"make resolve, {time.strftime('%Y-%m-%d')}: pip {_pip_version()} resolving {wheel.name} against the "
                 "package index, binary wheels only", ""]
        failures = 0
        for platform, tags in PLATFORMS.items():
            for python in PYTHONS:
                target = work / f"{platform}-{python}".replace(" ", "_")
                target.mkdir()
                ok, said = resolve(wheel, tags, python, target)
                failures += not ok
                lines.append(f"{platform:15} Python {python}: {'resolves' if ok else 'FAILS'}: {said}")
                print(lines[-1], flush=True)
        lines += ["", f"{9 - failures} of 9 resolve"]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
        sys.exit(1 if failures else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pip_version() -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    return done.stdout.split()[1] if done.returncode == 0 else "?"


if __name__ == "__main__":
    main()
