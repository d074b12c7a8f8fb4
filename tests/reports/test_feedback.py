"""The feedback page: Markdown and a self-contained HTML page, rendered in a real headless browser."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import GAP
from grader.cli import main

pytestmark = pytest.mark.usefixtures("shared_grading")

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def _feedback(tmp_path):
    out = tmp_path / "feedback"
    outcome = CliRunner().invoke(main, [str(GAP / "gap_no_softmax.py"), "--feedback", str(out), "-q",
                                        "--json", str(tmp_path / "results.json")])
    assert outcome.exit_code == 0, outcome.output
    return out


def test_the_html_page_is_self_contained_and_says_what_failed(tmp_path) -> None:
    out = _feedback(tmp_path)
    page = (out / "feedback.html").read_text()
    assert "Feedback for gap_no_softmax.py" in page
    assert "values: build_lenet_gap outputs class probabilities" in page and "class='fail'" in page
    assert "data:image/png;base64," in page  # the training curve, inlined
    assert page.index("What to fix") < page.index("<h2>gap")  # the summary first, then the details
    details = page[page.index("<h2>gap"):]
    assert details.index("class='fail'") < details.index("class='pass'")  # the failures first
    assert "alt='Training curves of gap, build_lenet_gap learns MNIST digits like the reference. yours: validation " \
           "accuracy by epoch" in page
    assert "src='http" not in page and "href='http" not in page  # nothing fetched: readable offline
    assert (out / "feedback.md").is_file()


def test_what_to_fix_says_the_one_mistake_once_and_the_block_is_drawn(tmp_path) -> None:
    import json

    out = _feedback(tmp_path)
    page, text = (out / "feedback.html").read_text(), (out / "feedback.md").read_text()
    fix = text.split("### What to fix\n\n")[1].split("\n\n")[0].splitlines()
    assert fix == [line for line in fix if line.startswith("- **gap** ")] and len(fix) == 1, fix
    assert "after GlobalAveragePooling2D: expected softmax, found nothing" in fix[0]
    assert "4 checks (structure: " in fix[0] and "values: build\\_lenet\\_gap outputs class probabilities" in fix[0]
    assert page.count("<li><b>gap</b>") == 1
    # the head drawn beside the reference's, in the page and beside the Markdown, said in words too
    assert "alt='gap_head as a graph, yours beside the reference&#x27;s, the layers that differ marked: yours " \
           "Conv2D 5x5" in page
    assert "softmax (differs)" in page
    images = [line for line in text.splitlines() if line.startswith("![gap\\_head as a graph")]
    assert images and (out / images[0].rsplit("(", 1)[1].rstrip(")")).read_bytes().startswith(b"\x89PNG")
    results = json.loads((tmp_path / "results.json").read_text())
    drawn = [t for t in results["tests"] if t.get("output_format") == "html"]
    assert drawn and all(t["status"] == "failed" and "<img alt=" in t["output"] for t in drawn)
    assert all("<pre>" in t["output"] for t in drawn)  # the message itself, escaped


@pytest.mark.skipif(BROWSER is None, reason="no Chromium here (.ci/run installs Debian's chromium)")
def test_the_html_page_renders_in_headless_chromium(tmp_path) -> None:
    out = _feedback(tmp_path)
    shot = out / "screenshot.png"
    done = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1100,1600", (out / "feedback.html").as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).astype(int)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    red = (np.abs(pixels - [0xc6, 0x28, 0x28]).sum(axis=-1) < 60).sum()  # the "fail" marks and message borders
    green = (np.abs(pixels - [0x22, 0xaa, 0x77]).sum(axis=-1) < 60).sum()  # the score bar and "pass" marks
    assert red > 50 and green > 50, (red, green)
    dom = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          (out / "feedback.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "points" in dom and "build_lenet_gap" in dom
