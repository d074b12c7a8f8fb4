"""One rubric module per assignment; `RUBRICS` maps assignment names to their rubrics, in course order."""

from __future__ import annotations

from grader.registry import Rubric
from grader.rubrics import classic, convolution, gap, inception, resnet

RUBRICS: dict[str, Rubric] = {
    rubric.name: rubric
    for rubric in (convolution.RUBRIC, gap.RUBRIC, classic.RUBRIC, inception.RUBRIC, resnet.RUBRIC)
}
