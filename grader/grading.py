"""Grading one submission: locate each assignment, run its probes (`grader.runner`), judge its checks.

Every failure of the student's code becomes a failed check with a message; only the grader's own faults
raise.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from grader import causes, timing
from grader.errors import LoadError, UsageError
from grader.measure import RebuildLimit
from grader.reference import artifact_path, reference_measurements
from grader.registry import Context, Fail, Rubric, RubricError
from grader.results import AssignmentResult, CheckResult, SubmissionResult
from grader.rubrics import RUBRICS
from grader.runner import ProbeRun, run_assignments
from grader.sandbox import isolation, system
from grader.sandbox.limits import Limits
from grader.submission import StudentSource, candidate_files, load, locate, matches, started


def grade_submission(path: Path, assignments: list[str] | None = None,
                     limits: Limits | None = None, profile: str = "quick",
                     trust_custom_layers: bool = False, only_present: bool = False) -> SubmissionResult:
    """Grade the assignments of one submission folder or file.

    Without `assignments`, every assignment is graded and a missing one scores 0 of its points (a class, Gradescope);
    with `only_present` (a student checking their own work), the ones not started (no file, or only the untouched
    stub) are listed in `extra["missing"]` and not scored.

    `trust_custom_layers`: take the child's own figures for models the grader cannot rebuild (custom layer
    classes, `Lambda`), for low-stakes use; by default their measured checks fail.
    Every assignment's code runs in one child process, which imports TensorFlow once; if the child dies or
    runs out of time on one assignment, that assignment loses what it did not finish and the ones after it
    run in a new child.
    """
    start = time.monotonic()
    limits = limits or Limits()
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    names = _assignments_of(path, assignments)
    files = candidate_files(path) if path.is_dir() else None  # one walk of the folder for every assignment
    missing: list[str] = []
    if only_present and not assignments and files is not None:
        missing = [n for n in names if not started(path, n, files)]
        names = [n for n in names if n not in missing]
    references = {name: reference_measurements(RUBRICS[name], profile) for name in names}
    results: dict[str, AssignmentResult] = {}
    sources: list[tuple[Rubric, StudentSource]] = []
    for name in names:
        rubric, file = RUBRICS[name], None
        try:
            file = path if path.is_file() else locate(path, name, files)
            if file is None:
                raise LoadError(f"no file for '{name}' in the submission: expected {name}.py or {name}.ipynb")
            sources.append((rubric, load(file, name)))
        except LoadError as exc:
            results[name] = _unloaded(rubric, str(exc), file, 0.0)
    folder = path if path.is_dir() else path.parent
    caps = {name: rebuild_limit(references[name]) for name in names}
    slowdown, cap = 1.0, None
    if limits.follow_machine:
        timeout, slowdown = timing.limit(limits.timeout, [_timing_record(RUBRICS[n], profile) for n in names])
        cap = timing.ceiling(limits.budget, len(sources))
        limits = dataclasses.replace(limits, timeout=min(timeout, cap))
    runs = run_assignments(sources, folder, limits, profile=profile, trust_child=trust_custom_layers, limits_of=caps)
    for rubric, source in sources:
        results[rubric.name] = _judged(rubric, source, runs[rubric.name], references[rubric.name], profile)
    extra = {"profile": profile, "protections": isolation.current().describe(),
             "trusted_custom_layers": trust_custom_layers, "missing": missing,
             "time_limit_s": round(limits.timeout, 1), "machine_slowdown": round(slowdown, 2),
             "time_limit_ceiling_s": None if cap is None else round(cap, 1),
             "grader_peak_mb": system.peak_rss_mb()}
    return SubmissionResult(str(path), tuple(results[n] for n in names), time.monotonic() - start, extra)


def _timing_record(rubric: Rubric, profile: str) -> dict[str, Any] | None:
    """The reference's time beside its artifact, where there is one (a student release ships none)."""
    from grader.errors import GraderError

    try:
        return timing.read(artifact_path(rubric, profile))
    except GraderError:
        return None


def rebuild_limit(reference: dict[str, Any]) -> RebuildLimit:
    """The largest model of this assignment the grader rebuilds for a student: twice the reference's largest in
    parameters, and a million more (VGG-16's 138 million allow 278); four times its layers, and a thousand more
    (ResNet-152's 516 allow 3,064; a correct network may spell out what the reference folds into a layer). A forged
    configuration can take neither the grader's memory nor its time."""
    models = [m for m in reference.values() if isinstance(m, dict)]
    params = [m["params"]["trainable"] + m["params"]["non_trainable"] for m in models
              if isinstance(m.get("params"), dict)]
    layers = [len(m["graph"]["nodes"]) for m in models if isinstance(m.get("graph"), dict)]
    return RebuildLimit(params=2 * max(params, default=0) + 1_000_000, layers=4 * max(layers, default=0) + 1_000)


def _assignments_of(path: Path, requested: list[str] | None) -> list[str]:
    for name in requested or []:
        if name not in RUBRICS:
            raise UsageError(f"unknown assignment {name!r}; known: {', '.join(RUBRICS)}")
    if requested:
        return list(requested)
    if path.is_file():
        found = [name for name in RUBRICS if matches(path.name, name)]
        if not found:
            raise UsageError(
                f"cannot tell which assignment {path.name} is: name it after one of "
                f"{', '.join(RUBRICS)} or pass --assignment"
            )
        return found
    files = candidate_files(path)
    if not any(matches(f.name, name) for f in files for name in RUBRICS):
        raise UsageError(
            f"no assignment file found in {path}: expected files named like "
            f"{', '.join(n + '.py' for n in RUBRICS)} (or .ipynb)"
        )
    return list(RUBRICS)


def _judged(rubric: Rubric, source: StudentSource, run: ProbeRun, reference: dict[str, Any], profile: str
            ) -> AssignmentResult:
    start = time.monotonic()
    context = Context(rubric, run.outcomes, reference)
    judged = [(_load_check(rubric, run.problem), [])] + [_judge(rubric, spec, context) for spec in rubric.checks]
    checks = [check for check, _ in judged]
    notes = tuple(dict.fromkeys(o.note for o in run.outcomes.values() if o.note))
    if any("convergence" in p.measures for p in rubric.probes.values()):
        from grader.convergence import training_device

        notes += (f"training: profile {profile} on {training_device()}",)
    return AssignmentResult(rubric.name, source.path.name, tuple(checks), run.seconds + time.monotonic() - start,
                            notes, run.peak_mb, causes.gather(rubric.name, judged))


def _load_check(rubric: Rubric, problem: str | None) -> CheckResult:
    return CheckResult(rubric.name, "load", "the file runs and defines " + ", ".join(rubric.functions), 0, 0,
                       problem is None, problem or "")


def _judge(rubric: Rubric, spec, context: Context) -> tuple[CheckResult, list[causes.Reason]]:
    """One check's result, and what explains it if it failed (`grader.causes`)."""
    context.attached, context.read = {}, []
    public = None
    try:
        message, passed = spec.function(context) or "", True
    except Fail as exc:
        message, passed, public = str(exc), False, exc.public
    except RubricError:  # the rubric reads what its probe does not measure: the grader's fault, never a lost point
        raise
    except Exception as exc:  # a check must never take the grade down with it
        message, passed = f"the grader could not complete this check ({type(exc).__name__}: {exc})", False
    if not passed and not spec.hidden:
        context.failed.append((f"{spec.category}: {spec.description}", message.splitlines()[0] if message else ""))
    message = _within(message, MESSAGE_BUDGET)
    said = message
    if spec.hidden:  # only what says nothing of the hidden calls' arguments and values
        said = (public or context.hidden_cause()) if not passed else ""
        message = "hidden check: " + ("passed" if passed else "failed") + (f". {said}" if said else "")
    reasons = [] if passed else causes.explain(context, spec.category, spec.description, spec.hidden, said)
    return CheckResult(rubric.name, spec.category, spec.description, spec.points if passed else 0,
                       spec.points, passed, message, spec.hidden, dict(context.attached) or None), reasons


MESSAGE_BUDGET = 6000  # characters of one check's message; the longest honest one is about 2,500


def _within(message: str, budget: int) -> str:
    """`message` cut at a line, if need be, to `budget` characters, saying how much was left out."""
    if len(message) <= budget:
        return message
    kept, size = [], 0
    lines = message.splitlines()
    for line in lines:
        if size + len(line) > budget:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:
        kept = [lines[0][: budget].rsplit(" ", 1)[0]]
    left = len(message) - sum(len(k) + 1 for k in kept)
    return "\n".join(kept) + f"\n... ({max(left, 1):,} more characters of this message not shown)"


def _unloaded(rubric: Rubric, reason: str, file: Path | None, elapsed: float) -> AssignmentResult:
    checks = [CheckResult(rubric.name, "load", "the file runs and defines " + ", ".join(rubric.functions),
                          0, 0, False, reason)]
    checks += [CheckResult(rubric.name, s.category, s.description, 0, s.points, False,
                           "not graded: the file could not be loaded (see the load check)", s.hidden)
               for s in rubric.checks]
    return AssignmentResult(rubric.name, file.name if file else None, tuple(checks), elapsed,
                            causes=causes.gather(rubric.name, [(c, []) for c in checks]))
