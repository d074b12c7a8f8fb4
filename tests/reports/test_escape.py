"""Student text in every output: each renderer is given the same hostile text, and each output is read back the way
the people who open it would (a terminal, a spreadsheet, an XML parser, a Markdown renderer with links found, a
browser's HTML parser)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from grader import batch, contract
from grader.reports import escape, feedback, gradebook, gradescope, junit, summary, terminal
from grader.results import AssignmentResult, CheckResult, SubmissionResult

pytestmark = pytest.mark.quick

# What a submission can put in an exception's text: a terminal's title, clear-screen and carriage return, raw HTML,
# Markdown links and images, bare addresses, a line that would close a code fence, XML's forbidden characters, a
# bidirectional override and a lone surrogate.
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\rfake PASS <img src=x onerror=alert(1)> <script>alert(2)</script> "
           "[Regrade request](https://evil.example/form) ![](https://evil.example/p.png) https://evil.example/a "
           "www.evil.example \x01\x0c\u202etxt.exe\ud800\n```\nout of the fence **bold**\n~~~\n")
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _result(name: str = "alice") -> SubmissionResult:
    checks = (
        CheckResult("gap", "load", "the file runs", 0, 0, True, ""),
        CheckResult("gap", "values", "gap_head " + HOSTILE, 0, 2, False, "gap_head(x) failed: ValueError: " + HOSTILE),
        CheckResult("gap", "params", "count", 0, 2, False, HOSTILE),
    )
    return SubmissionResult(name + HOSTILE, (AssignmentResult("gap", "gap" + HOSTILE, checks, 1.0, (HOSTILE,)),),
                            1.0)


def test_the_terminal_report_escapes_every_control_sequence() -> None:
    text = terminal.render(_result())
    assert not _TERMINAL_UNSAFE.search(text)
    assert "\\x1b]0;pwned\\x07" in text and "\\r" in text and "\\u202e" in text  # shown, not acted on
    text.encode("utf-8")  # a lone surrogate would make this raise, as printing it did


def test_junit_is_well_formed_xml_that_keeps_the_message() -> None:
    report = gradescope.to_dict(_result())
    root = ET.fromstring(junit.render([("alice\x01", report)]))
    failures = root.findall(".//failure")
    assert len(failures) == 2 and all("pwned" in f.get("message", "") + (f.text or "") for f in failures)


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"https://evil.example\",\"x\")", "@SUM(A1)", "+1+1", "-2+3",
                                     "\t=1", "\uff1d1+1"])
def test_no_csv_cell_starts_like_a_formula(hostile: str, tmp_path: Path) -> None:
    roster = {"s1": {"folder": "s1", "name": hostile, "canvas_id": hostile, "email": hostile, "username": hostile,
                     "idnumber": hostile}}
    report = {**gradescope.to_dict(_result()), "score": 1.0}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "s1.json").write_text(json.dumps({**report, "extra_data": {
        **report["extra_data"], "grader_error": hostile}}))
    batch.summarize(tmp_path, ["s1"], roster=roster)
    outputs = [gradebook.canvas({"s1": report}, roster, hostile), gradebook.moodle({"s1": report}, roster, hostile,
                                                                                   ["gap"]),
               (tmp_path / "grades.csv").read_text()]
    for text in outputs:
        cells = _cells(text)
        assert any(hostile.strip("\t") in cell for cell in cells)  # the text is kept
        assert not any(cell.startswith(escape._FORMULA) for cell in cells), text


class _Tags(HTMLParser):
    """Every element and attribute an HTML page holds."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _rendered(markdown: str) -> str:
    """Markdown as GitHub and Gradescope show it: tables, strikethrough, and bare addresses made links."""
    return MarkdownIt("gfm-like").render(markdown)


def _assert_no_student_markup(html: str) -> None:
    tags = _tags(html)
    assert not [t for t, _ in tags if t in ("script", "img", "a", "iframe")], [t for t in tags if t[0] in
                                                                             ("script", "img", "a")]
    assert not [a for _, a in tags if any(k.startswith("on") for k in a)]
    assert "pwned" in html  # said, not dropped


def test_summary_markdown_renders_no_link_image_html_or_emphasis_of_the_students() -> None:
    text = summary.markdown(_result())
    _assert_no_student_markup(_rendered(text))
    assert "\n```" not in text and "out of the fence" in text  # everything said stays on its item's line


def test_gradescope_output_is_escaped_markdown_and_tests_are_plain_text() -> None:
    report = gradescope.to_dict(_result())
    assert report["output_format"] == "md" and report["test_output_format"] == "text"
    _assert_no_student_markup(_rendered(report["output"]))
    json.dumps(report).encode("utf-8")


def test_feedback_markdown_keeps_each_message_in_its_own_code_block(tmp_path: Path) -> None:
    page = feedback.write(_result(), tmp_path).read_text()
    html = _rendered(page)
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", html, re.S)
    assert len(blocks) == 2 and all("out of the fence" in b for b in blocks)  # the ``` inside closed nothing
    outside = re.sub(r"<pre><code>.*?</code></pre>", "", html, flags=re.S)
    assert "<strong>bold</strong>" not in outside and "<del>" not in outside  # the rest is said as text
    _assert_no_student_markup(html)


def test_html_pages_escape_every_field(tmp_path: Path) -> None:
    feedback.write(_result(), tmp_path)
    page = (tmp_path / "feedback.html").read_text()
    tags = _tags(page)
    assert {t for t, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div",
                                     "span", "section", "table", "tr", "th", "td", "ul", "li", "b", "pre", "img"}
    assert not [a for _, a in tags if any(k.startswith("on") for k in a)]
    assert not _TERMINAL_UNSAFE.search(page)


def test_class_summary_md_escapes_names_and_causes(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    name = "bob_<img src=x onerror=alert(1)>"
    (tmp_path / "results" / f"{name}.json").write_text(gradescope.render(_result()))
    batch.summarize(tmp_path, [name])
    text = (tmp_path / "summary.md").read_text()
    html = _rendered(text)
    assert [t for t, _ in _tags(html) if t == "img"] == [("img")] * 1  # the histogram only
    assert not [a for _, a in _tags(html) if any(k.startswith("on") for k in a)]
    assert not _TERMINAL_UNSAFE.search(text)


def test_the_channel_cuts_long_text_and_replaces_lone_surrogates() -> None:
    message = contract.parse({"type": "probe", "assignment": "gap", "id": "p", "error": "x\ud800" + "y" * 10_000,
                              "returned": "z" * 10_000, "model": {"name\udc80": ["\ud800", "ok"]}})
    assert message.error is not None and len(message.error) < 2100 and "more characters not shown" in message.error
    assert message.returned is not None and len(message.returned) < 300
    json.dumps(message.to_wire(), ensure_ascii=False).encode("utf-8")  # nothing left that UTF-8 cannot hold


def test_a_returned_value_is_quoted_within_a_budget() -> None:
    from grader import grading
    from grader.registry import quote

    assert len(quote("x" * 1_000_000)) < 100 and len(quote(list(range(10_000)))) < 100
    long = "\n".join(f"line {i} " + "w" * 50 for i in range(1000))
    cut = grading._within(long, grading.MESSAGE_BUDGET)
    assert len(cut) <= grading.MESSAGE_BUDGET + 80 and cut.endswith("more characters of this message not shown)")
    assert cut.splitlines()[0] == long.splitlines()[0]
