"""`ChildRun`: what the supervisor takes of a child's messages, and how it says why a child did not finish, without
starting one."""

from __future__ import annotations

import signal

import pytest

from grader.contract import Begin, Done, End, Load, Started
from grader.sandbox.supervise import ChildRun

pytestmark = pytest.mark.quick


def _run(*assignments: str) -> ChildRun:
    return ChildRun(expected=assignments)


def test_only_the_next_assignment_of_the_job_begins_once() -> None:
    run = _run("gap", "resnet")
    assert not run.on_receive(Begin("resnet"))  # out of turn
    assert run.on_receive(Begin("gap"))
    assert not run.on_receive(Begin("gap"))  # a forged second begin cannot put the deadline off
    assert run.assignment == "gap" and list(run.times) == ["gap"]
    assert run.on_receive(Load("gap", None, ["gap_head"]))
    assert run.on_receive(End("gap"))
    assert run.times["gap"][1] is not None
    assert run.on_receive(Begin("resnet")) and run.assignment == "resnet"
    assert not run.on_receive(Begin("convolution"))  # not in the job at all
    assert [reason for _, reason in run.rejected] == [
        "a 'begin' for 'resnet' out of turn", "a 'begin' for 'gap' out of turn",
        "a 'begin' for 'convolution' out of turn"]


def test_one_assignments_code_cannot_speak_for_another() -> None:
    run = _run("gap", "resnet")
    run.on_receive(Begin("gap"))
    assert not run.on_receive(Started("resnet", "residual_block#1"))
    assert run.rejected == [("gap", "a 'started' message for 'resnet' while the child was on 'gap'")]
    assert run.on_receive(Done())  # belongs to no assignment


@pytest.mark.parametrize(("run", "said"), [
    (ChildRun(stop_reason="it went past the time limit of 120 s", messages=[Done()]), "time limit of 120 s"),
    (ChildRun(exit_code=-9, messages=[Done()]), None),  # killed once it had finished: nothing more was needed
    (ChildRun(exit_code=0, channel_problem="a message of 3 GB"), "could not read the results: a message of 3 GB"),
    (ChildRun(exit_code=-signal.SIGXFSZ), "more output than allowed"),
    (ChildRun(exit_code=-signal.SIGSEGV), "killed by signal SIGSEGV"),
    (ChildRun(exit_code=0), "exited early (exit status 0)"),
])
def test_why_a_child_did_not_finish_is_said_in_words(run: ChildRun, said: str | None) -> None:
    failure = run.failure()
    assert failure == said if said is None else said in failure
    assert run.finished == (run.stop_reason is None and bool(run.of_type(Done)))
