"""A grading service that lives as long as the shell or the notebook kernel that started it, so that a student's
second check does not pay for TensorFlow's import, the fork server's start and the reference's rebuilds again.

    grade gap.py          # from a terminal: the first call starts this shell's service, the next ones use it
    check("gap")          # in a notebook: the kernel's service

`grade PATH...` from a terminal (standard input a TTY) and `check()` in a notebook send their command line to the
service of their parent process (the shell, the kernel) over a Unix socket in a folder only this user can enter; the
service runs it exactly as `grade` would (`grader.cli.main`, in its working folder, with its `GRADER_*` settings)
and sends back what it printed and its exit status. Every submission still runs in a fresh child forked from the
service's fork server: no student's code runs in the service, and no child sees another's state; what the service
keeps is the grader's own (TensorFlow imported, the reference's figures, the measurements of configurations it
rebuilt itself).

The service ends when its parent process ends, or after `IDLE_SECONDS` without a request. Anything that goes wrong
on the way (no Unix sockets, as on Windows; a folder another user owns; a service that does not answer) leaves the
command to run in its own process, as without a service. `GRADER_SERVICE=0` turns it off; `GRADER_SERVICE=1` turns
it on without a terminal (the notebook's `check`). CI, Gradescope and `grade batch` never use it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

IDLE_SECONDS = 30 * 60
_START_SECONDS = 180.0  # importing TensorFlow on a slow, busy machine
_MAX_REQUEST = 1 << 20
_REQUEST_SECONDS = 10.0
_HEADER = struct.Struct(">I")
# What of the client's environment the command reads (where the course is, caches, the sandbox's switches).
_PASSED = ("GRADER_", "XDG_CACHE_HOME")


def enabled(argv: list[str]) -> bool:
    """Whether this command line goes to the service: a plain `grade PATH...`, from a terminal or a notebook."""
    wanted = os.environ.get("GRADER_SERVICE")
    if wanted == "0" or not hasattr(socket, "AF_UNIX") or os.name != "posix":
        return False
    if wanted != "1" and not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    from grader.cli import main

    words = [a for a in argv if not a.startswith("-")]
    asks = {"--help", "-h", "--version"} & set(argv)
    return bool(words) and words[0] not in main.commands and not asks


def run(argv: list[str]) -> int | None:
    """Run `grade argv` in this shell's service and print what it printed; its exit status, or None where the
    service cannot run it (then the caller runs it here)."""
    if not enabled(argv):
        return None
    folder = _folder()
    if folder is None:
        return None
    owner = os.getppid()
    path = folder / f"{owner}.sock"
    request = {"argv": argv, "cwd": os.getcwd(), "color": sys.stdout.isatty(),
               "env": {k: v for k, v in os.environ.items() if k.startswith(_PASSED)}}
    try:
        with _connect(path, owner) as connection:
            _send(connection, request)
            reply = _receive(connection)
    except (OSError, ValueError):
        return None
    if not isinstance(reply, dict) or not isinstance(reply.get("exit_code"), int):
        return None
    import click

    # as `grade` itself prints (Click: the terminal's encoding, its colours), whatever a student's text holds
    click.echo(str(reply.get("stdout", "")), nl=False)
    click.echo(str(reply.get("stderr", "")), nl=False, err=True)
    return reply["exit_code"]


def _folder() -> Path | None:
    """This user's folder for the services' sockets: made private, and refused if anyone else could enter it."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = base / f"cnn-grader-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    try:
        info = folder.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if private else None


@contextlib.contextmanager
def _connect(path: Path, owner: int):
    """A connection to the service at `path`, started first if there is none."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a service that ended without removing it
            _start(path, owner)
            connection.connect(str(path))
        yield connection
    finally:
        connection.close()


def _start(path: Path, owner: int) -> None:
    """Start the service for `owner` and wait until it listens at `path`."""
    log = open(path.with_suffix(".log"), "ab")  # noqa: SIM115  the service's own output, for a bug report
    subprocess.Popen([sys.executable, "-m", "grader.service", str(owner), str(path)], stdin=subprocess.DEVNULL,
                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=path.parent)
    log.close()
    deadline = time.monotonic() + 10
    while not path.exists():  # it binds before it imports anything heavy
        if time.monotonic() > deadline:
            raise OSError("the grading service did not start")
        time.sleep(0.02)


def _send(connection: socket.socket, data: Any) -> None:
    body = json.dumps(data).encode()
    connection.sendall(_HEADER.pack(len(body)) + body)


def _receive(connection: socket.socket, limit: int | None = None) -> Any:
    header = _read(connection, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if limit is not None and size > limit:
        raise ValueError(f"a request of {size} bytes")
    return json.loads(_read(connection, size))


def _read(connection: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = connection.recv(min(left, 1 << 16))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# The service.

def serve(owner: int, path: Path) -> None:
    """Listen at `path` until `owner` ends or nobody asks for `IDLE_SECONDS`, running one command at a time."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))  # a second service for the same owner fails here, and leaves
    except OSError:
        return
    try:
        os.chmod(path, 0o600)
        listener.listen(8)
        listener.settimeout(1.0)
        from grader import cli  # TensorFlow is imported by the first request, beside its child's (grader.runner)

        last = time.monotonic()
        while _alive(owner) and time.monotonic() - last < IDLE_SECONDS:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                if not _from_outside(connection):
                    continue
                try:
                    connection.settimeout(_REQUEST_SECONDS)  # a client that connects and says nothing waits no one
                    request = _receive(connection, _MAX_REQUEST)
                    connection.settimeout(None)
                    _send(connection, _handle(cli.main, request))
                except (OSError, ValueError):
                    pass
            last = time.monotonic()
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        listener.close()
        log = path.with_suffix(".log")
        with contextlib.suppress(OSError):
            if not log.stat().st_size:
                log.unlink()


def _from_outside(connection: socket.socket) -> bool:
    """Whether the client is a process this service did not start: a child running a student's code (on a machine
    without the jail, it runs as the same user and could reach the socket) may never ask the service for anything.
    Linux says who connected (SO_PEERCRED); elsewhere the folder's permissions are the one guard."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    import psutil

    pid, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    try:
        ancestors = {p.pid for p in psutil.Process(pid).parents()}
    except psutil.Error:  # gone already: no client waits for an answer
        ancestors = None
    if ancestors is None or uid != os.getuid() or os.getpid() in ancestors:
        print(f"refused a request from process {pid}: " + ("gone before it was read" if ancestors is None else
              "not this user's" if uid != os.getuid() else "a process this service started"), flush=True)
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != 1  # the owner gone, the service was given to init


def _handle(command: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run one command line as `grade` would in the client's folder and environment: what it printed, its status."""
    from click.testing import CliRunner

    from grader import settings

    argv, cwd, env = request["argv"], request["cwd"], request.get("env", {})
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and isinstance(cwd, str)):
        raise ValueError("a malformed request")
    mine = {k: None for k in os.environ if k.startswith(_PASSED) and k not in env}  # the client's, not the service's
    here = os.getcwd()
    try:
        os.chdir(cwd)
        result = CliRunner().invoke(command, argv, env={**mine, **env}, color=bool(request.get("color")))
    finally:
        os.chdir(here)
        settings.use(None)
    stdout, stderr = result.stdout, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        buffer = io.StringIO()
        import traceback

        traceback.print_exception(result.exception, file=buffer)
        stderr += buffer.getvalue()
    return {"stdout": stdout, "stderr": stderr, "exit_code": result.exit_code}


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
