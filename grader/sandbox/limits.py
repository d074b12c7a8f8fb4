"""What one child may use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one child may use."""

    timeout: float = 120.0
    # Whether the timeout is a floor that follows the machine (grader.timing: the reference's own time, scaled by
    # how much slower this machine is); the command line's default. An explicit --timeout is taken as given.
    follow_machine: bool = False
    # The whole submission's seconds on its platform (Gradescope's timeout, a CI job's): a limit that follows the
    # machine never grows past a share of it (grader.timing.ceiling). None: grader.timing.CEILING per assignment.
    budget: float | None = None
    memory_mb: int = 3072
    output_bytes: int = 2_000_000
    processes: int = 64  # processes at once (on POSIX the kernel's cap, RLIMIT_NPROC, counts threads: see system)
    threads: int | None = None  # TensorFlow's thread pools in the child; None: one thread per core
