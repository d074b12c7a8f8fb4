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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.sandbox.limits import Limits

_MAX_UNZIPPED_BYTES = 50_000_000


@dataclass(frozen=True)
class Student:
    name: str
    path: Path  # a folder, or a .zip to unpack first


def student_name(path: Path) -> str:
    """The name a student's folder or zip is graded under, and their files are written under: letters, digits and
    `._@+-` kept, anything else `_`, no leading dot. It cannot be `.`, `..`, hidden or a path.

    >>> student_name(Path("...zip")), student_name(Path("Ana María (2)")), student_name(Path("../bob.zip"))
    ('__', 'Ana_María__2_', 'bob')
    """
    raw = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    name = "".join(c if c.isalnum() or c in "._@+-" else "_" for c in raw)
    return name.lstrip(".") or "_" * len(name) or "_"


def students(root: Path) -> list[Student]:
    """Every student under `root`: each subfolder and each `.zip`, by `student_name`. Two sources that would be
    graded under one name (`erin/` and `erin.zip`, `a b/` and `a_b/`) are refused by name, before anything is
    graded: neither may silently replace the other."""
    if not root.is_dir():
        raise UsageError(f"no such folder: {root}")
    found = [Student(student_name(p), p) for p in sorted(root.iterdir())
             if (p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
             or (p.suffix.lower() == ".zip" and p.is_file() and not p.is_symlink())]
    if not found:
        raise UsageError(f"no student folders or .zip files in {root}")
    sources: dict[str, list[str]] = {}
    for student in found:
        sources.setdefault(student.name.lower(), []).append(student.path.name)
    clashes = {name: paths for name, paths in sources.items() if len(paths) > 1}
    if clashes:
        said = "; ".join(f"{' and '.join(repr(p) for p in paths)}" for paths in clashes.values())
        raise UsageError(f"two submissions would be graded as one student: {said}. Rename or remove one of each "
                         "pair; nothing was graded")
    return found


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


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack a student's zip safely into a fresh `folder` (nothing left from before; no paths outside it; a size
    cap); returns the folder."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(archive) as bundle:
        total = 0
        for member in bundle.infolist():
            target = (folder / member.filename).resolve()
            if not target.is_relative_to(folder.resolve()):
                continue  # a path that climbs out of the folder is skipped
            total += member.file_size
            if total > _MAX_UNZIPPED_BYTES:
                break
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    return folder


def _grade_one(student: Student, out: str, assignments: list[str] | None, limits: Limits, profile: str,
               threads: int, trust_custom_layers: bool = False) -> dict[str, Any]:
    """Grade one student in a worker process and write its JSON; returns a short summary."""
    _limit_threads(threads)
    limits = dataclasses.replace(limits, threads=threads)
    from grader.grading import grade_submission
    from grader.reports import gradescope

    results = Path(out) / "results"
    path = student.path
    try:
        if path.suffix.lower() == ".zip":
            try:
                path = unpack(path, Path(out) / "unpacked" / student.name)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UsageError(f"{student.path.name} could not be unpacked: {exc}") from exc
        result = grade_submission(path, assignments, limits, profile, trust_custom_layers)
        report = gradescope.to_dict(result)
        from grader.reports import feedback

        feedback.write(result, Path(out) / "feedback" / student.name)  # the page returned to the student
    except UsageError as exc:
        # What the student handed in cannot be graded (a zip that is no zip, no assignment file at all): 0 of the
        # same maximum, with the reason.
        report = _ungraded(assignments, f"not graded: {exc}", {"error": str(exc)})
    except Exception as exc:  # a fault of the grader: reported as such, never as the student's zero
        detail = "".join(traceback.format_exception_only(exc)).strip()
        report = _ungraded(assignments, "The autograder could not grade this submission; the course staff have been "
                           "told.", {"grader_error": detail, "traceback": traceback.format_exc()[-4000:]})
    target = results / f"{student.name}.json"
    tmp = target.with_suffix(".tmp")
    data = json.dumps(report, indent=1, sort_keys=True).encode()
    tmp.write_bytes(data)
    tmp.replace(target)
    return {"student": student.name, "score": report["score"], "max_score": report["max_score"],
            "digest": hashlib.sha256(data).hexdigest()}


def _ungraded(assignments: list[str] | None, output: str, extra: dict[str, Any]) -> dict[str, Any]:
    from grader.rubrics import RUBRICS

    names = [n for n in assignments or RUBRICS if n in RUBRICS]
    return {"score": 0, "max_score": sum(RUBRICS[n].max_score for n in names), "tests": [], "output": output,
            "extra_data": {"assignments": {n: {"score": 0, "max_score": RUBRICS[n].max_score} for n in names},
                           **extra}}


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
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
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
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for future in [pool.submit(_reference, name, profile) for name in missing]:
            future.result()


def _reference(name: str, profile: str) -> None:
    from grader.reference import reference_measurements
    from grader.rubrics import RUBRICS

    reference_measurements(RUBRICS[name], profile)


def summarize(out: Path, names: list[str], fail_under: float | None = None,
              roster: dict[str, dict[str, str]] | None = None, title: str = "CNN assignments") -> dict[str, Any]:
    """`grades.csv`, `summary.md` (Markdown, e.g. for a CI job's summary), `junit.xml` and `histogram.png` from the
    results of `names`; `below` lists the students under `fail_under` percent."""
    reports = {}
    for name in names:
        path = out / "results" / f"{name}.json"
        if path.is_file():
            reports[name] = json.loads(path.read_text())
    assignments = sorted({a for r in reports.values() for a in r["extra_data"].get("assignments", {})})
    from grader.reports.escape import csv_writer, markdown

    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(["student", *assignments, "total", "max_score", "percent", "grader_error"])
        for name, report in sorted(reports.items()):
            per = report["extra_data"].get("assignments", {})
            top = report["max_score"] or sum(a.get("max_score", 0) for a in per.values()) or None
            percent = f"{100 * report['score'] / top:.1f}" if top else "0.0"
            writer.writerow([name, *(per.get(a, {}).get("score", "") for a in assignments), report["score"],
                             top if top is not None else "", percent,
                             report["extra_data"].get("grader_error", "")])
    failed = Counter(t["name"] for r in reports.values() for t in r["tests"] if t["status"] == "failed")
    percent = {name: 100 * r["score"] / r["max_score"] if r["max_score"] else 0.0 for name, r in reports.items()}
    percents = list(percent.values())
    broken = sorted(name for name, report in reports.items() if report["extra_data"].get("grader_error"))
    below = sorted(n for n in reports if fail_under is not None and percent[n] < fail_under and n not in broken)
    lines = [f"# Class summary: {len(reports)} students", ""]
    if percents:
        lines += [f"Mean {sum(percents) / len(percents):.1f}%, lowest {min(percents):.1f}%, "
                  f"highest {max(percents):.1f}%.", "", "![scores](histogram.png)", ""]
    if broken:
        lines += [f"**The grader itself failed on {len(broken)} student(s), not graded:** "
                  f"{markdown(', '.join(broken))} "
                  "(`grader_error` in grades.csv).", ""]
    if fail_under is not None:
        lines += [f"Below {fail_under:g}%: {markdown(', '.join(below)) if below else 'nobody'}.", ""]
    from grader.reports.summary import first_line

    causes: dict[str, Counter] = {}
    for report in reports.values():
        for t in report["tests"]:
            if t["status"] == "failed" and t.get("visibility") == "visible":
                causes.setdefault(t["name"], Counter())[first_line(t["output"], 160)] += 1
    lines += ["## Checks failed most often", "", "| students | check | the cause named most often |", "|---|---|---|"]
    for name, count in failed.most_common(15):
        cause, times = (causes.get(name) or Counter({"(hidden)": count})).most_common(1)[0]
        lines.append(f"| {count} | {markdown(name)} | {markdown(cause)} ({times}) |")
    lines += ["", "## Students", "", "| student | " + " | ".join(assignments) + " | total | percent |",
              "|---|" + "---:|" * (len(assignments) + 2)]
    for name, report in sorted(reports.items()):
        per = report["extra_data"].get("assignments", {})
        cells = [f"{per[a]['score']:g}" if a in per else "" for a in assignments]
        flag = " (grader failed)" if name in broken else " (below)" if name in below else ""
        lines.append(f"| {markdown(name)}{flag} | " + " | ".join(cells)
                     + f" | {report['score']:g} / {report['max_score']:g} | {percent[name]:.1f}% |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    from grader.reports import junit

    (out / "junit.xml").write_text(junit.render(sorted(reports.items())))
    from grader.reports import class_index

    (out / "index.html").write_text(class_index.render(out, reports, assignments, below, broken))
    _histogram(percents, out / "histogram.png")
    unrostered: list[str] = []
    if roster is not None:
        from grader.reports import gradebook

        (out / "canvas.csv").write_text(gradebook.canvas(reports, roster, title))
        (out / "moodle.csv").write_text(gradebook.moodle(reports, roster, title, assignments))
        unrostered, _ = gradebook.unmatched(reports, roster)
    return {"students": len(reports), "most_failed": failed.most_common(5), "grader_failures": broken,
            "below": below, "unrostered": unrostered}


def _histogram(percents: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.hist(percents, bins=[i * 10 for i in range(11)], color="#4477aa", edgecolor="white")
    axes.set_xlabel("score (%)")
    axes.set_ylabel("students")
    axes.set_title(f"{len(percents)} students")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
