"""Where students work (Colab, macOS, Windows, Python 3.13): what the package admits, and the sandbox's path without
the Linux-only mechanisms. The real platforms are proven by `make compat`, the pip resolutions recorded in
benchmarks/results/ and the student workflow's matrix; these are the cheap parts."""

from __future__ import annotations

import email
import json
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import FIXTURES, ROOT, graded

COLAB = {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3"}  # Colab's runtime, 2026-12
OLDEST = {"tensorflow": "2.19.0", "keras": "3.10.0", "numpy": "1.26.4"}  # about a year before


def _wheel_metadata(tmp_path) -> email.message.Message:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("cnn_grader-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_the_wheel_admits_python_3_11_to_3_13_pins_nothing_and_keeps_colabs_set(tmp_path) -> None:
    metadata = _wheel_metadata(tmp_path)
    python = SpecifierSet(metadata["Requires-Python"])
    assert all(v in python for v in ("3.11.0", "3.12.1", "3.13.0")) and "3.10.12" not in python
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    for requirement in requirements:
        assert not any(s.operator in ("==", "===") for s in requirement.specifier), requirement
        assert any(s.operator in (">=", "~=") for s in requirement.specifier), f"no lower bound: {requirement}"
    base = {r.name: r for r in requirements if r.marker is None}
    # The distribution Colab has, with wheels for macOS and Windows too: never a second TensorFlow beside it.
    assert "tensorflow" in base and not any(n.startswith("tensorflow-") for n in base)
    for packages in (COLAB, OLDEST):
        for name, version in packages.items():
            assert version in base[name].specifier, (name, version)
    # The course's own runs install exact versions that the ranges admit.
    pins = _constraints()
    for name, requirement in base.items():
        assert name in pins, f"constraints.txt does not pin {name}"
        assert pins[name] in requirement.specifier, (name, pins[name], str(requirement.specifier))


@pytest.mark.quick
def test_every_package_of_the_grader_is_shipped() -> None:
    from grader.package import packages

    with open(ROOT / "pyproject.toml", "rb") as f:
        listed = tomllib.load(f)["tool"]["setuptools"]["packages"]
    assert sorted(listed) == sorted([*packages(), "grader.course.solutions"])
    assert "grader.sandbox" in listed


# The grader with `resource` unimportable (as on Windows), no fork server and no jail: psutil is imported first
# (on Linux it needs `resource` itself), then `resource` is taken away from everything the grader imports.
_WITHOUT_RESOURCE = """
import sys
import psutil
del sys.modules["resource"]

class NoResource:
    def find_spec(self, name, path=None, target=None):
        if name == "resource":
            raise ImportError("No module named 'resource' (as on Windows)")

sys.meta_path.insert(0, NoResource())
from grader.cli import main
sys.argv = ["grade", *sys.argv[1:]]
main()
"""


def test_the_student_path_grades_without_resource_and_without_the_fork_server(tmp_path) -> None:
    sources = {"reference": ROOT / "solutions" / "convolution.py",
               "mistakes": FIXTURES / "convolution" / "convolution_mistakes.py"}
    env = {"GRADER_NO_FORKSERVER": "1", "GRADER_NO_NAMESPACES": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for label, source in sources.items():
        out = tmp_path / f"{label}.json"
        done = subprocess.run([sys.executable, "-c", _WITHOUT_RESOURCE, str(source), "-a", "convolution", "-q",
                               "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        found = json.loads(out.read_text())
        expected = graded(source, "convolution")
        assert [(t["name"], t["status"], t["score"]) for t in found["tests"]] == \
            [(c.name, c.status, c.score) for c in expected.checks]
        protections = found["extra_data"]["protections"]
        assert protections["resource_limits"] is False and protections["time_limit"] and protections["memory_limit"]
        assert found["extra_data"]["grader_peak_mb"] > 100
    assert json.loads((tmp_path / "reference.json").read_text())["score"] == 17


@pytest.mark.quick
def test_a_limit_above_the_systems_hard_limit_is_lowered_to_it(monkeypatch) -> None:
    """macOS caps processes per user well below Linux's 4,096: an unprivileged grader may not raise it."""
    from grader.sandbox import system

    resource = system.resource
    hard = {resource.RLIMIT_NPROC: 2666, resource.RLIMIT_FSIZE: resource.RLIM_INFINITY,
            resource.RLIMIT_CORE: resource.RLIM_INFINITY}
    set_to = {}
    monkeypatch.setattr(resource, "getrlimit", lambda which: (hard[which], hard[which]))
    monkeypatch.setattr(resource, "setrlimit", lambda which, values: set_to.__setitem__(which, values))
    monkeypatch.setattr(system.os, "geteuid", lambda: 501)
    system.apply_rlimits(system.child_rlimits(2_000_000))
    assert set_to == {resource.RLIMIT_NPROC: (2666, 2666), resource.RLIMIT_FSIZE: (2_000_000, 2_000_000),
                      resource.RLIMIT_CORE: (0, 0)}


_SPAWNS_A_DAEMON = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
time.sleep(60)
"""


def test_the_childs_processes_are_found_and_ended_even_in_a_session_of_their_own() -> None:
    """Without the jail's PID namespace (macOS, Windows, not root): its descendants, by psutil."""
    import time

    import psutil

    from grader.sandbox import system

    process = subprocess.Popen([sys.executable, "-c", _SPAWNS_A_DAEMON], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(system.members(process.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        found = system.members(process.pid)
        assert len(found) == 3  # itself, the one in its group, the one in a session of its own
        count, resident = system.usage(process.pid)
        assert count == 3 and resident > 3 * 5 * 2**20
        assert system.usage(process.pid, waiter=process.pid)[1] < resident
        system.kill_tree(process.pid)
        process.wait(timeout=10)
        still_alive = psutil.wait_procs(found, timeout=10)[1]
        assert still_alive == []
    finally:
        process.kill()
