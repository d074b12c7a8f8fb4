"""How a training run is judged against the reference's: the margins a rubric declares with its convergence probe,
and the one rule that applies them.

The rubrics' checks, `make calibrate`, the benchmark and the tests all judge by `verdict`; the trainer
(`grader.convergence`) only measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Margins:
    """How far a student's run may land from the reference's run under the same seed and budget, per profile.

    `accuracy`: at most this far below the reference's validation accuracy. `loss`: the last epoch's training loss
    at most this far above the reference's (how fast a network learns: the ResNet paper's degradation problem)."""

    accuracy: dict[str, float] = field(default_factory=dict)
    loss: dict[str, float] = field(default_factory=dict)


def verdict(run: dict[str, Any], reference: dict[str, Any], margins: Margins, profile: str) -> str | None:
    """None when `run` trains like `reference` under `profile`'s margins; else why not, in words for the student.

    The one convergence rule: the rubrics' checks, `make calibrate`, the benchmark and the tests all judge by it."""
    if not run.get("finite", True):
        return "the loss became infinite or NaN"
    accuracy, loss = margins.accuracy.get(profile), margins.loss.get(profile)
    if accuracy is not None and run["val_accuracy"] < reference["val_accuracy"] - accuracy:
        return f"the accuracy is more than {accuracy:.0%} below the reference's"
    if loss is not None and run["train_loss"] > reference["train_loss"] + loss:
        return f"the training loss is more than {loss:.2f} above the reference's: it learns too slowly"
    return None
