"""Speed and memory of grading, printed as figures (`make bench`); the targets are in the grader spec.

0. A student's check of one assignment (the reference's gap.py, every training run cached): `grade gap.py` in a
   process of its own (no service), then three times from one shell (the first starts the shell's grading service,
   `grader.service`; the next are warm), and `check("gap")` twice from one Python process, as from a notebook's
   kernel.
1. `grade` on one five-assignment submission, quick profile, with the reference artifacts already cached (as
   for every student after the first): wall time, peak memory of the grader process and of each child.
2. The bare work of the same submission in one plain Python process: import TensorFlow, run the student's
   files, make every call the probes make (each model built once) and train the networks the grader had to
   train (those whose run was not already cached). The ratio of 1 to 2 is the grader's overhead.
3. `grade batch` of a synthetic class of N students (half the reference solutions, a quarter equivalent spellings,
   a quarter the fixtures' and the example's mistakes) with --jobs 1 and 2: students an hour, a class of 200,
   and per worker the largest grader process, child and fork server.

Each measurement starts from a fresh copy of a cache that holds only the reference's artifacts and runs.

    python -m benchmarks.speed [--submission DIR] [--students 40] [--repeat 2] [--skip-batch] [--skip-single]
                               [--skip-student] [--jobs 1 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str], cache: Path, group: Path | None = None
         ) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command with its own grader cache (in memory cgroup `group`, if given); returns wall seconds, the peak
    RSS (MB) of its largest process (itself or any descendant it waited for), and the completed process."""
    env = {**os.environ, "GRADER_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def enter() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, preexec_fn=enter)
        _, status, usage = os.wait4(process.pid, 0)  # wait4, not wait: it also gives the peak memory
        seconds = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read().decode(), err.read().decode())
    return seconds, usage.ru_maxrss / 1024, done


def _fresh(base: Path, into: Path) -> Path:
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(base, into)
    return into


def warm_references(cache: Path) -> float:
    """Compute every reference artifact (and the reference's training runs) into `cache`."""
    code = ("from grader.reference import reference_measurements\nfrom grader.rubrics import RUBRICS\n"
            "for rubric in RUBRICS.values():\n    reference_measurements(rubric, 'quick')\n")
    seconds, _, done = _run([sys.executable, "-c", code], cache)
    if done.returncode:
        sys.exit(f"computing the reference artifacts failed:\n{done.stderr[-3000:]}")
    return seconds


def grade_once(submission: Path, cache: Path, out: Path) -> dict[str, Any]:
    results = out / "results.json"
    seconds, peak, done = _run([sys.executable, "-m", "grader", str(submission), "--json", str(results),
                                "--profile", "quick"], cache)
    if not results.is_file():
        sys.exit(f"grade failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(results.read_text())
    per = report["extra_data"]["assignments"]
    return {"seconds": seconds, "peak_mb": peak, "score": report["score"], "max_score": report["max_score"],
            "assignments": {name: {"seconds": a["execution_time"], "child_peak_mb": a.get("child_peak_mb")}
                            for name, a in per.items()},
            "grader_peak_mb": report["extra_data"].get("grader_peak_mb")}


def bare_once(submission: Path, cache: Path) -> dict[str, Any]:
    seconds, peak, done = _run([sys.executable, "-m", "benchmarks.speed", "--bare", str(submission)], cache)
    if done.returncode:
        sys.exit(f"the bare work failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "peak_mb": peak, **json.loads(done.stdout.strip().splitlines()[-1])}


def bare_work(submission: Path) -> dict[str, Any]:
    """In this process: what grading `submission` cannot avoid doing, with nothing around it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.monotonic()
    import keras
    import tensorflow  # noqa: F401

    imported = time.monotonic() - start
    from grader import child, locations
    from grader.analysis.graph import trace
    from grader.analysis.structure import signature
    from grader.contract import Cell
    from grader.convergence import PROFILES, _run_key, _train
    from grader.measure import rebuild
    from grader.rubrics import RUBRICS
    from grader.submission import load, locate

    calls = trained = 0
    training = 0.0
    for name, rubric in RUBRICS.items():
        file = locate(submission, name)
        if file is None:
            continue
        source = load(file, name)
        cells = [Cell(c.label, c.source) for c in source.cells]
        module, _ = child._execute(name, cells)
        labels = {c.label for c in cells}
        for probe in rubric.probes.values():
            if probe.reference_only:
                continue
            result = child._run_probe(module, probe.call(), labels)
            calls += 1
            if "convergence" not in probe.measures or not result.get("model"):
                continue
            import dataclasses

            budget = dataclasses.replace(PROFILES["quick"], **probe.training)
            config = result["model"]
            key = _run_key(config, signature(trace(rebuild(json.loads(json.dumps(config))))), probe.dataset,
                           budget, 0)
            if (locations.course().cache / "runs" / f"{key}.json").is_file():
                continue  # the grader reuses this run: no training to do
            began = time.monotonic()
            _train(json.loads(json.dumps(config)), probe.dataset, budget, 0)
            training += time.monotonic() - began
            trained += 1
    keras.backend.clear_session()
    return {"import_seconds": round(imported, 2), "calls": calls, "trained": trained,
            "training_seconds": round(training, 2)}


FIXTURES = ROOT / "tests" / "fixtures"
# A realistic class: most students submit a correct network, often spelt their own way; some make the fixtures'
# typical mistakes. Per assignment, what a student of each kind hands in (cycled through).
EQUIVALENT = {"convolution": ["convolution/convolution_equivalent.py"],
              "gap": ["gap/gap_aliases.py", "gap/gap_sequential.py"], "classic": [],
              "inception": ["inception/inception_equivalent.py", "inception/inception_valid_1x1.py"],
              "resnet": ["resnet/resnet_equivalent.py", "resnet/resnet_valid_1x1.py"]}
MISTAKEN = {"convolution": ["convolution/convolution_bugs.py", "convolution/convolution_mistakes.py"],
            "gap": ["gap/gap_no_softmax.py", "gap/gap_wrong_kernel.py", "gap/gap_flatten_dense.py"],
            "classic": [], "inception": ["inception/inception_no_relu.py", "inception/inception_aux_dropout.py"],
            "resnet": ["resnet/resnet_no_identity_shortcut.py", "resnet/resnet_conv_biases.py"]}


# Run as the shell (or the kernel) that owns the service: each call's wall time, as JSON.
_SHELL = """
import json, subprocess, sys, time
times = []
for _ in range(3):
    start = time.monotonic()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times.append(round(time.monotonic() - start, 2))
    assert done.returncode == 0, done.stderr[-2000:]
print(json.dumps(times))
"""
_KERNEL = """
import contextlib, io, json, sys, time
from grader.notebook import check
times = []
for _ in range(2):
    start = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        results = check("gap", sys.argv[1])
    times.append(round(time.monotonic() - start, 2))
    assert results["score"] == results["max_score"], results["output"]
print(json.dumps(times))
"""


def student_check(base: Path, work: Path, file: Path) -> dict[str, Any]:
    """Wall seconds of a student's check of `file`: alone, then first and warm through a shell's and a kernel's
    service (each with a fresh copy of the cache and a folder of its own for the services' sockets)."""
    grade = str(Path(sys.executable).parent / "grade")
    figures: dict[str, Any] = {}
    for label in ("alone", "shell", "kernel"):
        runtime = Path(tempfile.mkdtemp(prefix="grade-bench-run-"))
        env = {**os.environ, "GRADER_CACHE": str(_fresh(base, work / "cache")), "XDG_RUNTIME_DIR": str(runtime),
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        start = time.monotonic()
        if label == "alone":
            done = subprocess.run([grade, str(file), "-q"], env={**env, "GRADER_SERVICE": "0"}, cwd=ROOT,
                                  capture_output=True, text=True)
            figures[label] = [round(time.monotonic() - start, 2)]
        else:
            command = [sys.executable, "-c", _SHELL, grade, str(file), "-q"] if label == "shell" else \
                [sys.executable, "-c", _KERNEL, str(file)]
            done = subprocess.run(command, env={**env, "GRADER_SERVICE": "1"}, cwd=ROOT, capture_output=True,
                                  text=True)
            figures[label] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
        if done.returncode != 0:
            raise RuntimeError(f"the student's check ({label}) failed: {done.stderr[-2000:]}")
        shutil.rmtree(runtime, ignore_errors=True)
    return figures


def make_class(root: Path, submission: Path, students: int) -> dict[str, int]:
    """`students` folders: half the reference solutions, a quarter equivalent spellings, a quarter mistakes (the
    fixtures', and the example submission's); returns how many of each."""
    kinds = {"reference": 0, "equivalent": 0, "mistaken": 0}
    for index in range(students):
        target = root / f"student{index:03d}"
        target.mkdir(parents=True)
        kind = ("reference", "reference", "equivalent", "mistaken")[index % 4]
        kinds[kind] += 1
        for path in sorted((ROOT / "solutions").glob("*.py")):
            name = path.stem
            if name.startswith("_"):
                continue
            choices = {"equivalent": EQUIVALENT, "mistaken": MISTAKEN}.get(kind, {}).get(name, [])
            if kind == "mistaken" and index % 8 == 7:
                source = submission / next(p.name for p in submission.iterdir() if p.stem == name)
            else:
                source = FIXTURES / choices[(index // 4) % len(choices)] if choices else path
            shutil.copy(source, target / f"{name}{source.suffix}")
    return kinds


def batch_once(root: Path, cache: Path, out: Path, jobs: int) -> dict[str, Any]:
    """One `grade batch`: its time, its largest process, and per worker the largest grader process, child and fork
    server (sampled while it runs)."""
    servers = _Sampler("grader.sandbox.forkserver")
    servers.start()
    try:
        with _memory_group() as group:
            seconds, peak, done = _run([sys.executable, "-m", "grader", "batch", str(root), "--out", str(out),
                                        "--jobs", str(jobs), "--force"], cache, group)
            whole = _group_peak_mb(group)
    finally:
        servers.stop()
    if done.returncode:
        sys.exit(f"grade batch failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    grader_mb = child_mb = 0.0
    for path in (out / "results").glob("*.json"):
        extra = json.loads(path.read_text()).get("extra_data", {})
        grader_mb = max(grader_mb, extra.get("grader_peak_mb") or 0)
        child_mb = max([child_mb, *(a.get("child_peak_mb") or 0 for a in extra.get("assignments", {}).values())])
    return {"seconds": seconds, "peak_mb": peak, "grader_mb": grader_mb, "child_mb": child_mb,
            "server_mb": servers.peak_mb, "servers": len(servers.seen), "whole_mb": whole}


@contextlib.contextmanager
def _memory_group() -> Iterator[Path | None]:
    """A fresh memory cgroup (version 1 or 2, no limit) to measure a whole run in, or None where this process may
    not make one (not root)."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").is_file()
    group = Path("/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/memory") / f"grade-bench-{os.getpid()}-{time.time_ns()}"
    try:
        group.mkdir()
    except OSError:
        yield None
        return
    try:
        yield group
    finally:
        for _ in range(50):  # the fork servers leave a moment after their workers
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _group_peak_mb(group: Path | None) -> float | None:
    """The cgroup's peak memory (page cache included, as a container's limit counts it)."""
    if group is None:
        return None
    for name in ("memory.peak", "memory.max_usage_in_bytes"):
        if (group / name).is_file():
            return int((group / name).read_text()) / 2**20
    return None


class _Sampler(threading.Thread):
    """The largest resident memory of any process whose command line holds `marker` and whose parent's does not (a
    fork server, not the children it forked, which keep its command line), sampled twice a second."""

    def __init__(self, marker: str) -> None:
        super().__init__(daemon=True)
        self.marker = marker.encode()
        self.peak_mb = 0.0
        self.seen: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if self.marker not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                    status = Path(f"/proc/{pid}/status").read_text()
                    parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
                    if self.marker in Path(f"/proc/{parent}/cmdline").read_bytes():
                        continue
                except (OSError, StopIteration):
                    continue
                rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
                self.seen.add(pid)
                self.peak_mb = max(self.peak_mb, rss / 1024)

    def stop(self) -> None:
        self.done.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", type=Path, default=ROOT / "examples" / "submission")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2, help="runs of grade and of the bare work (fastest kept)")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--skip-single", action="store_true", help="only the class (3.)")
    parser.add_argument("--skip-student", action="store_true", help="without the student's check (0.)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="the --jobs of each class run")
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        print(json.dumps(bare_work(args.bare.resolve())))
        return

    submission = args.submission.resolve()
    work = Path(tempfile.mkdtemp(prefix="grade-bench-"))
    try:
        base = work / "cache-base"
        base.mkdir()
        print(f"machine: {os.cpu_count()} cores; submission: {submission}")
        print(f"reference artifacts computed once: {warm_references(base):.1f} s (not counted below)")
        if not args.skip_student:
            check = student_check(base, work, ROOT / "solutions" / "gap.py")
            print(f"\n0. a student's check of gap.py: grade alone {check['alone'][0]:.1f} s; from one shell "
                  f"{', '.join(f'{t:.1f}' for t in check['shell'])} s (the first starts the service); check(\"gap\") "
                  f"from one kernel {', '.join(f'{t:.1f}' for t in check['kernel'])} s", flush=True)

        grades, bares = [], []
        # Alternated, so that a slow spell of a shared machine hits both.
        for _ in range(0 if args.skip_single else args.repeat):
            grades.append(grade_once(submission, _fresh(base, work / "cache"), work / "grade"))
            bares.append(bare_once(submission, _fresh(base, work / "cache")))
        if not args.skip_single:
            grade = min(grades, key=lambda g: g["seconds"])
            bare = min(bares, key=lambda b: b["seconds"])
            if args.repeat > 1:
                times = [", ".join(f"{run['seconds']:.1f}" for run in runs) for runs in (grades, bares)]
                print(f"runs: grade {times[0]} s; bare work {times[1]} s; the fastest of each below")
            print(f"\n1. grade, quick profile: {grade['seconds']:.1f} s, score {grade['score']:g}/"
                  f"{grade['max_score']:g}; largest process {grade['peak_mb']:,.0f} MB; grader process "
                  f"{grade['grader_peak_mb'] or 0:,.0f} MB")
            for name, figures in grade["assignments"].items():
                peak = figures["child_peak_mb"]
                print(f"   {name:12s} {figures['seconds']:6.1f} s   child peak {peak or 0:7,.0f} MB")
            print(f"2. bare work: {bare['seconds']:.1f} s (TensorFlow import {bare['import_seconds']} s, "
                  f"{bare['calls']} calls, {bare['trained']} networks trained in {bare['training_seconds']} s); "
                  f"peak {bare['peak_mb']:,.0f} MB")
            print(f"   ratio grade / bare work: {grade['seconds'] / bare['seconds']:.2f}")

        if not args.skip_batch:
            root = work / "class"
            kinds = make_class(root, submission, args.students)
            print(f"3. grade batch of a synthetic class of {args.students} students "
                  f"({', '.join(f'{n} {k}' for k, n in kinds.items())}):")
            for jobs in args.jobs:
                figures = batch_once(root, _fresh(base, work / "cache"), work / f"batch{jobs}", jobs)
                per = figures["seconds"] / args.students
                print(f"   --jobs {jobs}: {figures['seconds']:.1f} s ({per:.1f} s a student, "
                      f"{3600 / per:.0f} students an hour, a class of 200 in {200 * per / 60:.0f} min), largest "
                      f"process {figures['peak_mb']:,.0f} MB; per worker at most: grader {figures['grader_mb']:,.0f} "
                      f"MB, child {figures['child_mb']:,.0f} MB, fork server {figures['server_mb']:,.0f} MB "
                      f"({figures['servers']} servers)", flush=True)
                if figures["whole_mb"]:
                    print(f"   the whole run in a memory cgroup (page cache included): at most "
                          f"{figures['whole_mb']:,.0f} MB, {figures['whole_mb'] / jobs:,.0f} MB a worker", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
