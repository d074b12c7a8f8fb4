"""`grader.runner` fed with a child's messages, without starting one: what it measures, what it refuses, and what
it says of the calls a child never answered. The child here is a script of messages given to the runner exactly as
the supervisor gives them (`on_message`, after `ChildRun.on_receive`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import runner
from grader.contract import Begin, Done, End, Job, Load, Message, ProbeResult, Started
from grader.registry import Rubric
from grader.sandbox.limits import Limits
from grader.sandbox.supervise import ChildRun
from grader.submission import Cell, StudentSource

pytestmark = pytest.mark.quick

RUBRIC = Rubric("demo", functions=("area", "side"))
AREA = RUBRIC.value("area", 3)
SIDE = RUBRIC.value("side", 9)
with RUBRIC.hidden():
    SECRET = RUBRIC.value("area", 11)
SOURCE = StudentSource("demo", Path("demo.py"), (Cell("demo.py", "def area(s): return s * s"),))


def _child(monkeypatch, script, stop_reason: str | None = None) -> list[Job]:
    """Make the next children run `script(job)`: the messages they send, in order; returns the jobs given."""
    jobs: list[Job] = []

    def run_child(job: Job, folder: Path, limits: Limits, on_message=None) -> ChildRun:
        jobs.append(job)
        run = ChildRun(expected=tuple(a.module for a in job.assignments))
        for message in script(job):
            if run.on_receive(message):
                run.messages.append(message)
                on_message(message)
        run.stop_reason = stop_reason
        return run

    monkeypatch.setattr(runner.supervise, "run_child", run_child)
    monkeypatch.setattr(runner, "_import_keras_in_background", lambda: None)
    return jobs


def _answers(job: Job, values: dict[str, object], defined=("area", "side")) -> list[Message]:
    (assignment,) = job.assignments
    messages: list[Message] = [Begin("demo"), Load("demo", None, list(defined))]
    for call in assignment.probes:
        if call.id in values:
            messages += [Started("demo", call.id), ProbeResult("demo", call.id, returned="int", value=values[call.id])]
    return [*messages, End("demo"), Done()]


def test_each_answer_is_measured_and_the_hidden_calls_run_in_a_child_of_their_own(monkeypatch) -> None:
    jobs = _child(monkeypatch, lambda job: _answers(job, {AREA.id: 9, SIDE.id: 3, SECRET.id: 121}))
    run = runner.run_assignments([(RUBRIC, SOURCE)], Path("."), Limits())["demo"]
    assert {p: o.measured for p, o in run.outcomes.items()} == {AREA.id: {"value": 9}, SIDE.id: {"value": 3},
                                                               SECRET.id: {"value": 121}}
    assert run.problem is None and not run.stopped
    visible, hidden = ([c.id for c in job.assignments[0].probes] for job in jobs)
    assert sorted(visible) == sorted([AREA.id, SIDE.id]) and hidden == [SECRET.id]


def test_a_repeated_answer_or_one_to_a_call_of_the_other_phase_is_not_measured(monkeypatch) -> None:
    def script(job: Job) -> list[Message]:
        messages = _answers(job, {AREA.id: 9, SIDE.id: 3, SECRET.id: 121})
        forged = [ProbeResult("demo", AREA.id, value=1000), ProbeResult("demo", SECRET.id, value=-1)]
        return messages[:-2] + forged + messages[-2:]

    _child(monkeypatch, script)
    run = runner.run_assignments([(RUBRIC, SOURCE)], Path("."), Limits())["demo"]
    assert run.outcomes[AREA.id].measured == {"value": 9}  # the first answer, not the repeat
    assert run.outcomes[SECRET.id].measured == {"value": 121}  # the hidden child's own, not the visible one's


def test_a_child_stopped_midway_says_which_calls_it_did_not_answer(monkeypatch) -> None:
    def script(job: Job) -> list[Message]:
        (assignment,) = job.assignments
        first, second = assignment.probes
        return [Begin("demo"), Load("demo", None, ["area", "side"]), Started("demo", first.id),
                ProbeResult("demo", first.id, value=9 if first.id == AREA.id else 3), Started("demo", second.id)]

    jobs = _child(monkeypatch, script, stop_reason="it went past the time limit of 120 s")
    run = runner.run_assignments([(RUBRIC, SOURCE)], Path("."), Limits())["demo"]
    first, second = (c.id for c in jobs[0].assignments[0].probes)
    assert run.stopped and run.outcomes[first].error is None
    assert run.outcomes[second].error == "it went past the time limit of 120 s"  # started, never answered
    assert run.outcomes[SECRET.id].error == "not run: the visible calls did not finish"
    assert len(jobs) == 1  # no hidden child after a visible run that did not finish


def test_a_function_the_file_does_not_define_is_said_so_for_each_of_its_calls(monkeypatch) -> None:
    _child(monkeypatch, lambda job: _answers(job, {AREA.id: 9, SECRET.id: 121}, defined=("area",)))
    run = runner.run_assignments([(RUBRIC, SOURCE)], Path("."), Limits())["demo"]
    assert run.problem == "side is not defined in demo.py"
    assert run.outcomes[SIDE.id].error == "side is not defined in demo.py"
    assert run.outcomes[AREA.id].measured == {"value": 9} and run.outcomes[SECRET.id].measured == {"value": 121}


def test_a_file_that_raises_loads_nothing_and_every_call_says_why(monkeypatch) -> None:
    _child(monkeypatch, lambda job: [Begin("demo"), Load("demo", "NameError: name 'x' is not defined", []),
                                     End("demo"), Done()])
    run = runner.run_assignments([(RUBRIC, SOURCE)], Path("."), Limits())["demo"]
    assert run.problem.startswith("running demo.py raised NameError") and not run.defined
    assert [run.outcomes[p.id].error for p in (AREA, SIDE)] == ["area is not defined in demo.py",
                                                                "side is not defined in demo.py"]
    assert run.outcomes[SECRET.id].error.startswith("not run: running demo.py raised NameError")
