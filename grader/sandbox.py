"""Running student code in a child process with limits, and collecting what it sent back.

The child gets its own process group and session, a scratch copy of the submission as working directory, a
scrubbed environment, a wall-clock deadline, a cap on resident memory (watched from here, because TensorFlow
reserves far more virtual memory than it uses) and a cap on the bytes it may print. Whatever happens, every
process of its group is killed at the end.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import protocol

_POLL_SECONDS = 0.05
_MAX_COPIED_FILE_BYTES = 5_000_000
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Limits:
    """What one child may use."""

    timeout: float = 120.0
    memory_mb: int = 3072
    output_bytes: int = 2_000_000


@dataclass
class ChildRun:
    """What a child sent back and how it ended."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    stop_reason: str | None = None  # None when the child finished on its own
    elapsed: float = 0.0
    output: str = ""
    channel_problem: str | None = None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def finished(self) -> bool:
        return self.stop_reason is None and bool(self.of_type("done"))

    def failure(self) -> str | None:
        """Why the child did not finish, in words for the student, or None if it did."""
        if self.stop_reason:
            return self.stop_reason
        if self.channel_problem:
            return f"the grader could not read the results: {self.channel_problem}"
        if self.exit_code is not None and self.exit_code < 0:
            name = signal.Signals(-self.exit_code).name
            if -self.exit_code == signal.SIGXFSZ:
                return "the code printed or wrote more output than allowed, so it was stopped"
            return f"the process running your code was killed by signal {name}"
        if not self.of_type("done"):
            return f"the process running your code exited early (exit status {self.exit_code})"
        return None


def run_child(job: dict[str, Any], submission: Path, limits: Limits,
              on_message: Callable[[dict[str, Any]], None] | None = None) -> ChildRun:
    """Run `grader.child` on `job` in a scratch copy of `submission` and wait for it within `limits`.

    `on_message` is called, in this thread, with each message as it arrives.
    """
    scratch = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        workdir = scratch / "work"
        _copy_submission(submission, workdir)
        (scratch / "tmp").mkdir()
        return _run(job, workdir, scratch, limits, on_message)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_submission(submission: Path, workdir: Path) -> None:
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [
            n for n in names
            if n.startswith(".") or (os.path.isfile(os.path.join(folder, n))
                                     and os.path.getsize(os.path.join(folder, n)) > _MAX_COPIED_FILE_BYTES)
        ]

    if submission.is_dir():
        shutil.copytree(submission, workdir, ignore=ignore, symlinks=True)
    else:
        workdir.mkdir()


def _environment(scratch: Path) -> dict[str, str]:
    return {
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


def _run(job: dict[str, Any], workdir: Path, scratch: Path, limits: Limits,
         on_message: Callable[[dict[str, Any]], None] | None) -> ChildRun:
    read_fd, write_fd = os.pipe()
    output_path = scratch / "output.txt"
    result = ChildRun()

    def set_limits() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    start = time.monotonic()
    with open(output_path, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-I", "-m", "grader.child", str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=_environment(scratch),
            pass_fds=(write_fd,),
            start_new_session=True,
            preexec_fn=set_limits,
        )
    os.close(write_fd)
    reader = _Reader(read_fd)
    reader.start()
    watchdog = threading.Thread(target=_watch, args=(process, limits, start, result), daemon=True)
    watchdog.start()
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps({**job, "timeout": limits.timeout}).encode())
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
    watchdog.join()
    _kill_group(process.pid)
    result.exit_code = process.wait()
    result.elapsed = time.monotonic() - start
    result.channel_problem = reader.problem
    result.output = _tail(output_path, 20_000)
    return result


def _watch(process: subprocess.Popen, limits: Limits, start: float, result: ChildRun) -> None:
    """Stop the child's whole process group when it runs out of time or memory."""
    while process.poll() is None:
        if time.monotonic() - start > limits.timeout:
            result.stop_reason = f"your code was stopped after the time limit of {limits.timeout:g} s"
            break
        rss = _group_rss(process.pid)
        if rss > limits.memory_mb * 1024 * 1024:
            result.stop_reason = (
                f"your code was stopped for using more than {limits.memory_mb:,} MB of memory "
                f"({rss / 2**20:,.0f} MB)"
            )
            break
        time.sleep(_POLL_SECONDS)
    _kill_group(process.pid)


_END: dict[str, Any] = {}


class _Reader(threading.Thread):
    """Drains the result pipe while the child runs, so a large message never blocks it."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.problem: str | None = None

    def run(self) -> None:
        try:
            with os.fdopen(self.fd, "rb") as stream:
                for message in protocol.receive(stream):
                    self.queue.put(message)
        except protocol.ChannelError as exc:
            self.problem = str(exc)
        finally:
            self.queue.put(_END)


def _group_rss(pgid: int) -> int:
    """Resident bytes of every process in the process group `pgid`."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after the name: state, ppid, pgrp, ...
                continue
            with open(f"/proc/{entry}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


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
