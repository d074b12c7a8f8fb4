"""The grader's side of the fork server (`grader.sandbox.forkserver`): one server per grader process and thread
count, and a handle on each child it forks that behaves as `subprocess.Popen` does for what the sandbox needs (pid,
stdin, poll, wait).

Where the server cannot start or answer, `spawn` returns None and the sandbox starts a fresh interpreter as before: it
saves time, never decides a result. `GRADER_NO_FORKSERVER=1` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from grader.sandbox import system
from grader.sandbox.forkserver import HOME_PREFIX, MAX_REQUEST
from grader.sandbox.system import PR_SET_PDEATHSIG, prctl

_START_SECONDS = 180.0  # importing TensorFlow on a slow, busy machine

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
        self.home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
        env = {**env, "HOME": str(self.home), "TMPDIR": str(self.home), "KERAS_HOME": str(self.home / ".keras")}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.log = open(self.home / "server.log", "wb")  # noqa: SIM115  kept open for the server's life
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "grader.sandbox.forkserver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
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
                data = self.control.recv(MAX_REQUEST)
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
_latest: _Server | None = None  # the server that forked this process's latest child


def enabled() -> bool:
    """Whether children are forked from a server: on Linux (prctl, namespaces), unless turned off."""
    return system.LINUX and not os.environ.get("GRADER_NO_FORKSERVER")


def spawn(cwd: Path, env: dict[str, str], rlimits: dict[str, int], jail: dict[str, Any] | None, output: int,
          channel: int, user: int | None = None) -> Forked | None:
    """A child started by this process's server for `env` (started first if need be), or None where there is no
    server to start it: then the caller starts a fresh interpreter."""
    global _warned, _latest
    request = {"cwd": str(cwd), "env": env, "rlimits": rlimits, "jail": jail, "user": user}
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
        _latest = server
    return server.spawn(request, output, channel)


def spawn_measurer(cwd: Path, env: dict[str, str], output: int, channel: int) -> Forked | None:
    """A process forked by the server of this process's latest child that runs `grader.measurer` (the grader's own
    code, as the grader's user, no jail, with `env`); None where there is no live server (then the caller measures
    in its own process)."""
    with _servers_lock:
        server = _latest
    if server is None or not server.alive or server.process.poll() is not None or server.owner != os.getpid():
        return None
    request = {"cwd": str(cwd), "env": env, "rlimits": {}, "jail": None, "user": None, "role": "measurer"}
    return server.spawn(request, output, channel)


def close_all() -> None:
    """Stop this process's servers (they also stop when it exits)."""
    global _latest
    with _servers_lock:
        for server in _servers.values():
            if server.owner == os.getpid():
                server.close()
        _servers.clear()
        _latest = None


atexit.register(close_all)
