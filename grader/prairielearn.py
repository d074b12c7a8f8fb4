"""PrairieLearn's external grader: `grade prairielearn --out DIR` makes what a course needs.

- `DIR/image/`: the course's grading image, `Dockerfile` and the folder it copies to /cnn-grader: the grader, the
  reference solutions and artifacts, `setup.sh` (the Gradescope one, run once when the image is built) and `run`,
  the entry point.
- `DIR/questions/<assignment>/info.json`: each question's `externalGradingOptions` (the image, the entry point
  `/cnn-grader/run <assignment>`, the timeout it needs), to merge into the course's questions.

For each submission PrairieLearn copies the student's files to /grade/student, runs the entry point in the image
(30 s by default, no network), and reads /grade/results/results.json (`grader.reports.prairielearn`). The grading is
`grade`'s own, with the same protections; students' code never sees /cnn-grader's solutions or artifacts where the
container lets the grader jail it (as root with namespaces), and the report says which protections held.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader import locations, timing
from grader.errors import UsageError
from grader.package import CONSTRAINTS, SETUP, grader_files, pyproject
from grader.reference import artifact_path, reference_measurements
from grader.rubrics import RUBRICS

HOME = "/cnn-grader"

DOCKERFILE = """# The grading image of the course's PrairieLearn questions (`grade prairielearn`): build and push it:
#   docker build -t <your-account>/cnn-grader image/ && docker push <your-account>/cnn-grader
# and name it as the "image" of each question's externalGradingOptions.
FROM debian:bookworm-slim
COPY cnn-grader {home}
RUN GRADER_VENV={home}/venv bash {home}/setup.sh
"""

RUN = """#!/usr/bin/env bash
# PrairieLearn's entry point (a question's externalGradingOptions: "entrypoint": "{home}/run ASSIGNMENT"): grade the
# files in /grade/student for ASSIGNMENT and write /grade/results/results.json. GRADE_ROOT and GRADER_PYTHON exist
# for testing elsewhere.
ROOT="${{GRADE_ROOT:-/grade}}"
HOME_DIR="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${{GRADER_PYTHON:-$HOME_DIR/venv/bin/python}}"
export GRADER_CACHE="$HOME_DIR/.grader-cache" GRADER_SOLUTIONS="$HOME_DIR/solutions"
mkdir -p "$ROOT/results"
cd "$HOME_DIR"
# GRADER_BUDGET: the question's timeout (PrairieLearn's default is 30 s): no time limit grows past a share of it.
"$PYTHON" -m grader "$ROOT/student" -a "$1" --profile {profile} \\
  --budget "${{GRADER_BUDGET:-{budget}}}" --prairielearn "$ROOT/results/results.json" --quiet
status=$?
if [ "$status" -ge 2 ] || [ ! -s "$ROOT/results/results.json" ]; then
  # The grader itself failed: not the student's doing, so no attempt is counted against them.
  message="The autograder could not grade this submission (exit status $status); please tell the course staff."
  printf '{{"gradable": false, "format_errors": ["%s"]}}\\n' "$message" > "$ROOT/results/results.json"
fi
exit 0
"""

# What each assignment needs of PrairieLearn's timeout, measured by benchmarks/prairielearn_image.py in a clean
# Debian root under PrairieLearn's defaults (2 GiB, 0.9 CPU; benchmarks/results/prairielearn-debian12.txt): the
# slowest of the reference and the example's mistakes, with room for a busier grading host. PrairieLearn's own
# default is 30 s and its most is 600 s.
TIMEOUTS = {"convolution": 30, "gap": 60, "classic": 60, "inception": 90, "resnet": 120}
DEFAULT_TIMEOUT = 30


def build(out: Path, assignments: list[str] | None = None, profile: str = "quick", image: str = "cnn-grader"
          ) -> dict[str, Path]:
    """Write the image folder and the questions' settings into `out`; returns where each went."""
    names = assignments or list(RUBRICS)
    unknown = [n for n in names if n not in RUBRICS]
    if unknown:
        raise UsageError(f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(RUBRICS)}")
    course = locations.course()
    if course.solutions is None:
        raise UsageError("grade prairielearn needs the course's reference solutions: run it in the course folder or "
                         "pass --course DIR")
    folder = out / "image" / "cnn-grader"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (out / "image" / "Dockerfile").write_text(DOCKERFILE.format(home=HOME))
    _write(folder / "setup.sh", SETUP, executable=True)
    _write(folder / "run", RUN.format(home=HOME, profile=profile, budget=DEFAULT_TIMEOUT), executable=True)
    _write(folder / "pyproject.toml", pyproject(solutions=True))
    for name in ("README.md", CONSTRAINTS):
        if (locations.PACKAGE.parent / name).is_file():
            shutil.copy(locations.PACKAGE.parent / name, folder / name)
    for path in grader_files():
        target = folder / "grader" / path.relative_to(locations.PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    (folder / "solutions").mkdir()
    (folder / ".grader-cache").mkdir()
    questions = out / "questions"
    for name in names:
        reference_measurements(RUBRICS[name], profile)
        shutil.copy(course.solution(name), folder / "solutions" / f"{name}.py")  # type: ignore[arg-type]
        artifact = artifact_path(RUBRICS[name], profile)
        shutil.copy(artifact, folder / ".grader-cache" / artifact.name)
        record = timing.record_path(artifact)
        if record.is_file():
            shutil.copy(record, folder / ".grader-cache" / record.name)
        options = {"enabled": True, "image": image, "entrypoint": f"{HOME}/run {name}",
                   "timeout": TIMEOUTS.get(name, DEFAULT_TIMEOUT),
                   "environment": {"GRADER_BUDGET": str(TIMEOUTS.get(name, DEFAULT_TIMEOUT))}}
        (questions / name).mkdir(parents=True, exist_ok=True)
        (questions / name / "info.json").write_text(json.dumps({"externalGradingOptions": options}, indent=2) + "\n")
    return {"image": out / "image", "questions": questions}


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.write_text(text)
    if executable:
        path.chmod(0o755)
