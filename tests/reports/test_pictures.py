"""The lecture's pictures: drawn from a check's figure data, the same bytes each time, said in words too."""

from __future__ import annotations

import pytest

from grader.reports import pictures

pytestmark = pytest.mark.quick

FIGURES = [
    {"kind": "receptive_field", "what": "the class maps", "input": [28, 28],
     "student": {"size": [24, 24], "jump": [4, 4], "text": "24 pixels"},
     "reference": {"size": [32, 32], "jump": [4, 4], "text": "32 pixels"}},
    {"kind": "receptive_field", "what": "the extractor's last layer", "input": [28, 28], "student": None,
     "reference": {"size": [7, 7], "jump": [1, 1], "text": "7 pixels"}},
    {"kind": "macs", "student": {"naive": 1_067_000_000, "reduced": 1_067_000_000},
     "reference": {"naive": 1_067_000_000, "reduced": 440_000_000}},
    {"kind": "gradients", "student": [0.5, 0.2, 0.01], "plain": [0.001, 0.1, 0.3], "reference": [0.4, 0.3, 0.2]},
    {"kind": "connectivity", "inputs": 5, "kernel": 3, "student": {"dense": 30, "conv": 15}},
    {"kind": "block", "what": "residual_block",
     "student": [{"label": "Add", "differs": False, "branches": [[], [{"label": "Conv2D 3x3", "differs": False},
                                                                     {"label": "ReLU", "differs": True}]]}],
     "reference": [{"label": "Add", "branches": [[], [{"label": "Conv2D 3x3", "differs": False}]]},
                   {"label": "ReLU", "differs": True}]},
]


@pytest.mark.parametrize("figure", FIGURES, ids=[f["kind"] + str(i) for i, f in enumerate(FIGURES)])
def test_a_picture_is_a_png_with_the_same_bytes_each_time(figure: dict) -> None:
    png = pictures.draw(figure)
    pictures._png.cache_clear()
    assert png.startswith(b"\x89PNG") and png == pictures.draw(figure)


def test_each_picture_says_in_words_what_it_shows() -> None:
    field, whole, macs, gradients, connectivity, block = (pictures.describe(f) for f in FIGURES)
    assert field == ("The region of a 28x28 input that one unit of the class maps sees: yours 24x24 pixels, units 4 "
                     "pixels apart; the assignment's 32x32 pixels, units 4 pixels apart.")
    assert "yours the whole input" in whole
    assert "the naive block: yours 1,067 million, the reference's 1,067 million" in macs
    assert "the block with 1x1 reductions: yours 1,067 million, the reference's 440 million" in macs
    assert "your ResNet-34: 0.5 at the first convolution, 0.01 at the last (50 times)" in gradients
    assert "Fully connected, every input joins every output: 25 arrows (yours counts 30)" in connectivity
    assert "fewer at the border: 13 arrows (yours counts 15)" in connectivity  # the contract's (5, 3) -> 13
    assert block.endswith("yours [identity | Conv2D 3x3 -> ReLU (differs)] merged by Add; the reference's [identity | "
                          "Conv2D 3x3] merged by Add -> ReLU (differs).")
    with pytest.raises(ValueError, match="unknown figure kind"):
        pictures.describe({"kind": "pie"})


def test_text_a_student_returned_is_drawn_as_text_not_parsed() -> None:
    hostile = {"kind": "connectivity", "inputs": 5, "kernel": 3,
               "student": {"dense": "'$\\\\undefined{x}$ ^_^ $$'", "conv": "'\\\\frac{'"}}
    assert pictures.draw(hostile).startswith(b"\x89PNG")  # mathtext would raise a ParseException
    assert "yours counts '$\\\\undefined{x}$ ^_^ $$'" in pictures.describe(hostile)
