"""The jail: which protections beyond the child's own process tree this machine allows, and how a child enters it.

When the grader runs as root on Linux and the kernel allows it, the child gets its own PID, mount, network and IPC
namespaces and runs as an unprivileged user (`grader.sandbox.jail`): it cannot see the grader's processes, reach
the network or read the solutions, the reference artifact and the hidden checks, and when it ends the kernel kills
everything it started, even processes that left its session. Elsewhere (not root, macOS, Windows) none of that
applies, and `Isolation.describe` says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from grader import locations
from grader.sandbox import system

CHILD_UID = 65534  # nobody: owns nothing, so can read only what anyone may read (the probe's user)
# Each jailed child runs as a user of its own, drawn from this range (as systemd's DynamicUser does, far above any
# real user): the kernel counts threads (RLIMIT_NPROC) and keeps keyrings per user, so one student's child that
# holds its whole thread limit, or leaves a key behind, must not reach another's. No passwd entry is needed.
CHILD_UIDS = range(1_700_000_000, 1_700_000_000 + 2**20)
_UID_LOCKS = Path("/run/cnn-grader-uids")  # root's alone: a lock file per user id in use

# Every folder anyone may write to gets a private, small tmpfs in the jail (tests/sandbox/test_hostile.py checks that no
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
    # Root on Linux without namespaces (a container that grants no CAP_SYS_ADMIN): the child still runs as an
    # unprivileged user of its own, and the hidden folders are closed to every user but root (permissions, not mounts)
    user_only: bool = False

    @property
    def unprivileged(self) -> bool:
        """Whether children run as an unprivileged user of their own."""
        return self.namespaces or self.user_only

    def describe(self) -> dict[str, Any]:
        """For the report's `extra_data`: what held for the child on this machine."""
        return {
            "platform": sys.platform,
            "process_group": system.POSIX, "process_tree": True, "scratch_copy": True,
            "scrubbed_environment": True, "time_limit": True, "memory_limit": True, "output_limit": True,
            "process_limit": True, "resource_limits": system.RLIMITS,
            "pid_namespace": self.namespaces, "network_namespace": self.namespaces,
            "mount_namespace": self.namespaces, "unprivileged_user": self.unprivileged,
            "hidden_paths": list(self.hidden), **({} if self.namespaces else {"why_not": self.reason}),
            **({"hidden_by": "permissions"} if self.user_only else {}),
        }


_isolation: Isolation | None = None


def current() -> Isolation:
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
    found = _namespaces()
    if found.namespaces or not (system.LINUX and os.geteuid() == 0):
        return found
    refused = _user_cannot_run()
    if refused:  # as before: the child runs as root, and the report says why
        return dataclasses.replace(found, reason=f"{found.reason}; and an unprivileged user {refused}")
    hidden = _hidden_paths()
    _close(hidden)
    return dataclasses.replace(found, hidden=tuple(hidden), user_only=True)


def _user_cannot_run() -> str | None:
    """Why an unprivileged user cannot start the child from this installation (say, the interpreter or the grader
    in a folder only root may enter, as /root is), or None when it can."""
    scratch = Path(tempfile.mkdtemp(prefix="grade-probe-"))
    try:
        os.chown(scratch, CHILD_UID, CHILD_UID)
        done = subprocess.run([sys.executable, "-I", "-c", "import grader.child"], cwd=scratch, capture_output=True,
                              timeout=60, env=environment(scratch), preexec_fn=lambda: system.become_user(CHILD_UID))
        if done.returncode == 0:
            return None
        why = (done.stderr or b"").decode(errors="replace").strip().splitlines()
        return f"cannot run the grader from here ({why[-1] if why else done.returncode})"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run the grader from here ({exc})"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _close(paths: list[str]) -> None:
    """Take every permission of group and others off the hidden folders root owns: a child running as another user
    cannot enter them (what root runs, the grader, still can)."""
    for path in paths:
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            if info.st_uid == 0 and stat.S_ISDIR(info.st_mode):
                os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def _namespaces() -> Isolation:
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
        command = jailed([sys.executable, "-I", "-c", check], scratch, hidden, CHILD_UID)
        done = subprocess.run(command, cwd=scratch, capture_output=True, timeout=60, env=environment(scratch))
        if done.returncode != 0:
            why = (done.stderr or b"").decode(errors="replace").strip().splitlines()
            return Isolation(False, f"namespaces are not available here ({why[-1] if why else done.returncode})")
        return Isolation(True, "", tuple(hidden))
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"namespaces are not available here ({exc})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def environment(scratch: Path, threads: int | None = None) -> dict[str, str]:
    """The child's whole environment: nothing of the grader's."""
    pools = {} if threads is None else {"OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
                                        "TF_NUM_INTEROP_THREADS": str(max(threads // 2, 1))}
    return {
        **pools,
        **system.environment(str(scratch)),
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "KERAS_HOME": str(scratch / ".keras"),
        "LANG": "C.UTF-8",
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "CUDA_VISIBLE_DEVICES": "-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def jail_spec(scratch: Path, hidden: list[str], uid: int, command: list[str] | None = None) -> dict[str, Any]:
    """What `grader.sandbox.jail` shows the child, and the user it becomes."""
    return {"keep": _kept_paths(scratch), "hide": hidden, "private": list(PRIVATE_FOLDERS),
            "private_mb": _PRIVATE_MB, "scratch": str(scratch.resolve()), "scratch_mb": SCRATCH_MB,
            "uid": uid, "command": command}


def jailed(command: list[str], scratch: Path, hidden: list[str], uid: int) -> list[str]:
    """`command` run in the jail as `uid`: new namespaces, then `grader.sandbox.jail`, which confines it and executes
    it."""
    return [*system.unshare_command(), sys.executable, "-I", "-m", "grader.sandbox.jail",
            json.dumps(jail_spec(scratch, hidden, uid, command))]


def give_to_child(scratch: Path, uid: int) -> None:
    """Make the scratch folder the jailed child's own (it runs as `uid`)."""
    for folder, _, files in os.walk(scratch):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(path, uid, uid)


@contextlib.contextmanager
def child_uid() -> Iterator[int]:
    """A user id for one jailed child that no other child on this machine has while it runs: drawn at random from
    CHILD_UIDS (so a later child almost never gets it again), held by a lock file while in use (so that no grader
    process, of this batch or another, hands it out at the same time) and never one a process still runs as."""
    import fcntl

    _UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    running = {p.info["uids"].real for p in psutil.process_iter(["uids"]) if p.info.get("uids")}
    draw = random.SystemRandom()
    for _ in range(100):
        uid = draw.choice(CHILD_UIDS)
        if uid in running:
            continue
        lock = _UID_LOCKS / f"{uid}.lock"
        fd = os.open(lock, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
            os.close(fd)
        return
    raise OSError("no free user id for the child in CHILD_UIDS")
