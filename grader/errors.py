"""One error family for the grader and its users; each error carries its exit status.

A student's mistake is never an exception of this family: it is a graded result.
"""

from __future__ import annotations

EXIT_GRADED = 0
EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_GRADER_FAILED = 3


class GraderError(Exception):
    """The grader itself could not do its work (exit status 3)."""

    exit_code = EXIT_GRADER_FAILED

    def format_message(self) -> str:
        return str(self)


class ChildStartError(GraderError):
    """The process that runs a student's code could not be started (it ran none of it): never the student's fault."""


class UsageError(GraderError):
    """The command line asked for something that cannot be done: no such path, no assignment file."""

    exit_code = EXIT_USAGE


class LoadError(Exception):
    """A submission file could not be turned into code: the message is written for the student."""
