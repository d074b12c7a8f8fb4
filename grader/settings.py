"""What the command line decides for the whole run, as one object: the course folder and the training backend.

`grade --course DIR` and `grade --backend jax` set them here (`use`); the batch workers and the training process are
handed them (`current()`), never the environment. Where nothing set them, the environment variables
`GRADER_COURSE` and `GRADER_TRAIN_BACKEND` are the defaults (a course's CI, a Slurm job), read when asked.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("tensorflow", "jax")


@dataclass(frozen=True)
class Settings:
    course: Path | None = None  # the course folder; None: found as `grader.locations` says
    backend: str = "tensorflow"  # the Keras backend that trains the networks (`grader.convergence`)

    @classmethod
    def from_environment(cls) -> Settings:
        course = os.environ.get("GRADER_COURSE")
        return cls(Path(course) if course else None, os.environ.get("GRADER_TRAIN_BACKEND") or "tensorflow")


_chosen: Settings | None = None


def current() -> Settings:
    """The settings of this run: those `use` was given, else the environment's."""
    return _chosen if _chosen is not None else Settings.from_environment()


def use(settings: Settings | None) -> None:
    """Make `settings` this process's (None: back to the environment's); a worker process is started with it."""
    global _chosen
    _chosen = settings


def choose(**changes: object) -> Settings:
    """This run's settings with `changes` (the command line's), made current."""
    chosen = dataclasses.replace(current(), **changes)
    use(chosen)
    return chosen
