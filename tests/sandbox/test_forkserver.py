"""The fork server: each submission's child is a fresh fork of a process that imported TensorFlow and ran no student
code. Results are those of a fresh interpreter, nothing passes from one student to the next, and a server that is
gone or cannot start costs time, never a result."""

from __future__ import annotations

import shutil
import signal

import pytest

from conftest import FIXTURES, ROOT
from grader.grading import grade_submission
from grader.reference import reference_measurements
from grader.rubrics import RUBRICS
from grader.sandbox import forked as client
from grader.sandbox import isolation

# Correct code that looks for what an earlier student's child could have left in this one, leaves the same itself,
# and reports what it found by failing to load.
SNOOP = """
import os, stat
import keras

def _sockets():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(fd)).st_mode):
                found.append(fd)
        except OSError:
            pass
    return found

_PLACES = ("/tmp/left-by-another", os.path.expanduser("~/left-by-another")) if JAILED else ()
_LEFT = {"module": getattr(keras, "left_by_another", None), "files": [p for p in _PLACES if os.path.exists(p)],
         "sockets": _sockets()}
if any(_LEFT.values()):
    raise RuntimeError(f"found {_LEFT}")
keras.left_by_another = os.getpid()
for _path in _PLACES:
    try:
        open(_path, "w").write("x")
    except OSError:
        pass
"""


@pytest.fixture
def solved(tmp_path):
    reference_measurements(RUBRICS["convolution"])
    folder = tmp_path / "student"
    folder.mkdir()
    shutil.copy(ROOT / "solutions" / "convolution.py", folder / "convolution.py")
    return folder


def _comparable(result) -> list:
    return [(a.name, a.checks) for a in result.assignments]  # a check's data (plots, figures) is not compared


def test_children_forked_by_the_server_grade_as_fresh_interpreters_do(tmp_path, monkeypatch) -> None:
    reference_measurements(RUBRICS["convolution"])
    students = {"solved": ROOT / "solutions" / "convolution.py",
                "mistaken": FIXTURES / "convolution" / "convolution_mistakes.py",
                "buggy": FIXTURES / "convolution" / "convolution_bugs.py"}
    forked, fresh = {}, {}
    for name, source in students.items():
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / "convolution.py")
        forked[name] = _comparable(grade_submission(tmp_path / name, ["convolution"]))
    assert client._servers, "no fork server was started"
    monkeypatch.setenv("GRADER_NO_FORKSERVER", "1")
    for name in students:
        fresh[name] = _comparable(grade_submission(tmp_path / name, ["convolution"]))
    assert forked == fresh
    scores = {name: sum(c.score for c in forked[name][0][1]) for name in students}
    assert scores["solved"] == 17 and scores["mistaken"] < 17 and scores["buggy"] < 17


def test_nothing_of_one_students_child_reaches_the_next(solved) -> None:
    source = (solved / "convolution.py").read_text()
    jailed = f"JAILED = {isolation.current().namespaces}\n"  # else /tmp is the machine's: not the server's to keep
    (solved / "convolution.py").write_text(source.replace("from __future__ import annotations\n", "") + jailed + SNOOP)
    for _ in range(2):  # the second child would find what the first left, if anything passed
        result = grade_submission(solved, ["convolution"]).assignments[0]
        assert result.score == result.max_score, result.checks[0].output


def test_a_server_that_dies_is_started_again_and_costs_no_result(solved) -> None:
    assert grade_submission(solved, ["convolution"]).assignments[0].score == 17
    (server,) = [s for s in client._servers.values() if s.alive]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    assert grade_submission(solved, ["convolution"]).assignments[0].score == 17
    assert [s for s in client._servers.values() if s.alive and s is not server]


def test_without_a_server_each_child_imports_tensorflow_itself(solved, monkeypatch, capsys) -> None:
    client.close_all()

    def broken(env):
        raise OSError("the fork server did not start: no answer")

    monkeypatch.setattr(client, "_Server", broken)
    monkeypatch.setattr(client, "_warned", False)
    assert grade_submission(solved, ["convolution"]).assignments[0].score == 17
    assert "each child imports TensorFlow itself" in capsys.readouterr().err
