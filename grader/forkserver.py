"""A process that imports TensorFlow once and forks a fresh child from that state for each submission.

    python -I -m grader.forkserver FD

Importing TensorFlow costs a child 4 to 6 s of CPU, a third of grading a correct submission; a batch worker grades
student after student. The server imports what the child imports (Keras, TensorFlow, `grader.child`), runs no
TensorFlow operation and never any student code, then waits on its control socket (FD). For each request it forks:
the new process leads its own session, takes the request's standard input, output and result channel, limits,
working folder and environment, enters the jail when asked (the same namespaces and mounts as
`unshare ... python -m grader.jail`, then the unprivileged user) and runs `grader.child`. So every submission
still starts from a process in which no other submission's code ever ran, and sees nothing of another's.

The grader's side (`spawn`) keeps one server per grader process and thread count, and gives the sandbox a handle
that behaves as `subprocess.Popen` does for what it needs (pid, stdin, poll, wait). Where the server cannot start or
answer, `spawn` returns None and the sandbox starts a fresh interpreter as before: it saves time, never decides a
result. `GRADER_NO_FORKSERVER=1` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, BinaryIO

from grader.sandbox import system
from grader.sandbox.system import PR_SET_DUMPABLE, PR_SET_PDEATHSIG, prctl

_MAX_REQUEST = 1 << 20
_START_SECONDS = 180.0  # importing TensorFlow on a slow, busy machine
_HOME_PREFIX = "grade-forkserver-"
_SETUP_FAILED = 70  # a forked process that could not become the child (never the student's doing)


# The server.

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

    from grader import child, jail, measure, notebook  # noqa: F401

    gc.collect()
    gc.freeze()  # the children share these pages: no collection of theirs walks (and copies) them
    control.send(json.dumps({"ready": os.getpid()}).encode())
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control], [], [], 0.05)
        if readable:
            try:
                data, fds, _, _ = socket.recv_fds(control, _MAX_REQUEST, 3)
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
    if home.name.startswith(_HOME_PREFIX):  # the folder the grader made for it, should the grader not remove it
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
    from grader import child

    sys.argv = [child.__file__, str(channel)]  # as `python -m grader.child FD` has it
    if request.get("jail") is not None:
        return _in_namespaces(request["jail"], channel)
    child.main(channel)
    return 0


def _in_namespaces(spec: dict[str, Any], channel: int) -> int:
    """`system.unshare_command()` (new namespaces, a forked first process, its own /proc), then `grader.jail`
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
    from grader import child, jail

    jail.mount("--make-rprivate", "/")
    jail.mount("-t", "proc", "-o", "nosuid,noexec,nodev", "proc", "/proc")
    jail.confine(spec)
    prctl(PR_SET_DUMPABLE, 1)  # a change of user clears it; the exec after the jail's set it again
    child.main(channel)
    return 0


# The grader's side.

class Forked:
    """A child forked by the server, as the sandbox uses a `subprocess.Popen`."""

    def __init__(self, pid: int, stdin: BinaryIO, server: _Server) -> None:
        self.pid = pid
        self.stdin = stdin
        self._server = server

    @property
    def returncode(self) -> int | None:
        code = self._server.exits.get(self.pid)
        if code is None and not self._server.alive:
            return -signal.SIGKILL  # the server died, and its children with it
        return code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int:
        while (code := self.returncode) is None:
            time.sleep(0.01)
        return code


class _Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.owner = os.getpid()
        self.home = Path(tempfile.mkdtemp(prefix=_HOME_PREFIX))
        env = {**env, "HOME": str(self.home), "TMPDIR": str(self.home), "KERAS_HOME": str(self.home / ".keras")}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.log = open(self.home / "server.log", "wb")  # noqa: SIM115  kept open for the server's life
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "grader.forkserver", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
            env=env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
        theirs.close()
        self.alive = True
        self.lock = threading.Lock()  # one request at a time: its reply is the next one
        self.exits: dict[int, int] = {}  # exit code of each child that ended, by pid (written by the reader only)
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._reply(_START_SECONDS)
        if ready is None or "ready" not in ready:
            tail = (self.home / "server.log").read_bytes()[-2000:].decode(errors="replace")
            self.close()
            raise OSError(f"the fork server did not start: {tail.strip() or 'no answer'}")

    def _read(self) -> None:
        while True:
            try:
                data = self.control.recv(_MAX_REQUEST)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "exited" in message:
                self.exits[message["exited"]] = os.waitstatus_to_exitcode(message["status"])
            else:
                self.replies.put(message)
        self.alive = False
        self.replies.put(None)

    def _reply(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def spawn(self, request: dict[str, Any], output: int, channel: int) -> Forked | None:
        with self.lock:
            stdin_read, stdin_write = os.pipe()
            try:
                socket.send_fds(self.control, [json.dumps(request).encode()], [stdin_read, output, channel])
            except OSError:
                self.alive = False
                os.close(stdin_write)
                return None
            finally:
                os.close(stdin_read)
            pid = (self._reply(60.0) or {}).get("pid")
            if not pid:
                os.close(stdin_write)
                return None
            return Forked(pid, os.fdopen(stdin_write, "wb"), self)

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


_servers: dict[str, _Server] = {}
_servers_lock = threading.Lock()
_warned = False


def enabled() -> bool:
    """Whether children are forked from a server: on Linux (prctl, namespaces), unless turned off."""
    return system.LINUX and not os.environ.get("GRADER_NO_FORKSERVER")


def spawn(cwd: Path, env: dict[str, str], rlimits: dict[str, int], jail: dict[str, Any] | None, output: int,
          channel: int) -> Forked | None:
    """A child started by this process's server for `env` (started first if need be), or None where there is no
    server to start it: then the caller starts a fresh interpreter."""
    global _warned
    request = {"cwd": str(cwd), "env": env, "rlimits": rlimits, "jail": jail}
    key = json.dumps({k: v for k, v in env.items() if k not in ("HOME", "TMPDIR", "KERAS_HOME")}, sort_keys=True)
    with _servers_lock:
        server = _servers.get(key)
        if server is not None and (not server.alive or server.process.poll() is not None
                                   or server.owner != os.getpid()):
            if server.owner == os.getpid():
                server.close()
            server = None
        if server is None:
            try:
                server = _servers[key] = _Server(env)
            except (OSError, subprocess.SubprocessError) as exc:
                if not _warned:
                    print(f"grade: {exc}; each child imports TensorFlow itself", file=sys.stderr)
                    _warned = True
                return None
    return server.spawn(request, output, channel)


def close_all() -> None:
    """Stop this process's servers (they also stop when it exits)."""
    with _servers_lock:
        for server in _servers.values():
            if server.owner == os.getpid():
                server.close()
        _servers.clear()


atexit.register(close_all)

if __name__ == "__main__":
    main()
