"""Every module of the grader imports on its own, first: no import cycle hides behind an import order."""

from __future__ import annotations

import subprocess
import sys

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
