"""Supervising a child: start it, hand it its job, collect what it sends back, and end it within its limits.

The child gets its own process tree (on POSIX its own process group and session), a scratch copy of the submission
as working directory, a scrubbed environment, a wall-clock deadline for each assignment it runs, a cap on resident
memory (watched from here, because TensorFlow reserves far more virtual memory than it uses), a cap on the bytes it
may print and on its processes. Whatever happens, every process it started is killed at the end. On Linux the child
is forked from this process's fork server (`grader.sandbox.forkserver`, TensorFlow imported once) or, where there is
none, it is started as a fresh interpreter, as everywhere else. What differs by OS is in `grader.sandbox.system`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import shutil
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

from grader import contract, tree
from grader.contract import Begin, Done, End, Job, Message
from grader.errors import ChildStartError
from grader.sandbox import forked, system
from grader.sandbox.isolation import child_uid, current, environment, give_to_child, jail_spec, jailed
from grader.sandbox.limits import Limits

M = TypeVar("M", bound=Message)
_POLL_SECONDS = 0.05
_MAX_COPIED_FILE_BYTES = 5_000_000
_MAX_COPIED_BYTES = 100_000_000  # the whole copy (the jail's scratch is a tmpfs)
_OUTPUT_LIMIT = "the code printed or wrote more output than allowed, so it was stopped"


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
        if self.exit_code is not None and system.output_limit_signal(self.exit_code):
            return _OUTPUT_LIMIT
        if self.exit_code is not None and (name := system.signal_name(self.exit_code)):
            return f"the process running your code was killed by signal {name}"
        if not self.of_type(Done):
            return f"the process running your code exited early (exit status {self.exit_code})"
        return None


def run_child(job: Job, submission: Path, limits: Limits,
              on_message: Callable[[Message], None] | None = None) -> ChildRun:
    """Run `grader.child` on `job` in a scratch copy of `submission` and wait for it within `limits`.

    `on_message` is called, in this thread, with each message as it arrives.

    A child that ends before it begins the first assignment ran no student code: whatever stopped it (a fork server
    that could not make it, the machine's limits, TensorFlow's import past the deadline on a busy machine) is the
    grader's failure, never the student's. It is tried once more in a fresh interpreter; if that fails too,
    `ChildStartError` (a grader failure: exit 3, `grader_error` in a batch, graded again on the next run).
    """
    tries = []
    for fork in (forked.enabled(), False):
        run = _attempt(job, submission, limits, on_message, fork)
        if run.times:  # it began: what happened from there on is the submission's doing
            return run
        tries.append(f"{'forked' if fork else 'a fresh interpreter'}: {run.failure() or 'it sent nothing'}"
                     + (f" (its output: {run.output.strip()[-300:]})" if run.output.strip() else ""))
    raise ChildStartError("the process that runs the student's code did not start, twice: " + "; ".join(tries))


def _attempt(job: Job, submission: Path, limits: Limits, on_message: Callable[[Message], None] | None,
             fork: bool) -> ChildRun:
    scratch = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        with contextlib.ExitStack() as held:
            uid = held.enter_context(child_uid()) if current().unprivileged else None
            workdir = scratch / "work"
            _copy_submission(submission, workdir)
            (scratch / "tmp").mkdir()
            if uid is not None:
                give_to_child(scratch, uid)
            return _run(job, workdir, scratch, limits, on_message, fork, uid)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_submission(submission: Path, workdir: Path) -> None:
    """Copy the submission's own regular files and folders, as far as `tree.walk` goes and up to
    `_MAX_COPIED_BYTES` in all: never a link (to a file or folder anywhere), a pipe, a device, a hidden name or a
    very large file."""
    workdir.mkdir()
    if not submission.is_dir():
        return
    total = 0
    for path, info, _ in tree.walk(submission, lambda folder: not folder.name.startswith(".")):
        if path.name.startswith("."):
            continue
        target = workdir / path.relative_to(submission)
        if stat.S_ISDIR(info.st_mode):
            target.mkdir()
        elif stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_size <= _MAX_COPIED_FILE_BYTES \
                and total + info.st_size <= _MAX_COPIED_BYTES:
            try:
                _copy_file(path, target)
            except OSError:
                continue
            total += info.st_size


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file, opened without following a link (it may have been swapped for one since it was looked at)."""
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f, open(target, "xb") as out:
        shutil.copyfileobj(f, out)


def _run(job: Job, workdir: Path, scratch: Path, limits: Limits,
         on_message: Callable[[Message], None] | None, fork: bool = True, uid: int | None = None) -> ChildRun:
    """Start the child, give it its job, hand its messages on as they arrive, and end it."""
    read_fd, write_fd = os.pipe()
    output_path = scratch / "output.txt"
    result = ChildRun(expected=tuple(a.module for a in job.assignments))
    start = time.monotonic()
    with open(output_path, "wb") as output:
        process, waiter = _start(workdir, scratch, limits, output, write_fd, fork, uid)
    os.close(write_fd)
    result.assignment_started = start
    reader = _Reader(read_fd, result.on_receive, result.refuse)
    reader.start()
    watchdog = threading.Thread(target=_watch, args=(process, limits, result, waiter, output_path), daemon=True)
    watchdog.start()
    try:
        assert process.stdin is not None
        process.stdin.write(dataclasses.replace(job, timeout=limits.timeout).to_wire())
        process.stdin.close()
    except BrokenPipeError:
        pass
    _hand_on(reader, watchdog, result, on_message, process.pid)
    watchdog.join()
    system.kill_tree(process.pid)
    result.exit_code = process.wait()
    result.elapsed = time.monotonic() - start
    result.channel_problem = reader.problem
    result.output = _tail(output_path, 20_000)
    return result


def _start(workdir: Path, scratch: Path, limits: Limits, output: Any, channel: int, fork: bool, uid: int | None
           ) -> tuple[Any, int | None]:
    """The child's process, forked by the fork server where there is one, else a fresh interpreter (jailed when
    `uid` is given); and the pid of a process of its group that runs no student code, if there is one."""
    rlimits = system.child_rlimits(limits.output_bytes)
    in_jail = uid is not None and current().namespaces
    user = uid if uid is not None and not in_jail else None  # root without namespaces: the user, no jail
    env = environment(scratch, limits.threads)
    process: Any = None
    if fork and forked.enabled():  # a fork of a process that has TensorFlow imported already
        spec = jail_spec(scratch, list(current().hidden), uid) if in_jail else None
        process = forked.spawn(workdir, env, rlimits, spec, output.fileno(), channel, user)
    waiter = process.pid if process is not None and in_jail else None  # outside the jail, running no student code
    if process is None:
        command = [sys.executable, "-I", "-m", "grader.child", system.channel_argument(channel)]
        if in_jail:
            command = jailed(command, scratch, list(current().hidden), uid)
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                                   cwd=workdir, env=env, **system.popen_options(rlimits, channel, user))
    return process, waiter


def _hand_on(reader: _Reader, watchdog: threading.Thread, result: ChildRun,
             on_message: Callable[[Message], None] | None, pid: int) -> None:
    """Hand each message on as it arrives, so that the caller measures while the child still works; until the
    child is done, or gone (then a process outside its group may still hold the pipe: a short grace)."""
    grace_until = None
    while True:
        try:
            message = reader.queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not watchdog.is_alive():
                grace_until = grace_until or time.monotonic() + 2.0
                if time.monotonic() > grace_until:
                    return
            continue
        if message is _END:
            return
        result.messages.append(message)
        if on_message is not None:
            on_message(message)
        if isinstance(message, Done):  # its last result is in: whatever it still does is of no use
            system.kill_tree(pid)
            return


def _watch(process: Any, limits: Limits, result: ChildRun, waiter: int | None, output: Path) -> None:
    """Stop the child and everything it started when it runs out of time (per assignment), memory, processes or
    output (which RLIMIT_FSIZE stops first where there is one). `waiter`: a process of the group that runs no student
    code, whose memory is not the child's (the fork server's waiter)."""
    while process.poll() is None:
        if time.monotonic() - result.assignment_started > limits.timeout:
            result.stop_reason = f"your code was stopped after the time limit of {limits.timeout:g} s"
            break
        try:
            if output.stat().st_size > limits.output_bytes:
                result.stop_reason = _OUTPUT_LIMIT
                break
        except OSError:
            pass
        count, rss = system.usage(process.pid, waiter)
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
    system.kill_tree(process.pid)


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
