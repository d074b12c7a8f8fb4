"""The step between the grader and the child, run as root inside the child's own namespaces.

    unshare --pid --fork --kill-child --mount --net --ipc --mount-proc -- python -I -m grader.sandbox.jail SPEC

Inside fresh PID, mount, network and IPC namespaces it shows the child an allow-list: the operating system's own
folders, and in every other top-level folder only the interpreter, the installed packages and the grader. It hides
what the student must not read even there (solutions, the cached reference artifact, the hidden checks, the tests
and the repository history) under empty, unreadable tmpfs mounts; gives the child its own small /tmp, /var/tmp,
/dev/shm and /run/lock (every folder anyone may write to); caps System V shared memory in its IPC namespace;
copies the scratch folder into a size-limited tmpfs of its own (what the child writes never reaches the disk, and
goes with the namespace); then becomes an unprivileged user (no groups, no capabilities, no new privileges) and
executes the child. The mounts exist only in the child's namespace: the grader and everything else on the machine
still see the real files. The fork server enters the same namespaces itself and calls `confine`, which is all of
this but the exec.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.sandbox.system import become_user

# The top-level folders the child sees as they are (the operating system's); /tmp and /run/lock become private.
SYSTEM_FOLDERS = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys", "tmp", "run"}


def main() -> None:
    spec = json.loads(sys.argv[1])
    confine(spec)
    command = spec["command"]
    os.execv(command[0], command)


def confine(spec: dict) -> None:
    """Everything but the exec: the mounts, then the unprivileged user (also `grader.sandbox.forkserver`'s way in)."""
    os.umask(0o022)  # the folders made below must be passable by the child's user
    parent = os.getppid()  # what waits for this process: unshare, or the fork server's waiter
    here = os.getcwd()  # in the scratch folder: entered again once its own tmpfs covers it
    uid = spec["uid"]
    scratch = Path(spec["scratch"])
    source = os.open(scratch, os.O_PATH)  # the real scratch folder, reachable once covered
    keep = [Path(p) for p in spec["keep"] if Path(p) != scratch]
    # An allow-list: every top-level folder but the system's own becomes an empty tmpfs holding only what is kept
    # under it (the interpreter, the installed packages, the grader), so other courses' solutions or other
    # students' work elsewhere on the machine are not even there.
    for entry in sorted(Path("/").iterdir()):
        if entry.name not in SYSTEM_FOLDERS and entry.is_dir() and not entry.is_symlink():
            _reveal(entry, [p for p in keep if entry in p.parents], _covering(entry, keep))
    system = [p for p in keep if p.parts[1:2] and p.parts[1] in SYSTEM_FOLDERS]
    for blocked, kept in _blocked_ancestors(system).items():
        _reveal(blocked, kept)
    for folder in map(Path, spec["private"]):  # what it writes there goes with the namespace
        if folder.is_dir():
            _reveal(folder, [p for p in keep if folder in p.parents], f"mode=1777,size={spec['private_mb']}m")
    scratch.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"mode=755,size={spec['scratch_mb']}m", "scratch", str(scratch))
    shutil.copytree(f"/proc/self/fd/{source}", scratch, symlinks=True, dirs_exist_ok=True)
    os.close(source)
    for folder, _, files in os.walk(scratch):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(path, uid, uid)
    for path in spec["hide"]:
        if os.path.isdir(path):  # a hidden folder may lie in a revealed one, which holds only what is kept
            mount("-t", "tmpfs", "-o", "size=4k,mode=000", "hidden", path)
    _cap_ipc()
    os.chdir(here)
    # This process is PID 1 of its namespace, whose end ends everything in it: it must die with what waits for it,
    # even when the grader itself is killed (`become_user` sets the parent-death signal again).
    become_user(uid)
    if os.getppid() != parent:  # the parent died before the signal was set again
        os._exit(1)


# System V shared memory and message queues: the child's IPC namespace is its own, but a detached segment is in no
# process's resident memory, so no memory watch sees it. These limits belong to the namespace alone.
IPC_BYTES = 64 * 2**20


def _cap_ipc() -> None:
    """Cap System V shared memory and message queues in this (new) IPC namespace, before the user changes."""
    page = os.sysconf("SC_PAGE_SIZE")
    limits = {"kernel/shmmax": IPC_BYTES, "kernel/shmall": IPC_BYTES // page, "kernel/shmmni": 16,
              "kernel/msgmni": 16}
    for name, value in limits.items():
        try:
            Path("/proc/sys", name).write_text(str(value))
        except OSError as exc:
            raise SystemExit(f"grader.sandbox.jail: could not cap {name}: {exc}") from None


def _covering(folder: Path, keep: list[Path]) -> str:
    return "mode=755" if any(folder in p.parents for p in keep) else "mode=755,size=4k"


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _traversable(folder: Path) -> bool:
    """Whether any user may pass through `folder` (the x bit for others)."""
    try:
        return bool(folder.stat().st_mode & 0o001)
    except OSError:
        return False


def _blocked_ancestors(kept: list[Path]) -> dict[Path, list[Path]]:
    """For each kept path under a folder that others cannot pass through, that folder (the outermost one)."""
    blocked: dict[Path, list[Path]] = {}
    for path in kept:
        for ancestor in reversed(path.parents):
            if ancestor != Path("/") and not _traversable(ancestor):
                blocked.setdefault(ancestor, []).append(path)
                break
    # A kept path under another kept path is carried along with it.
    return {a: [p for p in ps if not any(q != p and q in p.parents for q in ps)] for a, ps in blocked.items()}


def _reveal(folder: Path, kept: list[Path], options: str = "mode=755") -> None:
    """Cover `folder` (e.g. /root, mode 700, or /tmp) with an empty tmpfs that holds only the `kept` paths
    under it (e.g. the interpreter's prefix, the scratch folder), bind-mounted back from the real tree."""
    handles = [(os.open(path, os.O_PATH), path) for path in kept]  # the real paths, reachable once covered
    mount("-t", "tmpfs", "-o", options, "grader", str(folder))
    for handle, path in handles:
        if os.path.isdir(f"/proc/self/fd/{handle}"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        # The kernel follows /proc/self/fd/N to the real folder; mount(8) must not resolve it to the covered path.
        subprocess.run(["mount", "--no-canonicalize", "--bind", f"/proc/self/fd/{handle}", str(path)], check=True,
                       pass_fds=(handle,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(handle)


if __name__ == "__main__":
    main()
