"""Grades exported for Canvas and Moodle from a class's results and a roster."""

from __future__ import annotations

import csv
import io

import pytest

from grader.errors import UsageError
from grader.reports import gradebook

pytestmark = pytest.mark.quick


def _report(score: float, error: str | None = None) -> dict:
    extra = {"assignments": {"gap": {"score": score, "max_score": 23}}}
    if error:
        extra["grader_error"] = error
    return {"score": score, "max_score": 23, "tests": [], "extra_data": extra}


REPORTS = {"alice": _report(23), "bob": _report(11.5), "erin": _report(0, "AttributeError"), "zed": _report(7)}


def _roster(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return gradebook.read_roster(path)


def test_canvas_and_moodle_rows_carry_the_identifiers_and_only_real_grades(tmp_path) -> None:
    roster = _roster(tmp_path, "folder,name,canvas_id,sis_user_id,sis_login_id,section,email,username,idnumber\n"
                               "alice,\"Doe, Alice\",101,S1,adoe,A,alice@uni.edu,adoe,2001\n"
                               "bob,Bob Roe,102,S2,broe,B,bob@uni.edu,broe,2002\n"
                               "erin,Erin Poe,103,S3,epoe,B,erin@uni.edu,epoe,2003\n"
                               "carl,Carl Moe,104,S4,cmoe,A,carl@uni.edu,cmoe,2004\n")
    rows = list(csv.reader(io.StringIO(gradebook.canvas(REPORTS, roster, "CNN assignments"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "CNN assignments"]
    assert rows[1:] == [["Doe, Alice", "101", "S1", "adoe", "A", "23"], ["Bob Roe", "102", "S2", "broe", "B", "11.5"]]
    rows = list(csv.reader(io.StringIO(gradebook.moodle(REPORTS, roster, "CNN", ["gap", "resnet"]))))
    assert rows[0] == ["Email address", "Username", "ID number", "CNN", "CNN: gap", "CNN: resnet"]
    assert rows[1] == ["alice@uni.edu", "adoe", "2001", "23", "23", ""]
    assert len(rows) == 3  # erin's grader failure is no grade; zed is not in the roster
    assert gradebook.unmatched(REPORTS, roster) == (["zed"], ["carl"])


@pytest.mark.parametrize(("text", "words"), [("name,email\nAlice,a@b\n", "needs a 'folder' column"),
                                             ("folder,name\nalice,A\nalice,B\n", "there twice"),
                                             ("folder,name\n,A\n", "line 2: no folder")])
def test_a_roster_that_cannot_be_trusted_is_refused_before_grading(tmp_path, text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        _roster(tmp_path, text)
