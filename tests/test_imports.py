"""Every module of the grader imports on its own, first: no import cycle hides behind an import order; and the
arrows between the rooms of ARCHITECTURE.md point one way, down."""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys

import pytest

from conftest import ROOT

_EACH_ON_ITS_OWN = """
import importlib, pathlib, sys
root = pathlib.Path(sys.argv[1])
names = sorted(".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for p in (root / "grader").rglob("*.py") if "course" not in p.parts)
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names), "modules")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_on_its_own() -> None:
    done = subprocess.run([sys.executable, "-c", _EACH_ON_ITS_OWN, str(ROOT)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert int(done.stdout.split()[0]) > 30


# The rooms of ARCHITECTURE.md, from the bottom: a module may import its own room and the rooms below, never above.
ROOMS = [
    ("foundations", ["grader", "grader.errors", "grader.contract", "grader.results", "grader.settings",
                     "grader.margins", "grader.timing", "grader.tree", "grader.quiet", "grader.harness",
                     "grader.sandbox", "grader.sandbox.limits", "grader.sandbox.system"]),
    ("analysis", ["grader.analysis", "grader.analysis.*"]),
    ("course and code", ["grader.locations", "grader.submission", "grader.datasets", "grader.measure",
                         "grader.child", "grader.notebook"]),
    ("rubrics and reports", ["grader.registry", "grader.rubrics", "grader.rubrics.*", "grader.causes",
                             "grader.reports", "grader.reports.*"]),
    ("sandbox", ["grader.sandbox.*"]),
    ("training", ["grader.convergence"]),
    ("grading", ["grader.runner", "grader.measurer", "grader.reference", "grader.grading"]),
    ("commands", ["grader.cli", "grader.__main__", "grader.batch", "grader.validate", "grader.release",
                  "grader.package", "grader.build", "grader.similarity", "grader.service",
                  "grader.prairielearn"]),
]
# The one arrow up, and why: `from grader import check` is what a student's notebook calls.
ALLOWED = {("grader", "grader.notebook")}


def _room(name: str) -> int:
    for number, (_, patterns) in enumerate(ROOMS):
        if name in patterns:
            return number
    for number, (_, patterns) in enumerate(ROOMS):
        if any(fnmatch.fnmatch(name, p) for p in patterns if "*" in p):
            return number
    raise AssertionError(f"{name} is in no room of ARCHITECTURE.md: add it to ROOMS and to the drawing")


def _imports() -> list[tuple[str, str]]:
    """(module, grader module it imports) for every import of the package, in functions too."""
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (ROOT / "grader").rglob("*.py") if "course" not in p.parts}
    found = []
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "grader":
                found += [(name, f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module)
                          for a in node.names]
            elif isinstance(node, ast.Import):
                found += [(name, a.name) for a in node.names if a.name.split(".")[0] == "grader"]
    return [(a, b) for a, b in found if a != b]


@pytest.mark.quick
def test_the_arrows_between_the_rooms_point_down() -> None:
    imports = _imports()
    up = [(a, b) for a, b in imports if _room(b) > _room(a) and (a, b) not in ALLOWED]
    assert not up, "\n".join(f"{a} ({ROOMS[_room(a)][0]}) imports {b} ({ROOMS[_room(b)][0]})" for a, b in up)
    rubrics = ("grader.registry", "grader.rubrics", "grader.causes")
    across = [(a, b) for a, b in imports if a.startswith(rubrics) != b.startswith(rubrics)
              and _room(a) == _room(b) == 3]
    assert not across, f"rubrics and reports are siblings, and neither imports the other: {across}"
    drawing = (ROOT / "ARCHITECTURE.md").read_text()
    assert [name for name, _ in ROOMS if f"**{name}**" not in drawing] == [], "a room the drawing lacks"
