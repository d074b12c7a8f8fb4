"""Judging (`grader.grading._judge`): what a check's result says when it passes, fails, fails hidden, or its judge
breaks, from outcomes given directly (no child, no Keras)."""

from __future__ import annotations

import pytest

from grader import grading
from grader.registry import Context, Fail, Outcome, Rubric, RubricError

pytestmark = pytest.mark.quick

RUBRIC = Rubric("demo", functions=("area",))
AREA = RUBRIC.value("area", 3)
with RUBRIC.hidden():
    SECRET = RUBRIC.value("area", 11, unit="cm")


def _context(**values: object) -> Context:
    outcomes = {AREA.id: Outcome(measured={"value": values.get("area", 9)}),
                SECRET.id: Outcome(measured={"value": values.get("secret", 121)})}
    return Context(RUBRIC, outcomes, {AREA.id: {"value": 9}, SECRET.id: {"value": 121}})


def _spec(judge, hidden: bool = False):
    rubric = Rubric("demo", functions=("area",))
    if hidden:
        with rubric.hidden():
            rubric.check("values", "area", points=2, judge=judge)
    else:
        rubric.check("values", "area", points=2, judge=judge)
    return rubric.checks[0]


def _same(probe):
    def judge(ctx: Context) -> str:
        found, expected = ctx.value(probe), ctx.reference(probe, "value")
        if found != expected:
            raise Fail(f"{probe.call_text()}: expected {expected}, returned {found}")
        return f"{probe.call_text()} = {found}"
    return judge


def test_a_pass_scores_its_points_and_a_failure_none_with_its_reason() -> None:
    passed, reasons = grading._judge(RUBRIC, _spec(_same(AREA)), _context())
    assert (passed.passed, passed.score, passed.output, reasons) == (True, 2, "area(3) = 9", [])
    ctx = _context(area=6)
    failed, _ = grading._judge(RUBRIC, _spec(_same(AREA)), ctx)
    assert (failed.passed, failed.score, failed.max_score) == (False, 0, 2)
    assert failed.output == "area(3): expected 9, returned 6"
    assert ctx.failed == [("values: area", "area(3): expected 9, returned 6")]  # what later checks can cite


def test_a_hidden_failure_names_the_function_and_arguments_never_their_values() -> None:
    failed, _ = grading._judge(RUBRIC, _spec(_same(SECRET), hidden=True), _context(secret=120))
    assert failed.hidden and not failed.passed
    assert failed.output.startswith("hidden check: failed. area gave another result when called with other values "
                                    "of unit")
    assert "11" not in failed.output and "120" not in failed.output and "121" not in failed.output
    passed, _ = grading._judge(RUBRIC, _spec(_same(SECRET), hidden=True), _context())
    assert passed.output == "hidden check: passed"


def test_a_judge_that_breaks_fails_its_check_alone_and_a_misread_is_the_graders_fault() -> None:
    def broken(ctx: Context) -> str:
        return {}["missing"]

    failed, _ = grading._judge(RUBRIC, _spec(broken), _context())
    assert not failed.passed and failed.output == "the grader could not complete this check (KeyError: 'missing')"

    def misreads(ctx: Context) -> str:
        probes = [AREA]
        return str([ctx.reference(p, "params") for p in probes])  # through a loop: found when it runs

    with pytest.raises(RubricError, match="reads 'params' of area\\(3\\)"):
        grading._judge(RUBRIC, _spec(misreads), _context())


def test_a_long_message_is_cut_at_a_line_and_says_how_much_is_left_out() -> None:
    def verbose(ctx: Context) -> str:
        raise Fail("\n".join(f"line {i}: " + "x" * 90 for i in range(200)))

    failed, _ = grading._judge(RUBRIC, _spec(verbose), _context())
    assert len(failed.output) <= grading.MESSAGE_BUDGET + 80
    assert failed.output.splitlines()[-1].startswith("... (") and "more characters of this message not shown" \
        in failed.output
