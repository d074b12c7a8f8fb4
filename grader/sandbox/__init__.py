"""Running student code in a child process with limits, and collecting what it sent back.

One module per concern; importing the package imports none of them, so that what needs only the limits pays for
nothing else:

- `limits`: what one child may use (no dependencies).
- `system`: what the operating system offers (Linux, macOS, Windows): the one place for the resource limits, prctl,
  the namespaces and the process accounting, and what stands in where a mechanism is missing.
- `isolation`: which protections this machine allows (`isolation.current()`), the jail's specification and users.
- `jail`: the step run as root inside the child's new namespaces: the mounts, then the unprivileged user.
- `supervise`: starting the child, its deadline and memory watch, receiving its messages, ending it (`run_child`).
- `forkserver`: the server that imports TensorFlow once and forks each child; `forked`: the grader's side of it.
"""
