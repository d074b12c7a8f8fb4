"""The grader's own rebuilds, measurements and training of the models a child sent: here, or in a measurer process.

Each `Rebuild` is one model configuration to rebuild and measure (or only to train, when its figures were measured
before). `remeasure` does it with Keras and TensorFlow. Where memory is short (a Gradescope container at its
default 768 MB), the grader imports no TensorFlow of its own: `measure_apart` asks the fork server, which imported
TensorFlow once for the children, for a fork that runs `main` on the grader's rebuilds of a child that ended. The
fork server never ran a TensorFlow operation nor any student code, so this process starts from the state the
grader's own import would have given, and its figures are the same (tests/test_measurer.py).

No student code runs in a measurer: it gets configurations, the only thing of the child's the grader ever reads,
and rebuilds them in safe mode as the grader's process would.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from grader import settings
from grader.errors import GraderError
from grader.measure import RebuildLimit
from grader.sandbox import forked, system

APART_BELOW_MB = 1536  # below this much memory the grader's own TensorFlow and the fork server's do not both fit


@dataclass
class Rebuild:
    """One configuration to rebuild and measure for an assignment's probe (or, `measure=False`, only to train)."""

    assignment: str
    config: dict[str, Any]
    sizes: tuple[tuple[int, int], ...]
    measures: tuple[str, ...]
    limit: RebuildLimit | None
    measure: bool = True
    dataset: str | None = None  # trained on this dataset with `profile`, when given
    profile: Any = None  # a grader.convergence.Profile
    shape: str | None = None  # the structure signature, known when `measure` is False


def remeasure(job: Rebuild) -> dict[str, Any]:
    """Rebuild, measure and train as `job` asks: {"measured", "shape", "convergence"} (as far as asked), or
    {"error", "too_large"} when the configuration cannot be rebuilt. Consumes `job.config`."""
    from grader.measure import VALUE_MEASURES, RebuildError, TooLarge, measure, rebuild, with_zero_initialisers

    result: dict[str, Any] = {}
    config, shape = job.config, job.shape
    if job.measure:
        kept = copy.deepcopy(config) if job.dataset else None  # the rebuild consumes the configuration
        unread = not VALUE_MEASURES.intersection(job.measures)
        if unread:
            with_zero_initialisers(config)
        try:
            model = rebuild(config, limit=job.limit, allocate=not unread)
            result["measured"] = measure(model, job.sizes, job.measures)
        except RebuildError as exc:
            return {"error": str(exc), "too_large": isinstance(exc, TooLarge)}
        if job.dataset:  # what the training runs are keyed by, with the layers
            from grader.analysis.graph import trace
            from grader.analysis.structure import signature

            shape = result["shape"] = signature(trace(model))
        config = kept
    if job.dataset:
        from grader.convergence import train

        try:
            result["convergence"] = train(config, shape, job.dataset, job.profile)
        except Exception as exc:  # a network that cannot be trained is a result, not a crash
            result["convergence"] = {"error": f"training failed: {str(exc).strip().splitlines()[0][:300]}"}
    return result


def apart() -> bool:
    """Whether this grader measures in a measurer process: `GRADER_MEASURE=apart` or `here`, else where the machine
    (or its container) has less than APART_BELOW_MB of memory and children are forked."""
    chosen = os.environ.get("GRADER_MEASURE", "")
    if chosen in ("apart", "here"):
        return chosen == "apart" and forked.enabled()
    memory = memory_mb()
    return forked.enabled() and memory is not None and memory < APART_BELOW_MB


def memory_mb() -> int | None:
    """The memory this process may use, in MB: its cgroup's limit (version 2, then 1) or the machine's, whichever
    is less; None where neither can be read."""
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20)
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            if number == "0":
                candidates = [Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max",
                              Path("/sys/fs/cgroup/memory.max")]
            elif "memory" in controllers.split(","):
                candidates = [Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.limit_in_bytes",
                              Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")]
            else:
                continue
            for candidate in candidates:
                with contextlib.suppress(OSError, ValueError):
                    found.append(int(candidate.read_text().strip()) // 2**20)
                    break
    return min(found) if found else None


def measure_apart(jobs: list[Rebuild], budget_s: float, threads: int | None = None) -> list[dict[str, Any]]:
    """`remeasure` of each job, in order, in a measurer forked by the fork server (in this process where there is
    no server to ask). An assignment whose rebuilds took more than `budget_s` (training aside) gets
    {"over_budget": seconds} for the rest. A measurer that ends early (the machine's memory) is followed by a fresh
    one for the rest; one that answers nothing is the grader's failure."""
    results: list[dict[str, Any]] = []
    while len(results) < len(jobs):
        answered = _in_a_measurer(jobs[len(results):], budget_s, threads)
        if answered is None:
            return results + _measure_all(jobs[len(results):], budget_s)
        got, code, said = answered
        if not got and len(results) + len(got) < len(jobs):
            raise GraderError(f"the grader's measuring process ended (exit status {code}) after {len(results)} of "
                              f"{len(jobs)} models" + (f": {said}" if said else ""))
        results += got
    return results


def _in_a_measurer(jobs: list[Rebuild], budget_s: float, threads: int | None
                   ) -> tuple[list[dict[str, Any]], int, str] | None:
    """What one measurer answered before it ended, its exit status and the end of its output; None where no
    measurer could be forked."""
    with tempfile.TemporaryDirectory(prefix="grade-measurer-") as folder:
        log_path = Path(folder) / "output.txt"
        read_fd, write_fd = os.pipe()
        with open(log_path, "wb") as log:
            process = forked.spawn_measurer(Path(folder), dict(os.environ), log.fileno(), write_fd)
        os.close(write_fd)
        if process is None:
            os.close(read_fd)
            return None
        try:
            assert process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(pickle.dumps({"settings": settings.current(), "threads": threads,
                                                  "budget": budget_s, "jobs": jobs}))
                process.stdin.close()
            with os.fdopen(read_fd, "rb") as answers:
                got = list(_receive(answers))
        finally:
            code = process.wait()
        return got, code, log_path.read_text(errors="replace").strip()[-600:]


def _measure_all(jobs: list[Rebuild], budget_s: float) -> list[dict[str, Any]]:
    return list(_each(jobs, budget_s))


def _each(jobs: list[Rebuild], budget_s: float) -> Iterator[dict[str, Any]]:
    spent: dict[str, float] = {}
    for job in jobs:
        if spent.get(job.assignment, 0.0) > budget_s:
            yield {"over_budget": spent[job.assignment]}
            continue
        began = time.monotonic()
        result = remeasure(job)
        seconds = time.monotonic() - began
        if not job.dataset:  # training has a budget of its own
            spent[job.assignment] = spent.get(job.assignment, 0.0) + seconds
        yield {**result, "seconds": seconds}


_HEADER = struct.Struct(">Q")


def _receive(stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """The measurer's answers, one pickled dict each after its length, until it closes the pipe (the measurer is
    the grader's own code, forked from the server that never ran student code: its pickles are trusted)."""
    while header := stream.read(_HEADER.size):
        if len(header) < _HEADER.size:
            return
        data = stream.read(_HEADER.unpack(header)[0])
        try:
            yield pickle.loads(data)
        except Exception:
            return


def main(channel: int) -> None:
    """In the measurer process: the job on standard input, each answer on `channel` as it is done."""
    system.frugal_heap()  # a measurer runs where memory is short: slower training, half the memory
    job = pickle.loads(sys.stdin.buffer.read())
    settings.use(job["settings"])
    if job["threads"]:
        _limit_threads(job["threads"])
    with os.fdopen(channel, "wb") as out:
        for result in _each(job["jobs"], job["budget"]):
            system.give_back_free_memory()  # what one model used is not kept for the next
            data = pickle.dumps(result)
            out.write(_HEADER.pack(len(data)) + data)
            out.flush()


def _limit_threads(threads: int) -> None:
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(threads // 2, 1))
