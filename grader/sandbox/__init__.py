"""Running student code in a child process with limits, and collecting what it sent back.

- `limits`: what one child may use (no dependencies).
- `system`: what the operating system offers (Linux, macOS, Windows) and what stands in where a mechanism is missing.
- `isolation`: the jail (namespaces and an unprivileged user, as root on Linux) and which protections apply.
- `supervise`: starting the child, its deadline and memory watch, receiving its messages, ending it.
"""

from grader.sandbox.isolation import PRIVATE_FOLDERS, SCRATCH_MB, Isolation, isolation
from grader.sandbox.limits import Limits
from grader.sandbox.supervise import ChildRun, run_child, stuck_at

__all__ = ["PRIVATE_FOLDERS", "SCRATCH_MB", "ChildRun", "Isolation", "Limits", "isolation", "run_child", "stuck_at"]
