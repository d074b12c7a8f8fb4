"""What the operating system offers the sandbox: one place for each mechanism, and what stands in where it is missing.

- Linux: resource limits (`resource`), `prctl`, namespaces (`unshare`), a fork server, process groups, and the PID
  namespace of a jailed child in the process accounting.
- macOS and other POSIX systems: resource limits (clamped to the system's hard limits), process groups and sessions;
  no namespaces, no fork server.
- Windows: none of those. The child is a new process group; its process tree is followed with psutil, and the time
  limit, the memory watch, the output cap and the process count are kept by the watchdog.

Everywhere, the child's processes are found and measured with psutil: the process itself, its descendants, on POSIX
every process of its process group, and on Linux every process of its own PID namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

import psutil

LINUX = sys.platform == "linux"
POSIX = os.name == "posix"
WINDOWS = os.name == "nt"

try:
    import resource
except ImportError:  # Windows (or a Python built without it): the watchdog keeps the limits it can
    resource = None  # type: ignore[assignment]
RLIMITS = resource is not None

# The child's resource limits, by `resource` name. RLIMIT_NPROC is per user and counts threads, of which TensorFlow
# starts many; root is exempt, the jail's user is not.
_RLIMIT_NPROC = 4096

# The namespaces a jailed child gets: unshare(2) flags, and the same as unshare(1) options.
NAMESPACES = {"pid": 0x20000000, "mount": 0x00020000, "net": 0x40000000, "ipc": 0x08000000}
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38


def child_rlimits(output_bytes: int) -> dict[str, int]:
    """The resource limits of a child, by name (none where the OS has no `resource` module)."""
    if not RLIMITS:
        return {}
    return {"RLIMIT_FSIZE": output_bytes, "RLIMIT_CORE": 0, "RLIMIT_NPROC": _RLIMIT_NPROC}


def apply_rlimits(limits: dict[str, int]) -> None:
    """Set each limit, soft and hard, in this process (a child before it runs student code). A limit above the
    system's hard limit (macOS's process cap) is lowered to it: an unprivileged process may not raise it."""
    for name, value in limits.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard and os.geteuid() != 0:
            value = hard
        resource.setrlimit(which, (value, value))


def prctl(option: int, value: int) -> None:
    """prctl(2) with one argument (Linux); OSError on failure."""
    if ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def give_back_free_memory() -> None:
    """Return the heap's free pages to the system (glibc's malloc_trim; nothing elsewhere). TensorFlow frees what a
    model used, but the allocator keeps it: a measurer that rebuilt thirty models held 290 MB, 50 to 150 with this."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


M_MMAP_THRESHOLD = -3  # mallopt(3)


def frugal_heap(mmap_threshold: int = 4 << 20) -> None:
    """Allocate each block over `mmap_threshold` bytes by mmap, so that it goes back to the system when freed (glibc;
    nothing elsewhere). TensorFlow's feature maps are such blocks; glibc's default, which raises the threshold as
    they are freed and then keeps them, held a training run of the Inception harness at 480 MB against 160 (and cost
    a third of its speed less)."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, mmap_threshold)


def unshare() -> None:
    """Enter new namespaces of every kind in NAMESPACES (Linux, as root)."""
    flags = 0
    for flag in NAMESPACES.values():
        flags |= flag
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")


def unshare_command() -> list[str]:
    """unshare(1) for the same namespaces, a forked first process that takes the rest with it, and its own /proc."""
    return ["unshare", *(f"--{name}" for name in NAMESPACES), "--fork", "--kill-child", "--mount-proc", "--"]


def become_user(uid: int) -> None:
    """From root to the unprivileged user `uid` (Linux): no groups, every capability gone, no new privileges; the
    parent-death signal, which the change clears, set again. The one change of user: the jail's and the fallback's
    where there are no namespaces."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError:
        raise SystemExit("grader.sandbox: could not set no_new_privs") from None
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def popen_options(rlimits: dict[str, int], channel: int, user: int | None = None) -> dict[str, Any]:
    """What `subprocess.Popen` needs for a child of its own process group that inherits the result channel `channel`
    (a file descriptor here): on POSIX its own session and limits, on Windows a new process group and the channel's
    handle (see `channel_argument`)."""
    if WINDOWS:
        import msvcrt

        handle = msvcrt.get_osfhandle(channel)
        os.set_handle_inheritable(handle, True)
        info = subprocess.STARTUPINFO()
        info.lpAttributeList = {"handle_list": [handle]}
        return {"startupinfo": info, "close_fds": True,
                "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    def prepare() -> None:
        apply_rlimits(rlimits)
        if LINUX:  # dies with the grader's thread that started it (the jail sets it again after its change of user)
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if user is not None:  # root without namespaces: an unprivileged user all the same
            become_user(user)

    return {"pass_fds": (channel,), "start_new_session": True, "preexec_fn": prepare}


def channel_argument(channel: int) -> str:
    """How the child names the channel on its command line: the descriptor, or on Windows the inherited handle."""
    if WINDOWS:
        import msvcrt

        return str(msvcrt.get_osfhandle(channel))
    return str(channel)


def open_channel(argument: str) -> int:
    """In the child: the file descriptor of the channel named by `channel_argument`."""
    if WINDOWS:
        import msvcrt

        return msvcrt.open_osfhandle(int(argument), os.O_WRONLY)
    return int(argument)


def environment(scratch: str) -> dict[str, str]:
    """The variables a child needs to start at all on this OS, pointed at its scratch folder."""
    if WINDOWS:
        return {"SYSTEMROOT": os.environ.get("SYSTEMROOT", r"C:\Windows"), "USERPROFILE": scratch,
                "TEMP": os.path.join(scratch, "tmp"), "TMP": os.path.join(scratch, "tmp"),
                "PATH": os.environ.get("PATH", "")}
    return {"PATH": "/usr/local/bin:/usr/bin:/bin"}


# Process accounting.

def _pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def members(root: int) -> list[psutil.Process]:
    """The processes of the child `root`: itself and its descendants; on POSIX every process of its process group
    (`root` leads it); on Linux every process of a PID namespace of its own (a process that left the group by a new
    session, or whose parent died, still counts)."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        top = psutil.Process(root)
        found[root] = top
        for process in top.children(recursive=True):
            found[process.pid] = process
    if POSIX:
        own = _pid_namespace("self") if LINUX else None
        candidates = []
        for process in psutil.process_iter():
            try:
                group = os.getpgid(process.pid)
            except OSError:
                continue
            candidates.append((process, group, _pid_namespace(process.pid) if LINUX else None))
        namespaces = {ns for p, group, ns in candidates if (group == root or p.pid in found) and ns not in (own, None)}
        for process, group, ns in candidates:
            if group == root or (ns is not None and ns in namespaces):
                found.setdefault(process.pid, process)
    return list(found.values())


def usage(root: int, waiter: int | None = None) -> tuple[int, int]:
    """How many processes the child `root` has, and their resident bytes (but `waiter`'s, a process of the group
    that runs no student code)."""
    count = total = 0
    pids = set()
    for process in members(root):
        count += 1
        pids.add(process.pid)
        if process.pid == waiter:
            continue
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return count, total + shared_memory(pids)


def shared_memory(pids: set[int]) -> int:
    """Bytes of System V shared memory that `pids` created and that no resident count shows once detached (Linux;
    a jailed child's own IPC namespace is capped in `grader.sandbox.jail` instead, and is not seen from here)."""
    try:
        with open("/proc/sysvipc/shm") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return 0
    total = 0
    for row in rows:  # key shmid perms size cpid lpid ...
        fields = row.split()
        if len(fields) > 4 and fields[4].isdigit() and int(fields[4]) in pids:
            total += int(fields[3])
    return total


def kill_tree(root: int) -> None:
    """Kill the child `root` and every process it has (found first: once it is gone, its descendants have another
    parent)."""
    found = members(root)
    if POSIX:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGKILL)
    for process in found:
        with contextlib.suppress(psutil.Error, OSError):
            process.kill()


def signal_name(exit_code: int) -> str | None:
    """The name of the signal that killed a child with this exit code (negative on POSIX), if one did."""
    if POSIX and exit_code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-exit_code).name
        return f"signal {-exit_code}"
    return None


def output_limit_signal(exit_code: int) -> bool:
    """Whether the child was killed for writing past RLIMIT_FSIZE."""
    return POSIX and exit_code == -signal.SIGXFSZ


def peak_rss_mb() -> int:
    """The most resident memory this process has used, in MB."""
    if resource is None:
        info = psutil.Process().memory_info()
        return round(getattr(info, "peak_wset", info.rss) / 2**20)  # Windows keeps the peak; elsewhere: now
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024)  # bytes on macOS, KB elsewhere
