"""`grade release`: what goes to students and what goes to the autograder.

- `student/`: the stubs and notebooks, and the grader with the visible checks only: its rubric modules lose
  every `with RUBRIC.hidden():` block (hidden probes and checks, mutants), and its reference artifact holds
  only the visible probes' expected values. No solutions, no hidden arguments.
- `autograder/` and `autograder.zip`: everything Gradescope needs (see grader/package.py).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import sys
import zipfile
from pathlib import Path

from grader import locations
from grader.build import outputs
from grader.errors import GraderError, UsageError
from grader.package import CONSTRAINTS, grader_files, gradescope_zip, pyproject
from grader.reference import reference_measurements, release_artifact_name
from grader.rubrics import RUBRICS

STUDENT_README = """# {course} assignments

Fill in the functions of each file in `assignments/` (the `.py` file or the notebook), then check your work.

On your own machine (Linux, macOS or Windows; Python 3.11 to 3.13):

```bash
python3 -m venv .venv && .venv/bin/pip install .      # Windows: py -m venv .venv; .venv\\Scripts\\pip install .
.venv/bin/grade assignments/gap.py                    # or your notebook: grade assignments/gap.ipynb
```

`pip install -c constraints.txt .` instead installs the exact versions the course's autograder uses.

In Colab or any environment that has TensorFlow already: `pip install .` (in Colab, `!pip install .` from this
folder), which keeps the TensorFlow, Keras and NumPy you have. In a notebook, the last cell checks your work:

```python
from grader import check

check("gap")
```

The installed `grade` carries its reference figures: it works from any folder.

This grader runs the visible checks; the course's autograder adds hidden checks with other arguments.
"""


def release(out: Path, profile: str = "quick", course: str = "CNN architectures") -> dict[str, Path]:
    """Write `out/student/`, `out/autograder/` and `out/autograder.zip`."""
    solutions = locations.course().solutions
    if solutions is None:
        raise UsageError("grade release needs the course's reference solutions: run it in the course folder or pass "
                         "--course DIR")
    student = out / "student"
    if student.exists():
        shutil.rmtree(student)
    (student / "assignments").mkdir(parents=True)
    for name, content in outputs(solutions).items():
        (student / "assignments" / name).write_text(content)
    _student_grader(student, profile)
    (student / "pyproject.toml").write_text(pyproject(solutions=False))
    if (locations.PACKAGE.parent / CONSTRAINTS).is_file():
        shutil.copy(locations.PACKAGE.parent / CONSTRAINTS, student / CONSTRAINTS)
    (student / "README.md").write_text(STUDENT_README.format(course=course))

    archive = gradescope_zip(out / "autograder.zip", None, profile)
    autograder = out / "autograder"
    if autograder.exists():
        shutil.rmtree(autograder)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(autograder)
    return {"student": student, "autograder": autograder, "zip": archive}


def _student_grader(student: Path, profile: str) -> None:
    package = student / "grader"
    for path in grader_files():
        target = package / path.relative_to(locations.PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    artifacts = package / "course" / "artifacts"  # package data of the student's wheel
    artifacts.mkdir(parents=True)
    for name, rubric in RUBRICS.items():
        path = package / "rubrics" / f"{name}.py"
        path.write_text(visible_source(path.read_text()))
        visible = _probe_ids(path, name)
        measured = reference_measurements(rubric, profile)
        kept = {probe: values for probe, values in measured.items() if probe in visible}
        missing = visible - set(kept)
        if missing:
            raise GraderError(f"{name}: the visible rubric has probes the artifact lacks: {sorted(missing)}")
        (artifacts / release_artifact_name(rubric, profile)).write_text(json.dumps(kept, indent=1, sort_keys=True))


def visible_source(source: str) -> str:
    """A rubric module's source without its hidden part: every top-level `with RUBRIC.hidden():` block
    (`grader.registry.Rubric.hidden`), whole."""
    lines = source.splitlines(keepends=True)
    dropped: set[int] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.With) and any(_hides(item.context_expr) for item in node.items):
            dropped.update(range(node.lineno - 1, node.end_lineno or node.lineno))
    return "".join(line for number, line in enumerate(lines) if number not in dropped)


def _hides(expression: ast.expr) -> bool:
    return (isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute)
            and expression.func.attr == "hidden" and not expression.args)


def _probe_ids(path: Path, name: str) -> set[str]:
    """The probe ids of a rubric module as released (imported under another name, to read its probes)."""
    spec = importlib.util.spec_from_file_location(f"_released_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return set(module.RUBRIC.probes)
