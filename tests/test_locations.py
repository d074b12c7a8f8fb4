"""Where the course is found: explicitly, from the working folder, from the checkout; caches that fall back."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import ROOT
from grader import locations
from grader.cli import main

pytestmark = pytest.mark.quick


def _course(folder, solutions="solutions"):
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[tool.cnn-grader]\nsolutions = "{solutions}"\n')
    (folder / solutions).mkdir()
    (folder / solutions / "gap.py").write_text("# a reference\n")
    return folder


def test_explicit_course_wins_then_the_working_folder_then_the_checkout(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GRADER_SOLUTIONS", raising=False)
    monkeypatch.delenv("GRADER_CACHE", raising=False)
    explicit, marked = _course(tmp_path / "explicit"), _course(tmp_path / "marked", "refs")
    (marked / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(marked / "deep" / "er")
    monkeypatch.setenv("GRADER_COURSE", str(explicit))
    found = locations.course()
    assert (found.how, found.root, found.solution("gap")) == ("--course", explicit, explicit / "solutions" / "gap.py")
    assert found.cache == explicit / ".grader-cache" and found.solution("resnet") is None
    monkeypatch.delenv("GRADER_COURSE")
    found = locations.course()
    assert (found.how, found.root, found.solutions) == ("working folder", marked, marked / "refs")
    monkeypatch.chdir(tmp_path)
    found = locations.course()
    assert (found.how, found.root) == ("checkout", ROOT)  # this checkout is a course too
    assert {found.solutions, found.cache} <= set(found.hidden())


def test_a_cache_that_cannot_be_written_falls_back_to_the_users(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert locations.writable(blocked / "cache") == tmp_path / "xdg" / "cnn-grader"
    assert locations.writable(tmp_path / "fine") == tmp_path / "fine"


def test_the_environment_names_folders_directly(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_SOLUTIONS", str(tmp_path / "s"))
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "c"))
    found = locations.course()
    assert (found.solutions, found.cache) == (tmp_path / "s", tmp_path / "c")


def test_a_missing_course_is_a_usage_error_that_says_how_to_name_one(tmp_path) -> None:
    empty = _course(tmp_path / "course", "refs")
    (empty / "refs" / "gap.py").unlink()
    env = {"GRADER_COURSE": None, "GRADER_SOLUTIONS": None}
    outcome = CliRunner().invoke(main, ["--course", str(empty), "validate", "-a", "gap"], env=env)
    assert outcome.exit_code == 2 and "reference solution of 'gap'" in outcome.output and "--course" in outcome.output
    outcome = CliRunner().invoke(main, ["--course", str(tmp_path / "nowhere"), "build", "--check"], env=env)
    assert outcome.exit_code == 2 and "does not exist" in outcome.output
