"""Grading a whole class: one student per subfolder or `.zip` of a root folder, in parallel, resumable.

Each student's result is written to `<out>/results/<student>.json` (Gradescope's format) as soon as it is
known, so that an interrupted run resumes where it stopped; `grades.csv` and the class summary are made from
those files at the end.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grader import settings
from grader.errors import UsageError
from grader.results import ClassResult
from grader.sandbox.limits import Limits
from grader.submission import Student, students, unpack


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Whether student `name` belongs to shard K of N (1-based): by a hash of the name, so that a student stays in
    the same shard whoever else is in the class.

    >>> [in_shard("alice", (k, 3)) for k in (1, 2, 3)].count(True)
    1
    """
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % n == k - 1


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` as (K, N), with 1 <= K <= N; a UsageError otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard takes K/N (say 2/4), not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be from 1 to N")
    return k, n


def merge(parts: list[Path], out: Path, fail_under: float | None = None,
          roster: dict[str, dict[str, str]] | None = None, title: str = "CNN assignments") -> dict[str, Any]:
    """Bring the results and pages of several shards' output folders into `out` and summarize them as one run."""
    names: set[str] = set()
    (out / "results").mkdir(parents=True, exist_ok=True)
    merged: dict[str, str] = {}
    for part in parts:
        found = sorted((part / "results").glob("*.json"))
        if not found:
            raise UsageError(f"no results in {part / 'results'}: is it the output folder of a grade batch --shard run?")
        ledger = read_ledger(part)
        for result in found:
            if result.stem in names:
                raise UsageError(f"{result.stem} was graded in two of the folders merged; merge each shard once")
            if not written_by_us(result, ledger):
                raise UsageError(f"{result} is not the result grade batch wrote for {result.stem} (its {LEDGER} "
                                 "says otherwise): grade that shard again")
            names.add(result.stem)
            merged[result.stem] = ledger[result.stem]
            shutil.copy2(result, out / "results" / result.name)
            pages = part / "feedback" / result.stem
            if pages.is_dir():
                shutil.copytree(pages, out / "feedback" / result.stem, dirs_exist_ok=True)
    write_ledger(out, merged)
    return summarize(out, sorted(names), fail_under, roster, title)


def _grade_one(student: Student, out: str, assignments: list[str] | None, limits: Limits, profile: str,
               threads: int, trust_custom_layers: bool = False) -> dict[str, Any]:
    """Grade one student in a worker process and write its JSON and pages; returns a short summary."""
    _limit_threads(threads)
    limits = dataclasses.replace(limits, threads=threads)
    from grader.grading import grade_submission
    from grader.reports import gradescope
    from grader.reports.outputs import Outputs, write, write_atomically

    target = Path(out) / "results" / f"{student.name}.json"
    path = student.path
    try:
        if path.suffix.lower() == ".zip":
            try:
                path = unpack(path, Path(out) / "unpacked" / student.name)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UsageError(f"{student.path.name} could not be unpacked: {exc}") from exc
        result = grade_submission(path, assignments, limits, profile, trust_custom_layers)
        # the page returned to the student beside the result
        data = write(result, Outputs(json=target, feedback=Path(out) / "feedback" / student.name))
    except UsageError as exc:
        # What the student handed in cannot be graded (a zip that is no zip, no assignment file at all): 0 of the
        # same maximum, with the reason.
        data = write_atomically(target, gradescope.ungraded(_maxima(assignments), f"not graded: {exc}",
                                                            {"error": str(exc)}))
    except Exception as exc:  # a fault of the grader: reported as such, never as the student's zero
        detail = "".join(traceback.format_exception_only(exc)).strip()
        data = write_atomically(target, gradescope.ungraded(
            _maxima(assignments), "The autograder could not grade this submission; the course staff have been told.",
            {"grader_error": detail, "traceback": traceback.format_exc()[-4000:]}))
    assert data is not None
    report = json.loads(data)
    return {"student": student.name, "score": report["score"], "max_score": report["max_score"],
            "digest": hashlib.sha256(data).hexdigest()}


def _maxima(assignments: list[str] | None) -> dict[str, float]:
    """The points of each assignment graded (an unknown name is the student's usage error, graded 0 of nothing)."""
    from grader.rubrics import RUBRICS

    return {n: RUBRICS[n].max_score for n in assignments or RUBRICS if n in RUBRICS}


LEDGER = "ledger.json"  # in the output folder: each result file's digest as grade batch wrote it, by student


def read_ledger(out: Path) -> dict[str, str]:
    try:
        found = json.loads((out / LEDGER).read_text())
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
    except (OSError, ValueError, AttributeError):
        return {}


def write_ledger(out: Path, ledger: dict[str, str]) -> None:
    tmp = out / f"{LEDGER}.tmp"
    tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True))
    tmp.replace(out / LEDGER)


def written_by_us(result: Path, ledger: dict[str, str]) -> bool:
    """Whether `result` is the file grade batch wrote for its student: anything else found there (planted, edited,
    left by another run) is never trusted, and the student is graded again."""
    try:
        return ledger.get(result.stem) == hashlib.sha256(result.read_bytes()).hexdigest()
    except OSError:
        return False


def _graded(result: Path, ledger: dict[str, str] | None = None) -> bool:
    """Whether a student already has a result this batch wrote: a grader failure is graded again on the next run."""
    if ledger is not None and not written_by_us(result, ledger):
        return False
    try:
        return not json.loads(result.read_text())["extra_data"].get("grader_error")
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _limit_threads(threads: int) -> None:
    """Share the cores between the workers: TensorFlow would otherwise start a pool per core in each."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from grader import measurer

    if measurer.apart():  # this worker has no TensorFlow: its measurers are given the count (Limits.threads)
        return
    from grader.quiet import native_stderr

    with native_stderr():
        import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(threads // 2, 1))
    except RuntimeError:  # already initialised in this worker
        pass


def grade_class(root: Path, out: Path, *, jobs: int = 1, force: bool = False, assignments: list[str] | None = None,
                limits: Limits | None = None, profile: str = "quick",
                progress: Callable[[Iterator[Any], int], Iterator[Any]] | None = None,
                trust_custom_layers: bool = False, fail_under: float | None = None,
                roster: Path | None = None, title: str = "CNN assignments",
                shard: tuple[int, int] | None = None) -> dict[str, Any]:
    """Grade every student under `root` into `out`; returns what was graded, skipped and the summary. With a
    `roster`, the grades are also exported for Canvas and Moodle (`grader.reports.gradebook`) under `title`."""
    from grader.reports import gradebook

    people = gradebook.read_roster(roster) if roster is not None else None  # a bad roster stops before any grading
    limits = limits or Limits()
    everyone = [s for s in students(root) if in_shard(s.name, shard)]  # with --shard K/N, this run's slice
    (out / "results").mkdir(parents=True, exist_ok=True)
    ledger = read_ledger(out)
    todo = [s for s in everyone if force or not _graded(out / "results" / f"{s.name}.json", ledger)]
    threads = max((os.cpu_count() or 1) // max(jobs, 1), 1)
    done: list[dict[str, Any]] = []
    if todo:
        reference_first(assignments, profile, jobs)
        context = multiprocessing.get_context("spawn")  # a clean interpreter per worker, TensorFlow imported once
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                    initializer=settings.use, initargs=(settings.current(),)) as pool:
            futures = [pool.submit(_grade_one, s, str(out), assignments, limits, profile, threads,
                                   trust_custom_layers) for s in todo]
            finished = concurrent.futures.as_completed(futures)
            for future in progress(finished, len(futures)) if progress else finished:
                done.append(future.result())
                ledger[done[-1]["student"]] = done[-1]["digest"]
                write_ledger(out, ledger)  # as each result comes: an interrupted run resumes from it
    summary = summarize(out, [s.name for s in everyone], fail_under, people, title)
    return {"graded": [d["student"] for d in done], "skipped": len(everyone) - len(todo), **summary}


def reference_first(assignments: list[str] | None, profile: str, jobs: int = 1) -> None:
    """Compute any reference artifact not cached yet here, once, `jobs` at a time, before the workers start: else
    each worker would compute the same one at the same time."""
    from grader.reference import artifact_path
    from grader.rubrics import RUBRICS

    # An unknown name is each student's usage error, reported in their result.
    missing = [n for n in assignments or RUBRICS if n in RUBRICS and not artifact_path(RUBRICS[n], profile).is_file()]
    if jobs <= 1 or len(missing) <= 1:
        for name in missing:
            _reference(name, profile)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=settings.use,
                                                initargs=(settings.current(),)) as pool:
        for future in [pool.submit(_reference, name, profile) for name in missing]:
            future.result()


def _reference(name: str, profile: str) -> None:
    from grader.reference import reference_measurements
    from grader.rubrics import RUBRICS

    reference_measurements(RUBRICS[name], profile)


def summarize(out: Path, names: list[str], fail_under: float | None = None,
              roster: dict[str, dict[str, str]] | None = None, title: str = "CNN assignments") -> dict[str, Any]:
    """The class summary of the results of `names` in `out` (`grader.reports.class_summary`)."""
    from grader.reports import class_summary

    return class_summary.write(ClassResult.read(out, names), out, fail_under, roster, title)
