"""The fork server: a process that imports TensorFlow once and forks a fresh child from that state for each submission.

    python -I -m grader.sandbox.forkserver FD

Importing TensorFlow costs a child 4 to 6 s of CPU, a third of grading a correct submission; a batch worker grades
student after student. The server imports what the child imports (Keras, TensorFlow, `grader.child`), runs no
TensorFlow operation and never any student code, then waits on its control socket (FD). For each request it forks:
the new process leads its own session, takes the request's standard input, output and result channel, limits,
working folder and environment, enters the jail when asked (the same namespaces and mounts as
`unshare ... python -m grader.sandbox.jail`, then the unprivileged user) and runs `grader.child`. So every
submission still starts from a process in which no other submission's code ever ran, and sees nothing of another's.

The same server forks, when asked, the grader's measurer (`grader.measurer`): where memory is short, the grader
imports no TensorFlow of its own and rebuilds and measures each child's models in such a fork, after the child ended.

The grader's side, which starts servers and asks them for children, is `grader.sandbox.forked`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from grader.sandbox import system
from grader.sandbox.system import PR_SET_DUMPABLE, PR_SET_PDEATHSIG, prctl

MAX_REQUEST = 1 << 20
HOME_PREFIX = "grade-forkserver-"
_SETUP_FAILED = 70  # a forked process that could not become the child (never the student's doing)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    # Code of the grader's own user (no jail) may not read this process's memory or trace it: it is the start of
    # every later submission's child. Each forked process is made dumpable again.
    prctl(PR_SET_DUMPABLE, 0)
    # TensorFlow's import leaves two idle threads; a fork copies only the calling one, and the child runs no
    # TensorFlow operation before its own pools start (Python 3.12 warns of the first).
    warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork")
    import gc

    from grader.quiet import import_tensorflow

    import_tensorflow()  # what grader.child imports, in the order it does

    from grader.sandbox import jail  # noqa: F401

    gc.collect()
    gc.freeze()  # the children share these pages: no collection of theirs walks (and copies) them
    control.send(json.dumps({"ready": os.getpid()}).encode())
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control], [], [], 0.05)
        if readable:
            try:
                data, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 3)
            except OSError:
                data, fds = b"", []
            if not data:  # the grader is gone: so are the children (they die with this process)
                break
            pid = _fork(json.loads(data), fds, control)
            for fd in fds:
                os.close(fd)
            if pid:
                children.add(pid)
            control.send(json.dumps({"pid": pid}).encode())
        _reap(control, children)
    for pid in children:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    home = Path(os.environ.get("HOME", ""))
    if home.name.startswith(HOME_PREFIX):  # the folder the grader made for it, should the grader not remove it
        shutil.rmtree(home, ignore_errors=True)


def _reap(control: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        with contextlib.suppress(OSError):
            control.send(json.dumps({"exited": pid, "status": status}).encode())


def _fork(request: dict[str, Any], fds: list[int], control: socket.socket) -> int:
    """Fork the child of one request; returns its pid once it leads its own session (0 if it could not start)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = _SETUP_FAILED
        try:
            control.close()
            code = _become_child(request, *fds)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    # Answer only once the child leads its own session, so that the grader can kill its whole group at once.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.getpgid(pid) == pid:
                break
        except ProcessLookupError:
            break
        time.sleep(0.0002)
    return pid


def _become_child(request: dict[str, Any], stdin: int, output: int, channel: int) -> int:
    """In the forked process: what `subprocess.Popen` and the jail did for a fresh interpreter, then the child."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the server's end is this process's end
    prctl(PR_SET_DUMPABLE, 1)
    os.setsid()
    os.dup2(stdin, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(stdin)
    os.close(output)
    system.apply_rlimits(request["rlimits"])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("role") == "measurer":  # the grader's own rebuilds, after a child: no student code runs there
        # Named, not imported here: the measurer belongs to the grading, above the sandbox.
        measurer = importlib.import_module("grader.measurer")
        sys.argv = [measurer.__file__, str(channel)]
        measurer.main(channel)
        return 0
    from grader import child

    sys.argv = [child.__file__, str(channel)]  # as `python -m grader.child FD` has it
    if request.get("jail") is not None:
        return _in_namespaces(request["jail"], channel)
    if request.get("user") is not None:  # root without namespaces: an unprivileged user all the same
        system.become_user(request["user"])
        prctl(PR_SET_DUMPABLE, 1)
    child.main(channel)
    return 0


def _in_namespaces(spec: dict[str, Any], channel: int) -> int:
    """`system.unshare_command()` (new namespaces, a forked first process, its own /proc), then `grader.sandbox.jail`
    without its exec."""
    system.unshare()
    pid = os.fork()
    if pid:  # waits for the namespace's first process and ends as it ended
        os.close(channel)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
            os.kill(os.getpid(), os.WTERMSIG(status))
        return os.waitstatus_to_exitcode(status)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    from grader import child
    from grader.sandbox import jail

    jail.mount("--make-rprivate", "/")
    jail.mount("-t", "proc", "-o", "nosuid,noexec,nodev", "proc", "/proc")
    jail.confine(spec)
    prctl(PR_SET_DUMPABLE, 1)  # a change of user clears it; the exec after the jail's set it again
    child.main(channel)
    return 0


if __name__ == "__main__":
    main()
