"""Student code that hangs, exits or does not compile is a graded result, quickly, and nothing else suffers."""

from __future__ import annotations

import json
import re
import time

from click.testing import CliRunner

from conftest import GAP, ROOT, graded
from grader.cli import main


def test_endless_loop_at_import_is_stopped_at_the_time_limit() -> None:
    start = time.monotonic()
    result = graded(GAP / "gap_loops_forever.py", timeout=20)
    elapsed = time.monotonic() - start
    assert result.score == 0
    assert elapsed < 60  # its own limit of 20 s, not the default 120 s
    load = result.checks[0]
    assert "time limit of 20 s" in load.output
    # Where the code was stuck: the loop's line or its body's, whichever the interpreter was on when stopped.
    assert re.search(r"gap_loops_forever\.py, line [34]\b", load.output), load.output


def test_system_exit_is_a_result_not_the_end_of_the_grader() -> None:
    result = graded(GAP / "gap_system_exit.py")
    assert result.score == 0
    assert "SystemExit" in result.checks[0].output
    assert "line 3" in result.checks[0].output


def test_syntax_error_is_reported_with_the_students_line_without_running_anything() -> None:
    start = time.monotonic()
    result = graded(GAP / "gap_syntax_error.py")
    assert time.monotonic() - start < 5
    assert result.score == 0 and result.max_score == 23
    assert "SyntaxError in gap_syntax_error.py, line 5" in result.checks[0].output
    assert "def gap_head(features, num_classes, kernel_size=5)" in result.checks[0].output


def test_a_hanging_submission_does_not_stop_the_next_one(tmp_path) -> None:
    out = tmp_path / "json"
    runner = CliRunner()
    outcome = runner.invoke(main, [str(GAP / "gap_loops_forever.py"), str(ROOT / "solutions" / "gap.py"),
                                   "--timeout", "20", "--json", str(out)])
    assert outcome.exit_code == 0, outcome.output
    hung = json.loads((out / "gap_loops_forever.json").read_text())
    good = json.loads((out / "gap.json").read_text())
    assert hung["score"] == 0 and hung["max_score"] == 23
    assert good["score"] == good["max_score"] == 23


def test_results_come_from_the_channel_not_from_what_the_student_prints(tmp_path) -> None:
    fake = {"score": 20, "max_score": 20, "tests": []}
    source = (GAP / "gap_wrong_kernel.py").read_text()
    submission = tmp_path / "gap.py"
    submission.write_text(
        "import json, sys\n"
        f"print(json.dumps({fake!r}))\n"
        f"sys.stderr.write(json.dumps({fake!r}))\n" + source
    )
    result = graded(submission)
    assert result.score < result.max_score
