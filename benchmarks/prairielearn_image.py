"""PrairieLearn's external grader, end to end, in a clean Debian root: the image built as its Dockerfile says, then the
entry point run for each assignment as PrairieLearn runs a job (the student's files in /grade/student, no network,
memory and CPU capped at PrairieLearn's defaults), and results.json checked against PrairieLearn's documented fields.
Run as root (not in `make test`):

    python -m benchmarks.prairielearn_image [--suite bookworm] [--memory-mb 2048] [--cpus 0.9] [--record FILE]
                                            [--no-namespaces]

1. A minimal root of the Debian release (debootstrap --variant=minbase, as debian:bookworm-slim: no Python), made
   once and kept in --base (shared with benchmarks.gradescope_image), copied afresh.
2. `grade prairielearn` makes the image folder; what its Dockerfile copies goes to /cnn-grader and its RUN line
   (`setup.sh`) runs there as root, in a chroot with its own mount namespace, /proc, /sys and /dev.
3. For each assignment, the reference solution and the example submission's file: a fresh /grade with the file in
   /grade/student, then `/cnn-grader/run ASSIGNMENT` in fresh memory and CPU cgroups and a network namespace of its
   own (a new container each time: nothing warm), timed against the timeout `grade prairielearn` writes.
4. With --no-namespaces, as in a container with Docker's default capabilities (no CAP_SYS_ADMIN, so no jail): the
   same jobs, and for gap two more: a hostile file that tries to read the solution, the artifact and the hidden
   checks, and one that says which user it runs as (it must be an unprivileged one of the grader's, not root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.gradescope_image import REPO, _chroot, _limited, fresh_root

# PrairieLearn's fields (docs/externalGrading.md), top level and per test.
TOP = {"gradable": bool, "score": (int, float), "message": str, "output": str, "tests": list, "images": list,
       "format_errors": (str, list), "points": (int, float), "max_points": (int, float)}
TEST = {"name": str, "description": str, "points": (int, float), "max_points": (int, float), "message": str,
        "output": str, "images": list}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--base", type=Path, default=None, help="where the pristine root is kept")
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--cpus", type=float, default=0.9)
    parser.add_argument("--submission", type=Path, default=REPO / "examples" / "submission")
    parser.add_argument("--assignment", "-a", action="append", default=[])
    parser.add_argument("--record", type=Path, default=None, help="append the record to this file")
    parser.add_argument("--no-namespaces", action="store_true", help="as without CAP_SYS_ADMIN: no jail")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: debootstrap, chroot and cgroups need it")
    from grader.prairielearn import TIMEOUTS
    from grader.rubrics import RUBRICS

    names = args.assignment or list(RUBRICS)
    base = args.base or Path(f"/var/tmp/gradescope-{args.suite}-base")
    lines = [f"# PrairieLearn's external grader in a clean Debian {args.suite} root ({time.strftime('%Y-%m-%d')})",
             f"limits: {args.memory_mb} MB of memory, {args.cpus:g} CPU, no network; each job a fresh root process"
             + ("; no namespaces (GRADER_NO_NAMESPACES=1, as without CAP_SYS_ADMIN)" if args.no_namespaces else "")]
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="prairielearn-root-", dir="/var/tmp") as work:
        root = fresh_root(args.suite, base, Path(work), lines, "PrairieLearn")
        cert = "PIP_CERT=/etc/host-proxy-ca.crt " if (root / "etc" / "host-proxy-ca.crt").is_file() else ""
        made = Path(work) / "pl"
        only = [x for n in names for x in ("-a", n)]
        subprocess.run([sys.executable, "-m", "grader", "prairielearn", "--out", str(made), *only], check=True,
                       cwd=REPO, stdout=subprocess.DEVNULL)
        dockerfile = (made / "image" / "Dockerfile").read_text()
        copy = next(line.split()[1:] for line in dockerfile.splitlines() if line.startswith("COPY "))
        run = next(line.removeprefix("RUN ") for line in dockerfile.splitlines() if line.startswith("RUN "))
        shutil.copytree(made / "image" / copy[0], root / copy[1].lstrip("/"), symlinks=True)
        start = time.monotonic()
        setup = _chroot(root, cert + run, capture=True)
        lines.append(f"the Dockerfile's RUN ({run}): {time.monotonic() - start:.0f} s; "
                     + " | ".join(setup.strip().splitlines()[-2:]))
        lines.append(f"{'assignment':<12} {'submission':<28} {'seconds':>7} {'timeout':>7} {'peak MB':>8}  result")
        for name in names:
            timeout = json.loads((made / "questions" / name / "info.json").read_text())["externalGradingOptions"]
            entry, limit = timeout["entrypoint"], timeout["timeout"]
            assert limit == TIMEOUTS.get(name, limit)
            found = [p for p in args.submission.iterdir() if p.stem == name]
            jobs = [("reference", REPO / "solutions" / f"{name}.py"), *((f"example {p.name}", p) for p in found)]
            if args.no_namespaces and name == "gap":
                who = Path(work) / "who" / "gap.py"
                who.parent.mkdir()
                who.write_text("import os\nraise RuntimeError(f'running as user {os.getuid()}')\n")
                jobs += [("hostile gap_reads_reference", REPO / "tests" / "fixtures" / "hostile" /
                          "gap_reads_reference.py"), ("which user", who)]
            for label, source in jobs:
                job = root / "grade"
                shutil.rmtree(job, ignore_errors=True)
                (job / "student").mkdir(parents=True)
                shutil.copy(source, job / "student" / (f"{name}.py" if label.startswith(("hostile", "which"))
                                                       else source.name))
                variables = {**timeout.get("environment", {}), **({"GRADER_NO_NAMESPACES": "1"}
                                                                  if args.no_namespaces else {})}
                environment = " ".join(f"{k}={v}" for k, v in variables.items())
                start = time.monotonic()
                peak = _limited(root, f"env {environment} {entry} > /grade/stdout 2>&1", args.memory_mb, args.cpus,
                                network=False)
                seconds = time.monotonic() - start
                results_file = job / "results" / "results.json"
                report = json.loads(results_file.read_text()) if results_file.is_file() else {}
                wrong = check_results(report) + ([f"{seconds:.0f} s, past the timeout {limit} s"]
                                                 if seconds > limit else [])
                problems += [f"{name} {label}: {w}" for w in wrong]
                said = (f"{report.get('points', 0):g} / {report.get('max_points', 0):g} (score "
                        f"{report.get('score', 0):.3f})" if report.get("gradable", True) else
                        f"not gradable: {report.get('format_errors')}")
                if label == "which user":
                    said = next((t["output"] for t in report.get("tests", [])), str(report.get("format_errors")))
                    said = "the child: " + said.split("RuntimeError: ")[-1].splitlines()[0]
                    if "running as user 0" in said:
                        wrong.append("the child ran as root")
                lines.append(f"{name:<12} {label:<28} {seconds:>7.1f} {limit:>7} {peak:>8.0f}  {said}"
                             + (f"  PROBLEMS: {'; '.join(wrong)}" if wrong else ""))
                if not report:
                    lines.append("  output: " + (job / "stdout").read_text()[-1500:])
            size = results_file.stat().st_size if results_file.is_file() else 0
            lines.append(f"  results.json {size:,} bytes (PrairieLearn's limit 1 MB)")
    lines.append("fields as PrairieLearn documents them, every job within its timeout" if not problems else
                 "PROBLEMS: " + "; ".join(problems))
    record = "\n".join(lines) + "\n"
    print(record)
    if args.record:
        with args.record.open("a") as f:
            f.write(record + "\n")
    return 1 if problems else 0


def check_results(report: dict) -> list[str]:
    """What in `report` breaks PrairieLearn's documented format (empty when nothing does)."""
    if not report:
        return ["no results.json"]
    problems = [f"{key}: {type(value).__name__}" for key, value in report.items()
                if key in TOP and not isinstance(value, TOP[key])]
    if report.get("gradable", True):
        if not 0 <= report.get("score", -1) <= 1:
            problems.append(f"score {report.get('score')!r} not in [0, 1]")
    elif not report.get("format_errors"):
        problems.append("not gradable, and no reason given")
    for test in report.get("tests", []):
        problems += [f"test {test.get('name')!r}: {key}" for key, kinds in TEST.items()
                     if key in test and not isinstance(test[key], kinds)]
    if len(json.dumps(report).encode()) > 1_000_000:
        problems.append("more than 1 MB")
    return problems


if __name__ == "__main__":
    sys.exit(main())
