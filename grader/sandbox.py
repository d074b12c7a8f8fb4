"""Running student code in a child process with limits, and collecting what it sent back.

The child gets its own process group and session, a scratch copy of the submission as working directory, a
scrubbed environment, a wall-clock deadline for each assignment it runs, a cap on resident memory (watched from
here, because TensorFlow reserves far more virtual memory than it uses) and a cap on the bytes it may print.
Whatever happens, every process of its group is killed at the end. The child is forked from this process's fork
server (`grader.forkserver`, TensorFlow imported once) or, where there is none, started as a fresh interpreter.

When the grader runs as root and the kernel allows it, the child also gets its own PID, mount and network
namespaces and runs as an unprivileged user (`grader.jail`): it cannot see the grader's processes, reach the
network or read the solutions, the reference artifact and the hidden checks, and when it ends the kernel kills
everything it started, even processes that left its session. `isolation()` says which protections apply.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from grader import contract, forkserver, locations
from grader.contract import Begin, Done, End, Job, Message

M = TypeVar("M", bound=Message)
_POLL_SECONDS = 0.05
_MAX_COPIED_FILE_BYTES = 5_000_000
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Isolation:
    """The protections beyond the process group that this machine allows; decided once per grader process."""

    namespaces: bool  # own PID, mount and network namespaces, unprivileged user
    reason: str  # why not, when not
    hidden: tuple[str, ...] = ()  # folders the child cannot read

    def describe(self) -> dict[str, Any]:
        """For the report's `extra_data`."""
        return {
            "process_group": True, "scratch_copy": True, "scrubbed_environment": True,
            "time_limit": True, "memory_limit": True, "output_limit": True, "process_limit": True,
            "pid_namespace": self.namespaces, "network_namespace": self.namespaces,
            "mount_namespace": self.namespaces, "unprivileged_user": self.namespaces,
            "hidden_paths": list(self.hidden), **({} if self.namespaces else {"why_not": self.reason}),
        }


_isolation: Isolation | None = None


def isolation() -> Isolation:
    """Which protections this grader process can give its children (probed once)."""
    global _isolation
    if _isolation is None:
        _isolation = _probe_isolation()
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


def _probe_isolation() -> Isolation:
    if os.environ.get("GRADER_NO_NAMESPACES"):
        return Isolation(False, "turned off by GRADER_NO_NAMESPACES")
    if os.geteuid() != 0:
        return Isolation(False, "the grader does not run as root")
    missing = [tool for tool in ("unshare", "mount") if shutil.which(tool) is None]
    if missing:
        return Isolation(False, f"{', '.join(missing)} not found")
    scratch = Path(tempfile.mkdtemp(prefix="grade-probe-"))
    try:
        os.chown(scratch, _CHILD_UID, _CHILD_UID)
        hidden = _hidden_paths()
        check = ("import grader.child, os, sys; "
                 f"sys.exit(0 if os.getuid() == {_CHILD_UID} and not any(os.access(p, os.R_OK) for p in {hidden!r})"
                 " else 3)")
        command = _jailed([sys.executable, "-I", "-c", check], scratch, hidden)
        done = subprocess.run(command, cwd=scratch, capture_output=True, timeout=60, env=_environment(scratch))
        if done.returncode != 0:
            why = (done.stderr or b"").decode(errors="replace").strip().splitlines()
            return Isolation(False, f"namespaces are not available here ({why[-1] if why else done.returncode})")
        return Isolation(True, "", tuple(hidden))
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"namespaces are not available here ({exc})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_CHILD_UID = 65534  # nobody: owns nothing, so can read only what anyone may read


# Every folder anyone may write to gets a private, small tmpfs in the jail (tests/test_hostile.py checks that no
# other one exists on this machine); the scratch folder gets its own, which is the child's disk quota.
PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
_PRIVATE_MB = 64
SCRATCH_MB = 256


def _jail_spec(scratch: Path, hidden: list[str], command: list[str] | None = None) -> dict[str, Any]:
    """What `grader.jail` shows the child, and the user it becomes."""
    return {"keep": _kept_paths(scratch), "hide": hidden, "private": list(PRIVATE_FOLDERS),
            "private_mb": _PRIVATE_MB, "scratch": str(scratch.resolve()), "scratch_mb": SCRATCH_MB,
            "uid": _CHILD_UID, "command": command}


def _jailed(command: list[str], scratch: Path, hidden: list[str]) -> list[str]:
    return ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "--mount-proc", "--",
            sys.executable, "-I", "-m", "grader.jail", json.dumps(_jail_spec(scratch, hidden, command))]


@dataclass(frozen=True)
class Limits:
    """What one child may use."""

    timeout: float = 120.0
    # Whether the timeout is a floor that follows the machine (grader.timing: the reference's own time, scaled by
    # how much slower this machine is); the command line's default. An explicit --timeout is taken as given.
    follow_machine: bool = False
    memory_mb: int = 3072
    output_bytes: int = 2_000_000
    processes: int = 64  # processes at once (the kernel's cap, RLIMIT_NPROC, counts threads: see set_limits)
    threads: int | None = None  # TensorFlow's thread pools in the child; None: one thread per core


@dataclass
class ChildRun:
    """What a child sent back and how it ended."""

    messages: list[Message] = field(default_factory=list)
    exit_code: int | None = None
    stop_reason: str | None = None  # None when the child finished on its own
    elapsed: float = 0.0
    output: str = ""
    channel_problem: str | None = None
    assignment: str | None = None  # the assignment the child is on, from its last "begin" message
    assignment_started: float = 0.0  # when it began it (time.monotonic): the deadline counts from there
    peak_bytes: dict[str | None, int] = field(default_factory=dict)  # resident memory at most, per assignment
    times: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # per assignment: began, ended
    resident_bytes: int = 0  # at the last sample
    expected: tuple[str, ...] = ()  # the job's assignments, in the order the child runs them

    rejected: list[tuple[str | None, str]] = field(default_factory=list)  # refused: the assignment it was on, why

    def refuse(self, reason: str) -> None:
        self.rejected.append((self.assignment, reason))

    def on_receive(self, message: Message) -> bool:
        """Called as each message arrives, before the caller sees it: keeps the deadline per assignment, and says
        whether the message is taken.

        Only the next assignment of the job can begin, once: code that forges "begin" messages on the channel
        cannot put its deadline off more than once per assignment. A message about another assignment than the one
        the child is on is refused: one assignment's code cannot speak for another's."""
        name = getattr(message, "assignment", None)
        if isinstance(message, Begin):
            if len(self.times) < len(self.expected) and name == self.expected[len(self.times)]:
                self.assignment, self.assignment_started = name, time.monotonic()
                self.times[name] = (self.assignment_started, None)
                self.peak_bytes[name] = self.resident_bytes  # what it holds already, if it ends before a sample
                return True
            self.refuse(f"a 'begin' for {name!r} out of turn")
            return False
        if name is not None and name != self.assignment:
            self.refuse(f"a {message.kind!r} message for {name!r} while the child was on {self.assignment!r}")
            return False
        if isinstance(message, End):
            self.times[name] = (self.times[name][0], time.monotonic())
        return True

    def of_type(self, kind: type[M]) -> list[M]:
        return [m for m in self.messages if isinstance(m, kind)]

    @property
    def finished(self) -> bool:
        return self.stop_reason is None and bool(self.of_type(Done))

    def failure(self) -> str | None:
        """Why the child did not finish, in words for the student, or None if it did."""
        if self.stop_reason:
            return self.stop_reason
        if self.of_type(Done):  # finished: it was killed only because nothing more was needed of it
            return None
        if self.channel_problem:
            return f"the grader could not read the results: {self.channel_problem}"
        if self.exit_code is not None and self.exit_code < 0:
            name = signal.Signals(-self.exit_code).name
            if -self.exit_code == signal.SIGXFSZ:
                return "the code printed or wrote more output than allowed, so it was stopped"
            return f"the process running your code was killed by signal {name}"
        if not self.of_type(Done):
            return f"the process running your code exited early (exit status {self.exit_code})"
        return None


def run_child(job: Job, submission: Path, limits: Limits,
              on_message: Callable[[Message], None] | None = None) -> ChildRun:
    """Run `grader.child` on `job` in a scratch copy of `submission` and wait for it within `limits`.

    `on_message` is called, in this thread, with each message as it arrives.
    """
    scratch = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        workdir = scratch / "work"
        _copy_submission(submission, workdir)
        (scratch / "tmp").mkdir()
        if isolation().namespaces:
            for folder, _, files in os.walk(scratch):
                for path in [folder, *(os.path.join(folder, f) for f in files)]:
                    os.lchown(path, _CHILD_UID, _CHILD_UID)
        return _run(job, workdir, scratch, limits, on_message)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_submission(submission: Path, workdir: Path) -> None:
    """Copy the submission's own regular files and folders: never a link (to a file or folder anywhere), a pipe,
    a device, a hidden name or a very large file."""
    def ignore(folder: str, names: list[str]) -> list[str]:
        left_out = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                left_out.append(name)
                continue
            regular = stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_size <= _MAX_COPIED_FILE_BYTES
            if name.startswith(".") or not (regular or stat.S_ISDIR(info.st_mode)):
                left_out.append(name)
        return left_out

    if submission.is_dir():
        shutil.copytree(submission, workdir, ignore=ignore, symlinks=True)
    else:
        workdir.mkdir()


def _environment(scratch: Path, threads: int | None = None) -> dict[str, str]:
    pools = {} if threads is None else {"OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
                                        "TF_NUM_INTEROP_THREADS": str(max(threads // 2, 1))}
    return {
        **pools,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
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


def _run(job: Job, workdir: Path, scratch: Path, limits: Limits,
         on_message: Callable[[Message], None] | None) -> ChildRun:
    read_fd, write_fd = os.pipe()
    output_path = scratch / "output.txt"
    result = ChildRun(expected=tuple(a.module for a in job.assignments))

    # RLIMIT_NPROC is per user and counts threads, of which TensorFlow starts many; root is exempt, the jail's user
    # is not.
    rlimits = {"RLIMIT_FSIZE": limits.output_bytes, "RLIMIT_CORE": 0, "RLIMIT_NPROC": 4096}

    def set_limits() -> None:
        for name, value in rlimits.items():
            resource.setrlimit(getattr(resource, name), (value, value))

    jailed = isolation().namespaces
    env = _environment(scratch, limits.threads)
    start = time.monotonic()
    with open(output_path, "wb") as output:
        process: Any = None
        if forkserver.enabled():  # a fork of a process that has TensorFlow imported already
            spec = _jail_spec(scratch, list(isolation().hidden)) if jailed else None
            process = forkserver.spawn(workdir, env, rlimits, spec, output.fileno(), write_fd)
        waiter = process.pid if process is not None and jailed else None  # outside the jail, running no student code
        if process is None:
            command = [sys.executable, "-I", "-m", "grader.child", str(write_fd)]
            if jailed:
                command = _jailed(command, scratch, list(isolation().hidden))
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                pass_fds=(write_fd,),
                start_new_session=True,
                preexec_fn=set_limits,
            )
    os.close(write_fd)
    result.assignment_started = start
    reader = _Reader(read_fd, result.on_receive, result.refuse)
    reader.start()
    watchdog = threading.Thread(target=_watch, args=(process, limits, result, waiter), daemon=True)
    watchdog.start()
    try:
        assert process.stdin is not None
        process.stdin.write(dataclasses.replace(job, timeout=limits.timeout).to_wire())
        process.stdin.close()
    except BrokenPipeError:
        pass

    # Hand each message on as it arrives, so that the caller measures while the child still works.
    grace_until = None
    while True:
        try:
            message = reader.queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not watchdog.is_alive():  # the child is gone; a process outside its group may hold the pipe
                grace_until = grace_until or time.monotonic() + 2.0
                if time.monotonic() > grace_until:
                    break
            continue
        if message is _END:
            break
        result.messages.append(message)
        if on_message is not None:
            on_message(message)
        if isinstance(message, Done):  # its last result is in: whatever it still does is of no use
            _kill_group(process.pid)
            break
    watchdog.join()
    _kill_group(process.pid)
    result.exit_code = process.wait()
    result.elapsed = time.monotonic() - start
    result.channel_problem = reader.problem
    result.output = _tail(output_path, 20_000)
    return result


def _watch(process: Any, limits: Limits, result: ChildRun, waiter: int | None = None) -> None:
    """Stop the child's whole process group when it runs out of time (per assignment) or memory. `waiter`: a
    process of the group that runs no student code, whose memory is not the child's (the fork server's waiter)."""
    while process.poll() is None:
        if time.monotonic() - result.assignment_started > limits.timeout:
            result.stop_reason = f"your code was stopped after the time limit of {limits.timeout:g} s"
            break
        count, rss = _group_usage(process.pid, waiter)
        result.resident_bytes = rss
        result.peak_bytes[result.assignment] = max(rss, result.peak_bytes.get(result.assignment, 0))
        if count > limits.processes:
            result.stop_reason = (f"your code was stopped for starting more than {limits.processes} processes "
                                  f"({count})")
            break
        if rss > limits.memory_mb * 1024 * 1024:
            where = f" in {count} processes" if count > 1 else ""
            result.stop_reason = (
                f"your code was stopped for using more than {limits.memory_mb:,} MB of memory "
                f"({rss / 2**20:,.0f} MB{where})"
            )
            break
        time.sleep(_POLL_SECONDS)
    _kill_group(process.pid)


_END = object()


class _Reader(threading.Thread):
    """Drains the result pipe while the child runs, so a large message never blocks it."""

    def __init__(self, fd: int, on_receive: Callable[[Message], bool], on_reject: Callable[[str], None]) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.on_receive = on_receive
        self.queue: queue.Queue[Any] = queue.Queue()
        self.problem: str | None = None
        self.receipt = contract.Receipt(on_reject=on_reject)

    def run(self) -> None:
        try:
            with os.fdopen(self.fd, "rb") as stream:
                for message in contract.receive(stream, receipt=self.receipt):
                    if self.on_receive(message):
                        self.queue.put(message)
        except contract.ContractError as exc:
            self.problem = str(exc)
        finally:
            self.queue.put(_END)


def _group_usage(pgid: int, waiter: int | None = None) -> tuple[int, int]:
    """How many processes, and how many resident bytes (but `waiter`'s), in the process group `pgid` and in the PID
    namespace of its processes if they have their own (a process that left the group by a new session still
    counts)."""
    processes = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            processes.append((_process_group(entry), _pid_namespace(entry), entry))
    own = _pid_namespace("self")
    namespaces = {ns for group, ns, _ in processes if group == pgid and ns not in (own, None)}
    count = total = 0
    for group, ns, entry in processes:
        if group == pgid or ns in namespaces:
            count += 1
            if entry == str(waiter):
                continue
            try:
                with open(f"/proc/{entry}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * _PAGE
            except (OSError, IndexError, ValueError):
                continue
    return count, total


def _process_group(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[2])  # after the name: state, ppid, pgrp
    except (OSError, IndexError, ValueError):
        return None


def _pid_namespace(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, limit: int) -> str:
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(size - limit, 0))
        return f.read().decode("utf-8", errors="replace")


def stuck_at(output: str, labels: set[str]) -> list[str]:
    """The student's frames in a faulthandler dump: where the code was when it ran out of time."""
    frames = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith('File "'):
            name = line[6:].split('"', 1)[0]
            if name in labels:
                frames.append(line.replace('File "', "", 1).replace('"', "", 1))
    return frames
