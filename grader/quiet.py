"""TensorFlow's native start-up lines, kept out of the grader's output.

The `tensorflow` distribution (the one Colab, macOS and Windows have) writes, from C++ and before any Python setting
can quiet it, that it found no CUDA driver, on every machine without a GPU. Around TensorFlow's import and its first
device query, the process's standard error goes to a file; afterwards every line of it but those start-up notes is
written to the real standard error, in order, so nothing else is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

_NOISE = (b"All log messages before absl::InitializeLog() is called", b"Could not find cuda drivers",
          b"oneDNN custom operations are on", b"Unable to register cuDNN", b"Unable to register cuFFT",
          b"Unable to register cuBLAS", b"computation placer already registered", b"TF-TRT Warning",
          b"This TensorFlow binary is optimized to use available CPU instructions",
          b"rebuild TensorFlow with the appropriate compiler flags")
_lock = threading.RLock()
_depth = 0


@contextlib.contextmanager
def native_stderr() -> Iterator[None]:
    """Leave TensorFlow's start-up notes out of what this block writes to standard error (fd 2)."""
    global _depth
    with _lock:
        _depth += 1
        if _depth > 1:  # already filtered by an enclosing block
            try:
                yield
            finally:
                _depth -= 1
            return
        try:
            sys.stderr.flush()
            capture = tempfile.TemporaryFile(dir=os.environ.get("TMPDIR") or None)
        except (OSError, ValueError, AttributeError):  # no real standard error, or nowhere to write: unfiltered
            _depth -= 1
            yield
            return
        with capture:
            saved = os.dup(2)
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                _depth -= 1
                capture.seek(0)
                kept = [line for line in capture.read().splitlines(keepends=True)
                        if not any(noise in line for noise in _NOISE)]
                if kept:
                    os.write(2, b"".join(kept))


def import_tensorflow() -> None:
    """Import Keras and TensorFlow (in that order, as the child does) without their start-up notes."""
    if "tensorflow" in sys.modules:  # a fork of a process that imported them
        import keras  # noqa: F401

        return
    with native_stderr():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
