"""Grading one submission: locate each assignment, run its probes in a child, measure, judge.

Every failure of the student's code becomes a failed check with a message; only the grader's own faults
raise.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from pathlib import Path

from grader import sandbox
from grader.errors import LoadError, UsageError
from grader.reference import reference_measurements
from grader.registry import Context, Fail, Outcome, Rubric
from grader.results import AssignmentResult, CheckResult, SubmissionResult
from grader.rubrics import RUBRICS
from grader.submission import StudentSource, load, locate, matches


def grade_submission(path: Path, assignments: list[str] | None = None,
                     limits: sandbox.Limits | None = None, profile: str = "quick") -> SubmissionResult:
    """Grade the assignments of one submission folder or file."""
    start = time.monotonic()
    limits = limits or sandbox.Limits()
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    names = _assignments_of(path, assignments)
    results = tuple(grade_assignment(RUBRICS[name], path, limits, profile) for name in names)
    extra = {"profile": profile, "protections": sandbox.isolation().describe()}
    return SubmissionResult(str(path), results, time.monotonic() - start, extra)


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
    from grader.submission import candidate_files

    files = candidate_files(path)
    if not any(matches(f.name, name) for f in files for name in RUBRICS):
        raise UsageError(
            f"no assignment file found in {path}: expected files named like "
            f"{', '.join(n + '.py' for n in RUBRICS)} (or .ipynb)"
        )
    return list(RUBRICS)


def grade_assignment(rubric: Rubric, path: Path, limits: sandbox.Limits, profile: str = "quick"
                     ) -> AssignmentResult:
    """Grade one assignment of a submission; never raises for anything the student did."""
    start = time.monotonic()
    reference = reference_measurements(rubric, profile)
    file = None
    try:
        file = path if path.is_file() else locate(path, rubric.name)
        if file is None:
            raise LoadError(f"no file for '{rubric.name}' in the submission: expected {rubric.name}.py "
                            f"or {rubric.name}.ipynb")
        source = load(file, rubric.name)
    except LoadError as exc:
        return _unloaded(rubric, str(exc), file, time.monotonic() - start)

    folder = path if path.is_dir() else path.parent
    outcomes, problem = run_probes(rubric, source, folder, limits, profile=profile)
    checks = [_load_check(rubric, problem)]
    context = Context(rubric, outcomes, reference)
    checks += [_judge(rubric, spec, context) for spec in rubric.checks]
    notes = tuple(dict.fromkeys(o.note for o in outcomes.values() if o.note))
    if any("convergence" in p.measures for p in rubric.probes.values()):
        from grader.convergence import device_name

        notes += (f"training: profile {profile} on {device_name()}",)
    return AssignmentResult(rubric.name, file.name, tuple(checks), time.monotonic() - start, notes)


def run_probes(rubric: Rubric, source: StudentSource, folder: Path, limits: sandbox.Limits,
               reference: bool = False, profile: str = "quick") -> tuple[dict[str, Outcome], str | None]:
    """Run every probe in one child and measure what came back; returns outcomes and a load problem."""
    probes = [p for p in rubric.probes.values() if reference or not p.reference_only]
    job = {
        "module": rubric.name,
        "cells": [{"label": c.label, "source": c.source} for c in source.cells],
        "functions": list(rubric.functions),
        "probes": [p.job() for p in probes],
    }
    measured: dict[str, Outcome] = {}

    def measure_now(message: dict) -> None:  # runs while the child goes on with the next probe
        if message.get("type") == "probe" and message.get("id") in rubric.probes:
            measured[message["id"]] = _measure(rubric, rubric.probes[message["id"]], message, profile)

    _import_keras_in_background()
    run = sandbox.run_child(job, folder, limits, on_message=measure_now)
    failure = run.failure()
    if failure:
        frames = sandbox.stuck_at(run.output, {c.label for c in source.cells})
        if frames and run.stop_reason and "time limit" in run.stop_reason:
            failure += f"; it was running {frames[0]}"
    loaded = run.of_type("load")
    started = {m["id"] for m in run.of_type("started")}
    file = source.path.name
    problem = None
    if not loaded:
        problem = f"{failure or 'the code could not be run'} (while running {file} itself)"
    elif loaded[0].get("error"):
        problem = f"running {file} raised {loaded[0]['error']}"
    defined = set(loaded[0].get("defined", [])) if loaded else set()
    missing = [f for f in rubric.functions if f not in defined]
    if loaded and missing:
        note = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined in {file}"
        problem = f"{problem}\n{note}" if problem else note

    outcomes: dict[str, Outcome] = {}
    for probe in probes:
        if not loaded:
            outcomes[probe.id] = Outcome(error=problem)
        elif probe.function not in defined:
            outcomes[probe.id] = Outcome(error=f"{probe.function} is not defined in {file}")
        elif probe.id in measured:
            outcomes[probe.id] = measured[probe.id]
        elif probe.id in started:
            outcomes[probe.id] = Outcome(error=failure or "the call did not finish")
        else:
            outcomes[probe.id] = Outcome(error=f"not run: {failure or 'the run ended before this call'}")
    return outcomes, problem


_warming: threading.Thread | None = None


def _import_keras_in_background() -> None:
    """Import TensorFlow here while the child imports it there: measuring needs it once the child is done."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=lambda: __import__("keras"), daemon=True)
        _warming.start()


def _measure(rubric: Rubric, probe, message: dict, profile: str) -> Outcome:
    if message.get("error"):
        hint = rubric.hint_for(message["error"])
        return Outcome(error=message["error"] + (f"\nHint: {hint}" if hint else ""))
    if probe.value:
        return Outcome(returned=message.get("returned"), measured={"value": message.get("value")})
    if message.get("model") is None:
        return Outcome(returned=message.get("returned"))
    from grader.measure import RebuildError, measure, rebuild  # imports TensorFlow: only when needed

    if message.get("foreign"):
        return _measured_in_child(probe, message)
    config = copy.deepcopy(message["model"]) if "convergence" in probe.measures else None
    try:
        model = rebuild(message["model"])
        measured = measure(model, probe.sizes, probe.measures)
    except RebuildError as exc:
        return Outcome(returned=message.get("returned"), error=str(exc))
    if config is not None:
        from grader.analysis.graph import trace
        from grader.analysis.structure import signature
        from grader.convergence import PROFILES, train

        try:
            budget = dataclasses.replace(PROFILES[profile], **probe.training)
            measured["convergence"] = train(config, signature(trace(model)), probe.dataset, budget)
        except Exception as exc:  # a network that cannot be trained is a result, not a crash
            measured["convergence"] = {"error": f"training failed: {str(exc).strip().splitlines()[0][:300]}"}
    return Outcome(returned=message.get("returned"), measured=measured)


def _measured_in_child(probe, message: dict) -> Outcome:
    """A model with custom layers or Lambda: the child measured it, as the grader cannot rebuild it."""
    classes = ", ".join(message["foreign"])
    if message.get("measured_here") is None:
        return Outcome(returned=message.get("returned"),
                       error=f"the model uses {classes}, which the grader cannot rebuild, and measuring it where it "
                             f"was built failed: {message.get('measure_error')}")
    measured = dict(message["measured_here"])
    if "convergence" in probe.measures:
        measured["convergence"] = {"error": f"the model uses {classes}: the grader trains only models it can rebuild "
                                            "from standard Keras layers"}
    note = (f"your code uses {classes}, which the grader cannot rebuild on its own side: the figures of models "
            "with it were measured in the process that ran your code")
    return Outcome(returned=message.get("returned"), measured=measured, note=note)


def _load_check(rubric: Rubric, problem: str | None) -> CheckResult:
    return CheckResult(rubric.name, "load", "the file runs and defines " + ", ".join(rubric.functions), 0, 0,
                       problem is None, problem or "")


def _judge(rubric: Rubric, spec, context: Context) -> CheckResult:
    context.attached = {}
    try:
        message, passed = spec.function(context) or "", True
    except Fail as exc:
        message, passed = str(exc), False
    except Exception as exc:  # a check must never take the grade down with it
        message, passed = f"the grader could not complete this check ({type(exc).__name__}: {exc})", False
    if spec.hidden:
        message = "hidden check: " + ("passed" if passed else "failed")
    return CheckResult(rubric.name, spec.category, spec.description, spec.points if passed else 0,
                       spec.points, passed, message, spec.hidden, dict(context.attached) or None)


def _unloaded(rubric: Rubric, reason: str, file: Path | None, elapsed: float) -> AssignmentResult:
    checks = [CheckResult(rubric.name, "load", "the file runs and defines " + ", ".join(rubric.functions),
                          0, 0, False, reason)]
    checks += [CheckResult(rubric.name, s.category, s.description, 0, s.points, False,
                           "not graded: the file could not be loaded (see the load check)", s.hidden)
               for s in rubric.checks]
    return AssignmentResult(rubric.name, file.name if file else None, tuple(checks), elapsed)
