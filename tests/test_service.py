"""The grading service of a student's shell or kernel (`grader.service`): which commands go to it, that it grades
exactly as `grade` does, hostile code included, that no child it started may ask it anything, and that it ends with
the shell that started it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import pytest

from conftest import FIXTURES, ROOT
from grader import service, settings
from grader.reports import gradescope
from grader.sandbox import isolation


@pytest.mark.quick
@pytest.mark.parametrize(("argv", "switch", "goes"), [
    (["gap.py"], "1", True),
    (["-a", "gap", "gap.py", "--json", "r.json"], "1", True),
    (["--course", "course", "gap.py"], "1", True),
    (["batch", "class", "--out", "o"], "1", False),  # a class: many processes of its own already
    (["validate"], "1", False),
    (["--help"], "1", False),
    ([], "1", False),
    (["gap.py"], "0", False),
    (["gap.py"], None, False),  # no terminal (as in CI, Gradescope, this test): never
])
def test_which_commands_go_to_the_service(monkeypatch, argv, switch, goes) -> None:
    if switch is None:
        monkeypatch.delenv("GRADER_SERVICE", raising=False)
    else:
        monkeypatch.setenv("GRADER_SERVICE", switch)
    assert service.enabled(argv) == goes


@pytest.mark.quick
def test_the_sockets_folder_is_private_or_not_used(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = service._folder()
    assert folder == tmp_path / f"cnn-grader-{os.getuid()}" and stat.S_IMODE(folder.stat().st_mode) == 0o700
    folder.chmod(0o755)  # another user could plant a socket there
    assert service._folder() is None
    folder.rmdir()
    folder.symlink_to(tmp_path)
    assert service._folder() is None


@pytest.mark.quick
def test_a_request_runs_in_the_clients_folder_and_settings_and_leaves_the_service_as_it_was(tmp_path,
                                                                                          monkeypatch) -> None:
    @click.command()
    @click.argument("word")
    def command(word: str) -> None:
        settings.choose(backend="jax")
        click.echo(f"{word} {os.getcwd()} {os.environ.get('GRADER_CACHE')} {os.environ.get('GRADER_SOLUTIONS')}")
        click.echo("to stderr", err=True)
        sys.exit(4)

    monkeypatch.setenv("GRADER_SOLUTIONS", "the service's own")
    here = os.getcwd()
    reply = service._handle(command, {"argv": ["hello"], "cwd": str(tmp_path), "env": {"GRADER_CACHE": "theirs"}})
    assert reply == {"stdout": f"hello {tmp_path} theirs None\n", "stderr": "to stderr\n", "exit_code": 4}
    assert os.getcwd() == here and settings.current().backend == "tensorflow"
    assert os.environ["GRADER_SOLUTIONS"] == "the service's own"
    with pytest.raises(ValueError):
        service._handle(command, {"argv": "hello", "cwd": str(tmp_path)})


def _comparable(path: Path) -> dict:
    return gradescope.without_timings(json.loads(path.read_text()))


def test_one_shells_service_grades_as_grade_does_refuses_its_children_and_ends_with_the_shell(tmp_path,
                                                                                           monkeypatch) -> None:
    """Three checks from one shell: the first starts the service, the next are warm. The hostile one runs without the
    jail and asks the service to write a file of its choosing: as another user (root's fallback) it cannot reach the
    socket; as the same user (a student's machine) it is refused; either way its result is what it earns."""
    runtime = Path(tempfile.mkdtemp(prefix="cnn-grader-test-", dir="/tmp"))  # where the hostile code looks
    owned = Path("/tmp/cnn-grader-owned.json")
    owned.unlink(missing_ok=True)
    files = [ROOT / "solutions" / "gap.py", FIXTURES / "gap" / "gap_flatten_dense.py",
             FIXTURES / "hostile" / "gap_calls_the_service.py"]
    grade = Path(sys.executable).parent / "grade"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "GRADER_NO_NAMESPACES": "1"}
    monkeypatch.setenv("GRADER_NO_NAMESPACES", "1")
    other_user = isolation._probe().unprivileged  # as root, where an unprivileged user can run the grader from here
    script = "".join(f"{grade} {f} -a gap -q --json {tmp_path}/service-{i}.json; echo \"$?\" >> {tmp_path}/codes\n"
                     for i, f in enumerate(files))
    shell = subprocess.Popen(["bash", "-c", script + f"ls {runtime}/cnn-grader-*/ > {tmp_path}/listed"],
                             env={**env, "GRADER_SERVICE": "1"})
    assert shell.wait(timeout=900) == 0
    for i, f in enumerate(files):
        done = subprocess.run([str(grade), str(f), "-a", "gap", "-q", "--json", f"{tmp_path}/alone-{i}.json"],
                              env={**env, "GRADER_SERVICE": "0"}, capture_output=True, text=True, timeout=900)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        assert _comparable(tmp_path / f"service-{i}.json") == _comparable(tmp_path / f"alone-{i}.json"), f.name
    assert (tmp_path / "codes").read_text().split() == ["0", "0", "0"]
    assert f"{shell.pid}.sock" in (tmp_path / "listed").read_text()  # the shell's own service answered
    hostile = json.loads((tmp_path / "service-2.json").read_text())
    assert hostile["score"] == hostile["max_score"]  # the reference's code, and nothing more
    assert not owned.exists()
    logs = list(runtime.glob("cnn-grader-*/*.log"))
    said = logs[0].read_text() if logs else ""
    if other_user:  # the child runs as a user of its own, which cannot even enter the sockets' folder
        assert "refused" not in said, said
    else:  # the same user: it reached the socket, and both connections of each child that ran the file were refused
        assert said.count("refused a request from process") == 4, said
    deadline = time.monotonic() + 10
    while list(runtime.glob("cnn-grader-*/*.sock")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list(runtime.glob("cnn-grader-*/*.sock")), "the service outlived its shell"
    shutil.rmtree(runtime)


@pytest.mark.quick
@pytest.mark.skipif(not hasattr(__import__("socket"), "SO_PEERCRED"), reason="Linux says who connected")
def test_no_process_the_service_started_may_ask_it_anything(tmp_path) -> None:
    """The service's own descendants (the children running students' code) are refused; another process is not."""
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(2)
    connect = f"import socket, time; s = socket.socket(socket.AF_UNIX); s.connect({str(tmp_path / 's.sock')!r}); " \
              "time.sleep(5)"
    descendant = subprocess.Popen([sys.executable, "-c", connect])  # this test's process plays the service
    try:
        connection, _ = listener.accept()
        assert not service._from_outside(connection)
        connection.close()
    finally:
        descendant.kill()
        descendant.wait()
    outsider = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # this very process: not its own descendant
    outsider.connect(str(tmp_path / "s.sock"))
    connection, _ = listener.accept()
    assert service._from_outside(connection)
    for s in (connection, outsider, listener):
        s.close()
