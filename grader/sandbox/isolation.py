"""The jail: which protections beyond the child's own process tree this machine allows, and how a child enters it.

When the grader runs as root on Linux and the kernel allows it, the child gets its own PID, mount, network and IPC
namespaces and runs as an unprivileged user (`grader.jail`): it cannot see the grader's processes, reach the network
or read the solutions, the reference artifact and the hidden checks, and when it ends the kernel kills everything it
started, even processes that left its session. Elsewhere (not root, macOS, Windows) none of that applies, and
`Isolation.describe` says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import locations
from grader.sandbox import system

CHILD_UID = 65534  # nobody: owns nothing, so can read only what anyone may read

# Every folder anyone may write to gets a private, small tmpfs in the jail (tests/test_hostile.py checks that no
# other one exists on this machine); the scratch folder gets its own, which is the child's disk quota.
PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
_PRIVATE_MB = 64
SCRATCH_MB = 256


@dataclass(frozen=True)
class Isolation:
    """The protections beyond the child's own process tree that this machine allows; decided once per grader
    process."""

    namespaces: bool  # own PID, mount and network namespaces, unprivileged user
    reason: str  # why not, when not
    hidden: tuple[str, ...] = ()  # folders the child cannot read

    def describe(self) -> dict[str, Any]:
        """For the report's `extra_data`: what held for the child on this machine."""
        return {
            "platform": sys.platform,
            "process_group": system.POSIX, "process_tree": True, "scratch_copy": True,
            "scrubbed_environment": True, "time_limit": True, "memory_limit": True, "output_limit": True,
            "process_limit": True, "resource_limits": system.RLIMITS,
            "pid_namespace": self.namespaces, "network_namespace": self.namespaces,
            "mount_namespace": self.namespaces, "unprivileged_user": self.namespaces,
            "hidden_paths": list(self.hidden), **({} if self.namespaces else {"why_not": self.reason}),
        }


_isolation: Isolation | None = None


def isolation() -> Isolation:
    """Which protections this grader process can give its children (probed once)."""
    global _isolation
    if _isolation is None:
        _isolation = _probe()
    return _isolation


def _hidden_paths() -> list[str]:
    return sorted({str(p.resolve()) for p in locations.course().hidden() if p.is_dir()})


def _kept_paths(scratch: Path) -> list[str]:
    """What the child may reach: the interpreter, the installed packages (every site folder on the grader's path,
    also one outside its prefix), the grader and the scratch folder."""
    sites = {Path(p).resolve() for p in sys.path if Path(p).name in ("site-packages", "dist-packages")
             and os.path.isdir(p)}
    paths = {Path(sys.executable).resolve().parent.parent, Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             locations.PACKAGE, scratch.resolve(), *sites}
    return sorted(str(p) for p in paths)


def _probe() -> Isolation:
    if os.environ.get("GRADER_NO_NAMESPACES"):
        return Isolation(False, "turned off by GRADER_NO_NAMESPACES")
    if not system.LINUX:
        return Isolation(False, f"namespaces exist only on Linux (this is {sys.platform})")
    if os.geteuid() != 0:
        return Isolation(False, "the grader does not run as root")
    missing = [tool for tool in ("unshare", "mount") if shutil.which(tool) is None]
    if missing:
        return Isolation(False, f"{', '.join(missing)} not found")
    scratch = Path(tempfile.mkdtemp(prefix="grade-probe-"))
    try:
        os.chown(scratch, CHILD_UID, CHILD_UID)
        hidden = _hidden_paths()
        check = ("import grader.child, os, sys; "
                 f"sys.exit(0 if os.getuid() == {CHILD_UID} and not any(os.access(p, os.R_OK) for p in {hidden!r})"
                 " else 3)")
        command = jailed([sys.executable, "-I", "-c", check], scratch, hidden)
        from grader.sandbox.supervise import environment

        done = subprocess.run(command, cwd=scratch, capture_output=True, timeout=60, env=environment(scratch))
        if done.returncode != 0:
            why = (done.stderr or b"").decode(errors="replace").strip().splitlines()
            return Isolation(False, f"namespaces are not available here ({why[-1] if why else done.returncode})")
        return Isolation(True, "", tuple(hidden))
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"namespaces are not available here ({exc})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def jail_spec(scratch: Path, hidden: list[str], command: list[str] | None = None) -> dict[str, Any]:
    """What `grader.jail` shows the child, and the user it becomes."""
    return {"keep": _kept_paths(scratch), "hide": hidden, "private": list(PRIVATE_FOLDERS),
            "private_mb": _PRIVATE_MB, "scratch": str(scratch.resolve()), "scratch_mb": SCRATCH_MB,
            "uid": CHILD_UID, "command": command}


def jailed(command: list[str], scratch: Path, hidden: list[str]) -> list[str]:
    """`command` run in the jail: new namespaces, then `grader.jail`, which confines it and executes it."""
    return [*system.unshare_command(), sys.executable, "-I", "-m", "grader.jail",
            json.dumps(jail_spec(scratch, hidden, command))]


def give_to_child(scratch: Path) -> None:
    """Make the scratch folder the jailed child's own (it runs as CHILD_UID)."""
    for folder, _, files in os.walk(scratch):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(path, CHILD_UID, CHILD_UID)
