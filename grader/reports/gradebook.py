"""Grades for the learning platform's gradebook: CSV files that Canvas and Moodle import, from `grade batch`'s
results and a roster that maps each submission folder to the student's identifiers there.

The roster is a CSV file with a `folder` column (the name of the student's subfolder or .zip in the class folder)
and any of: `name`, `canvas_id` (Canvas's user ID), `sis_user_id`, `sis_login_id`, `section`, `email`, `username`,
`idnumber`. A student the roster does not name is never guessed at: they are listed for the staff, not exported.

- Canvas (Grades > Import): the columns of Canvas's own gradebook export, `Student`, `ID`, `SIS User ID`,
  `SIS Login ID`, `Section`, then one column titled with the assignment's name, holding the points; Canvas matches
  each row by its IDs and creates the assignment if no column of its gradebook has that title.
- Moodle (Grades > Import > CSV file): one row per student with `Email address`, `Username` and `ID number` (map
  one of them to the user in the import form) and a column per grade item: the total and each assignment.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.reports.escape import csv_writer

ROSTER_COLUMNS = ("folder", "name", "canvas_id", "sis_user_id", "sis_login_id", "section", "email", "username",
                  "idnumber")


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """The roster's rows by submission folder; a UsageError that says what is wrong with the file otherwise."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}") from None
    if not rows or "folder" not in rows[0]:
        raise UsageError(f"the roster {path} needs a 'folder' column (the student's subfolder or .zip name) and any of "
                         f"{', '.join(ROSTER_COLUMNS[1:])}")
    roster: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows, start=2):
        folder = (row.get("folder") or "").strip()
        if not folder:
            raise UsageError(f"the roster {path}, line {number}: no folder")
        if folder in roster:
            raise UsageError(f"the roster {path}, line {number}: the folder {folder!r} is there twice")
        roster[folder] = {k: (v or "").strip() for k, v in row.items() if k in ROSTER_COLUMNS}
    return roster


def canvas(reports: dict[str, dict[str, Any]], roster: dict[str, dict[str, str]], title: str) -> str:
    """Canvas's gradebook import: the total points of each rostered student under the assignment `title`."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title])
    for folder, report in sorted(reports.items()):
        person = roster.get(folder)
        if person is not None and _graded(report):
            writer.writerow([person.get("name", ""), person.get("canvas_id", ""), person.get("sis_user_id", ""),
                             person.get("sis_login_id", ""), person.get("section", ""), f"{report['score']:g}"])
    return out.getvalue()


def moodle(reports: dict[str, dict[str, Any]], roster: dict[str, dict[str, str]], item: str,
           assignments: list[str]) -> str:
    """Moodle's CSV grade import: the identifiers, the total under `item`, and each assignment's points."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["Email address", "Username", "ID number", item, *(f"{item}: {a}" for a in assignments)])
    for folder, report in sorted(reports.items()):
        person = roster.get(folder)
        if person is not None and _graded(report):
            per = report["extra_data"].get("assignments", {})
            points = [f"{per[a]['score']:g}" if a in per else "" for a in assignments]
            writer.writerow([person.get("email", ""), person.get("username", ""), person.get("idnumber", ""),
                             f"{report['score']:g}", *points])
    return out.getvalue()


def unmatched(reports: dict[str, dict[str, Any]], roster: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """(graded folders the roster does not name, rostered folders with no result)."""
    return sorted(set(reports) - set(roster)), sorted(set(roster) - set(reports))


def _graded(report: dict[str, Any]) -> bool:
    """A grader failure is not a grade: it is left out until the student is graded again."""
    return not report.get("extra_data", {}).get("grader_error")
