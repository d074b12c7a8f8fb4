"""The Gradescope autograder: a zip with `setup.sh`, `run_autograder`, the grader and the reference artifacts.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once when it builds the image, and runs
`run_autograder` for each submission, which it puts in /autograder/submission; the results go to
/autograder/results/results.json. Gradescope runs it as root, so students' code runs jailed (grader.sandbox):
the solutions and artifacts in the zip are hidden from it.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import zipfile
from pathlib import Path

from grader import locations, timing
from grader.errors import GraderError, UsageError
from grader.reference import artifact_path, reference_measurements
from grader.rubrics import RUBRICS

SETUP = """#!/usr/bin/env bash
# Run once by Gradescope, as root, when it builds the autograder image. The grader needs Python 3.11 to 3.13: the
# image's own if it has one, else its distribution's package (Gradescope's default image, Ubuntu 22.04, has Python
# 3.10 and offers python3.11 in its own archive; Ubuntu 24.04 has 3.12; Debian 12 has 3.11, Debian 13 3.13).
# Everything else comes from the Python package index, at the course's exact versions (constraints.txt); nothing is
# downloaded when a submission is graded.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${GRADER_VENV:-/autograder/venv}"  # PrairieLearn's image keeps it elsewhere

venv_from() {  # a virtual environment made by interpreter $1, if it is 3.11 to 3.13 and can make one
  "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null || return 1
  rm -rf "$VENV"
  "$1" -m venv "$VENV" >/dev/null 2>&1
}

made=""
for candidate in python3.12 python3.11 python3.13 python3; do
  if command -v "$candidate" >/dev/null && venv_from "$(command -v "$candidate")"; then made=$candidate; break; fi
done
if [ -z "$made" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  for version in 3.12 3.11; do
    if apt-get install -y -q --no-install-recommends "python$version" "python$version-venv" >/dev/null 2>&1 \\
        && venv_from "$(command -v "python$version")"; then made=python$version; break; fi
  done
fi
if [ -z "$made" ]; then
  echo "setup.sh: no Python 3.11 to 3.13 on this image nor in its package archive; choose Gradescope's Ubuntu" \\
       "22.04 or 24.04 base image" >&2
  exit 1
fi
echo "setup.sh: $("$VENV/bin/python" --version) from $made"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
pins=(); [ -f constraints.txt ] && pins=(-c constraints.txt)
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" .
"$VENV/bin/grade" --version
"""

RUN = """#!/usr/bin/env bash
# Run by Gradescope for each submission. AUTOGRADER_ROOT and GRADER_PYTHON exist for testing elsewhere.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{GRADER_PYTHON:-$ROOT/venv/bin/python}}"
export GRADER_CACHE="$ROOT/source/.grader-cache" GRADER_SOLUTIONS="$ROOT/source/solutions"
{memory_probe}
mkdir -p "$ROOT/results"
cd "$ROOT/source"
# GRADER_BUDGET: the assignment's timeout in Gradescope's settings (10 minutes by default); no time limit grows past
# a share of it, so that a submission that hangs still gets its result in time.
"$PYTHON" -m grader "$ROOT/submission" {assignments} --profile {profile} --budget "${{GRADER_BUDGET:-600}}" \
  --json "$ROOT/results/results.json"
status=$?
if [ "$status" -ge 2 ] || [ ! -s "$ROOT/results/results.json" ]; then
  # The grader itself failed: say so on Gradescope rather than leave no result.
  message="The autograder could not grade this submission (exit status $status); please tell the course staff."
  memory=$(container_memory_mb)
  if [ "$status" -eq 137 ] && [ -n "$memory" ] && [ "$memory" -lt {needed_mb} ]; then
    message="The autograder ran out of memory: this container has $memory MB and grading needs {needed_mb} MB. \\
Course staff: in the assignment's Autograder settings, choose {tier} or more."
  elif [ "$status" -eq 137 ] && [ -n "$memory" ]; then
    message="The autograder ran out of memory: this container has $memory MB. Course staff: in the assignment's \\
Autograder settings, choose the next larger resources."
  fi
  printf '{{"score": 0, "max_score": {max_score}, "output": "%s", "tests": []}}\\n' "$message" \\
    > "$ROOT/results/results.json"
fi
exit 0
"""

# What the container may use: the memory cgroup's limit (version 2, then 1), found from /proc/self/cgroup.
MEMORY_PROBE = """container_memory_mb() {
  local path limit
  path=$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup)
  limit=$(cat "/sys/fs/cgroup${path}/memory.max" 2>/dev/null)
  if [ -z "$limit" ] || [ "$limit" = max ]; then
    path=$(sed -n 's/^[0-9]*:memory:\\(.*\\)$/\\1/p' /proc/self/cgroup)
    limit=$(cat "/sys/fs/cgroup/memory${path}/memory.limit_in_bytes" 2>/dev/null \\
            || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)
  fi
  case "$limit" in ''|max|*[!0-9]*) ;; *) echo $((limit / 1048576)) ;; esac
}
"""

# Gradescope's resource settings (CPUs, MB of memory), smallest first, and what grading needs, measured by
# benchmarks/gradescope_image.py in a container of each size (benchmarks/results/gradescope-debian12.txt): the five
# assignments of the example submission in Gradescope's default, 0.5 CPU and 768 MB, peaked at 667 MB in 113 s.
# It fits because the grader then imports no TensorFlow (grader.measurer: 79 MB for the grader itself).
TIERS = ((0.5, 768), (1.0, 1536), (2.0, 3072), (4.0, 6144))
NEEDED_MB = 768


def settings() -> str:
    """What to choose in a Gradescope assignment's Autograder settings, as measured."""
    return (f"  base image: Ubuntu 22.04 (the default) or 24.04; setup.sh installs Python 3.11 from its archive if "
            f"needed\n  resources: the default, {tier()}, or more (more CPU grades faster)\n"
            "  timeout: the default 10 minutes (all five assignments took two minutes on half a CPU; each time limit "
            "follows the container's speed)")


def tier() -> str:
    """The smallest Gradescope resource setting that grading fits in."""
    cpus, memory = next((c, m) for c, m in TIERS if m >= NEEDED_MB)
    return f"{cpus:g} CPU, {memory} MB RAM" if memory < 1024 else f"{cpus:g} CPU, {memory / 1024:g} GB RAM"


def gradescope_zip(out: Path, assignments: list[str] | None = None, profile: str = "quick") -> Path:
    """Write the autograder zip for `assignments` (all by default), computing missing reference artifacts."""
    names = assignments or list(RUBRICS)
    unknown = [n for n in names if n not in RUBRICS]
    if unknown:
        raise UsageError(f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(RUBRICS)}")
    for name in names:
        reference_measurements(RUBRICS[name], profile)
    only = " ".join(f"-a {shlex.quote(n)}" for n in names)  # a missing file then scores 0 of the same maximum
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_text(bundle, "setup.sh", SETUP, executable=True)
        maximum = sum(RUBRICS[n].max_score for n in names)
        run = RUN.format(assignments=only, profile=profile, needed_mb=NEEDED_MB, tier=tier(), max_score=maximum,
                         memory_probe=MEMORY_PROBE.strip())
        _add_text(bundle, "run_autograder", run, executable=True)
        _add_text(bundle, "pyproject.toml", pyproject(solutions=True))
        for name in ("README.md", CONSTRAINTS):
            if (locations.PACKAGE.parent / name).is_file():
                bundle.write(locations.PACKAGE.parent / name, name)
        for path in grader_files():
            bundle.write(path, f"grader/{path.relative_to(locations.PACKAGE).as_posix()}")
        course = locations.course()
        for name in names:
            bundle.write(course.solution(name), f"solutions/{name}.py")  # type: ignore[arg-type]
            artifact = artifact_path(RUBRICS[name], profile)
            bundle.write(artifact, f".grader-cache/{artifact.name}")
            record = timing.record_path(artifact)  # the reference's time here, for limits that follow the machine
            if record.is_file():
                bundle.write(record, f".grader-cache/{record.name}")
    return out


DATA = ("data/*.npz",)  # the package's own data (MNIST), beside its source


def grader_files() -> list[Path]:
    """The grader's own source files and data, as shipped (no course data, no caches)."""
    found = [*locations.PACKAGE.rglob("*.py"), *(p for pattern in DATA for p in locations.PACKAGE.glob(pattern))]
    return sorted(p for p in found if "course" not in p.relative_to(locations.PACKAGE).parts)


CONSTRAINTS = "constraints.txt"  # the exact versions of the course's own runs, beside the grader's checkout


def packages() -> list[str]:
    """The grader's packages, as shipped (every folder of it with an `__init__.py`, no course data)."""
    found = [p.parent.relative_to(locations.PACKAGE.parent) for p in locations.PACKAGE.rglob("__init__.py")]
    return sorted(".".join(p.parts) for p in found if "course" not in p.parts and "__pycache__" not in p.parts)


def pyproject(solutions: bool) -> str:
    """The pyproject.toml of a folder made for installing the grader: the Gradescope autograder (`solutions`: its
    reference solutions ship in the wheel) or a student release (visible reference artifacts only)."""
    try:
        requires = [r for r in importlib.metadata.requires("cnn-grader") or [] if "extra ==" not in r]
        version = importlib.metadata.version("cnn-grader")
        python = importlib.metadata.metadata("cnn-grader")["Requires-Python"]
    except importlib.metadata.PackageNotFoundError as exc:
        raise GraderError("the grader is not installed (pip install it first): its dependencies are unknown") from exc
    shipped = packages()
    lines = ["[build-system]", 'requires = ["setuptools>=68"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]", 'name = "cnn-grader"', f"version = {json.dumps(version)}",
             f"requires-python = {json.dumps(python)}", f"dependencies = {json.dumps(requires)}", "",
             "[project.scripts]", 'grade = "grader.cli:entry"', "", "[tool.setuptools]"]
    if solutions:
        lines += [f"packages = {json.dumps([*shipped, 'grader.course.solutions'])}", "",
                  "[tool.setuptools.package-dir]", '"grader.course.solutions" = "solutions"', "",
                  "[tool.setuptools.package-data]", f"grader = {json.dumps(list(DATA))}", "",
                  f"[tool.{locations.MARKER}]", 'solutions = "solutions"', 'cache = ".grader-cache"']
    else:
        lines += [f"packages = {json.dumps(shipped)}", "", "[tool.setuptools.package-data]",
                  f"grader = {json.dumps(['course/artifacts/*.json', *DATA])}"]
    return "\n".join(lines) + "\n"


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)
