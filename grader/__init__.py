"""Autograder for the Keras assignments of the CNN architectures course."""

from __future__ import annotations

import os

# Before anything imports TensorFlow: quiet its C++ logging and pin the Keras backend.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic kernels, and no start-up banner

__version__ = "0.1.0"


def check(assignment: str, path=None, profile: str = "quick") -> None:
    """Check your work from a notebook: `from grader import check; check("gap")` grades the saved notebook (in Colab,
    the notebook as it is open) and shows the report (see grader.notebook). Returns nothing, so that the cell shows
    the report alone; `grader.notebook.check` returns the results too."""
    from grader.notebook import check as run

    run(assignment, path, profile)
