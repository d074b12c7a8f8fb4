"""The compatibility matrix (`make compat`): the grader in other environments than the course's locked one.

    python -m benchmarks.compat [--sets oldest,colab,newest] [--jobs 2] [--out benchmarks/results/compat.txt]

For each set, a fresh virtual environment under build/compat/ with that set's Python (from pyenv) and its TensorFlow,
Keras and NumPy installed first, as a student's environment has them; then the grader, installed from a wheel of this
checkout (`pip install .`, its ranges), which must change none of the three. Each environment grades the same class
with `grade batch`: the reference solution and every fixture under tests/fixtures/ of every assignment (the
hostile ones aside), each as a student folder. It computes its own reference artifacts and training runs (a cache of
its own), and its verdicts are compared with the locked environment's (this one, constraints.txt): every check's
status, and every message but the convergence checks' (whose figures differ by version; their verdict is the margin
held). The reference artifacts' measured figures (shapes, parameters, structure, receptive fields, MACs) are compared
too. The record goes to benchmarks/results/compat.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "compat"
TRIO = ("tensorflow", "keras", "numpy")

# name: (Python, what the environment has before the grader comes). Colab's runtime of 2026-12 (its published list);
# the oldest the ranges admit (Colab's of about a year before); the newest the index has (no pins: what the ranges
# resolve to today).
SETS: dict[str, tuple[str, list[str]]] = {
    "oldest": ("3.11", ["tensorflow==2.19.0", "keras==3.10.0", "numpy==1.26.4"]),
    "colab": ("3.13", ["tensorflow==2.20.0", "keras==3.13.2", "numpy==2.1.3"]),
    "newest": ("3.13", []),
}
ASSIGNMENTS = ("convolution", "gap", "classic", "inception", "resnet")


def _python(version: str) -> str:
    """An interpreter of `version`: pyenv's (whose shims answer only for its selected versions), else on PATH."""
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True) if shutil.which("pyenv") else None
    if pyenv is not None and pyenv.returncode == 0:
        found = sorted(Path(pyenv.stdout.strip(), "versions").glob(f"{version}.*/bin/python{version}"))
        if found:
            return str(found[-1])
    for candidate in (shutil.which(f"python{version}"),):
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit(f"no Python {version} here (pyenv install {version})")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return done


def _versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; "
            f"print(json.dumps({{n: m.version(n) for n in {list(TRIO)!r}}}))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def _class(folder: Path) -> list[str]:
    """One student folder per fixture and reference solution: `<assignment>__<fixture>/<assignment>.<ext>`."""
    if folder.exists():
        shutil.rmtree(folder)
    students = []
    for name in ASSIGNMENTS:
        sources = [ROOT / "solutions" / f"{name}.py",
                   *sorted(p for p in (ROOT / "tests" / "fixtures" / name).glob("*") if p.suffix in (".py", ".ipynb")
                           and p.name.startswith(name) and "loops_forever" not in p.name)]  # 120 s each, by design
        for source in sources:
            student = f"{name}__{'reference' if source.parent.name == 'solutions' else source.stem}"
            (folder / student).mkdir(parents=True)
            shutil.copy(source, folder / student / f"{name}{source.suffix}")
            students.append(student)
    return students


def _environment(name: str, version: str, pins: list[str], wheel: Path) -> tuple[Path, dict]:
    """A fresh environment with the set's packages, then the grader; what pip changed of the trio."""
    venv = BUILD / name / "venv"
    if venv.exists():
        shutil.rmtree(venv)
    _run([_python(version), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--upgrade", "pip"])
    if pins:
        _run([*pip, *pins])
    before = _versions(venv / "bin" / "python")
    _run([*pip, str(wheel)])
    after = _versions(venv / "bin" / "python")
    changed = {k: f"{before.get(k)} -> {after.get(k)}" for k in TRIO if pins and before.get(k) != after.get(k)}
    return venv, {"python": version, "versions": after, "changed": changed}


def _grade(grade: Path, students: Path, out: Path, cache: Path, jobs: int) -> float:
    if out.exists():
        shutil.rmtree(out)
    if cache.exists():
        shutil.rmtree(cache)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env["GRADER_CACHE"] = str(cache)
    start = time.monotonic()
    done = subprocess.run([str(grade), "--course", str(ROOT), "batch", str(students), "--out", str(out),
                           "--jobs", str(jobs), "--profile", "quick"], capture_output=True, text=True, env=env,
                          cwd=out.parent, timeout=7200)
    if done.returncode not in (0, 1):
        raise SystemExit(f"grade batch failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return time.monotonic() - start


def _results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


def _compare(locked: dict[str, dict], other: dict[str, dict]) -> dict:
    """Check by check: the same status; the same message but for convergence."""
    checks = same_status = same_message = 0
    differences = []
    for student, expected in locked.items():
        found = {t["name"]: t for t in other.get(student, {}).get("tests", [])}
        for test in expected["tests"]:
            if test["name"].split("/", 1)[0] != student.split("__", 1)[0]:
                continue  # the assignments the student has no file for
            checks += 1
            mine = found.get(test["name"])
            if mine is None:
                differences.append(f"{student}: {test['name']}: missing")
                continue
            if mine["status"] == test["status"]:
                same_status += 1
            else:
                differences.append(f"{student}: {test['name']}: {test['status']} -> {mine['status']}: "
                                   f"{mine.get('output', '')[:300]}")
            convergence = "/convergence:" in test["name"]
            if convergence or mine.get("output", "") == test.get("output", ""):
                same_message += 1
            else:
                differences.append(f"{student}: {test['name']}: message differs:\n    locked: "
                                   f"{test.get('output', '')[:400]}\n    here:   {mine.get('output', '')[:400]}")
    return {"checks": checks, "same_status": same_status, "same_message": same_message, "differences": differences}


def _artifacts(cache: Path) -> dict[str, dict]:
    """The reference artifacts' measured figures, training left out."""
    found = {}
    for path in sorted(cache.glob("*-quick-*.json")):
        if path.name.endswith(".timing.json"):
            continue
        measured = json.loads(path.read_text())
        found[path.name.split("-quick-")[0]] = {probe: {k: v for k, v in values.items() if k != "convergence"}
                                                for probe, values in measured.items()}
    return found


def _reference_accuracy(results: dict[str, dict]) -> dict[str, str]:
    """The reference's convergence messages (their figures), per assignment."""
    found = {}
    for student, result in results.items():
        if student.endswith("__reference"):
            for test in result["tests"]:
                if test["name"].startswith(student.split("__")[0] + "/convergence:"):
                    found[test["name"]] = f"{test['status']}: {test.get('output', '')[:160]}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compat.txt")
    args = parser.parse_args()
    BUILD.mkdir(parents=True, exist_ok=True)
    students = BUILD / "class"
    count = len(_class(students))
    wheels = BUILD / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)])
    wheel = next(wheels.glob("*.whl"))

    lines = [f"make compat, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; a class of {count} (the reference "
             f"and every non-hostile fixture of the five assignments), quick profile, grade batch --jobs {args.jobs}",
             ""]
    locked_out = BUILD / "locked" / "grading"
    locked_out.parent.mkdir(parents=True, exist_ok=True)
    seconds = _grade(Path(sys.executable).parent / "grade", students, locked_out, BUILD / "locked" / "cache",
                     args.jobs)
    locked = _results(locked_out)
    locked_artifacts = _artifacts(BUILD / "locked" / "cache")
    versions = _versions(Path(sys.executable))
    lines += [f"locked (this environment, constraints.txt): Python {sys.version.split()[0]}, "
              + ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; graded in {seconds:.0f} s", ""]
    lines += ["  reference convergence:", *(f"    {k}: {v}" for k, v in _reference_accuracy(locked).items()), ""]
    failures = 0
    for name in args.sets.split(","):
        version, pins = SETS[name]
        start = time.monotonic()
        venv, facts = _environment(name, version, pins, wheel)
        installed = time.monotonic() - start
        out = BUILD / name / "grading"
        seconds = _grade(venv / "bin" / "grade", students, out, BUILD / name / "cache", args.jobs)
        compared = _compare(locked, _results(out))
        artifacts = _artifacts(BUILD / name / "cache")
        artifact_differences = [a for a in locked_artifacts if artifacts.get(a) != locked_artifacts[a]]
        ok = (not facts["changed"] and compared["same_status"] == compared["checks"] == compared["same_message"]
              and not artifact_differences)
        failures += not ok
        lines += [f"{name}: Python {version}, " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
                  + (f" (before the grader: {', '.join(pins)})" if pins else " (the newest the ranges admit)"),
                  f"  pip install of the grader changed: {facts['changed'] or 'nothing of ' + ', '.join(TRIO)}",
                  f"  installed in {installed:.0f} s, graded in {seconds:.0f} s",
                  f"  checks: {compared['checks']}; same verdict: {compared['same_status']}; same message: "
                  f"{compared['same_message']} (convergence compared by verdict)",
                  "  reference artifacts' figures: "
                  + ("identical" if not artifact_differences else f"differ for {', '.join(artifact_differences)}"),
                  "  reference convergence:", *(f"    {k}: {v}" for k, v in _reference_accuracy(_results(out)).items()),
                  f"  {'SAME' if ok else 'DIFFERENT'}", *(f"  - {d}" for d in compared["differences"][:40]), ""]
        print("\n".join(lines[-12:]), flush=True)
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
