"""Student text made safe for each format the grader writes: one function per format, used by every renderer.

Anything a submission can put into a message (an exception's text, a returned value, a file or folder name) is
written by these, never raw: staff open the outputs in terminals, spreadsheets, browsers and CI pages.

>>> terminal("ok\\x1b]0;pwned\\x07 \\r")
'ok\\\\x1b]0;pwned\\\\x07 \\\\r'
>>> csv_cell("=HYPERLINK(1)"), csv_cell("-3"), csv_cell(2.5)
("'=HYPERLINK(1)", "'-3", 2.5)
>>> markdown("[Regrade](https://x.io) <b>_a_</b>")
'\\\\[Regrade\\\\](https:\\u2060//x.io) &lt;b&gt;\\\\_a\\\\_&lt;/b&gt;'
"""

from __future__ import annotations

import csv
import html as _html
import re
from typing import IO, Any

# Characters a terminal acts on, or that reorder or hide text: C0 and C1 controls (not newline or tab), DEL, the
# bidirectional overrides and isolates, and lone surrogates (which no encoder can write).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What XML 1.0 cannot hold at all, even as a character reference.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def clean(text: str) -> str:
    """`text` with every unsafe character shown as its escape (`\\x1b`, `\\u202e`): printable by any terminal and
    writable in any encoding. Newlines and tabs stay."""
    return _UNSAFE.sub(_visible, text)


terminal = clean


def html(text: str) -> str:
    """Text for an HTML element or a quoted attribute."""
    return _html.escape(clean(text), quote=True)


def xml(text: str) -> str:
    """Text that XML 1.0 can hold (ElementTree escapes `<`, `&` and quotes; it does not refuse these)."""
    return _NOT_XML.sub(_visible, clean(text))


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # the full-width forms too


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text that starts like a formula gets a leading apostrophe (OWASP's
    advice), control characters are escaped; numbers stay numbers."""
    if not isinstance(value, str):
        return value
    value = clean(value)
    return "'" + value if value.startswith(_FORMULA) else value


class csv_writer:  # noqa: N801 (it stands in for csv.writer)
    """`csv.writer` whose every cell goes through `csv_cell`."""

    def __init__(self, out: IO[str]) -> None:
        self._csv = csv.writer(out)

    def writerow(self, row: list[Any]) -> None:
        self._csv.writerow([csv_cell(v) for v in row])


_MARKDOWN = re.compile(r"([\\`*_\[\]!|~#{}])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=www)(?=\.)")


def markdown(text: str) -> str:
    """Text for one line of Markdown (a list item, a table cell, a heading): no raw HTML, no links, images, emphasis
    or code spans, no line breaks. Bare addresses are kept readable but not linked (a word joiner after `https:`
    and after `www`), since GitHub and Gradescope link them."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(text.splitlines())
    return _AUTOLINK.sub("\u2060", _MARKDOWN.sub(r"\\\1", text)) if text else text


def fence(text: str) -> list[str]:
    """`text` as a fenced code block: a fence longer than any run of backticks inside, so nothing in it ends it."""
    text = clean(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marker = "`" * max(3, longest + 1)
    return [marker, text, marker]
