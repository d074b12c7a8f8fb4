"""Grading one submission: locate each assignment, run its probes in a child, measure, judge.

Every failure of the student's code becomes a failed check with a message; only the grader's own faults
raise.
"""

from __future__ import annotations

import copy
import dataclasses
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import sandbox
from grader.errors import LoadError, UsageError
from grader.reference import reference_measurements
from grader.registry import Context, Fail, Outcome, Rubric
from grader.results import AssignmentResult, CheckResult, SubmissionResult
from grader.rubrics import RUBRICS
from grader.submission import StudentSource, load, locate, matches


def grade_submission(path: Path, assignments: list[str] | None = None,
                     limits: sandbox.Limits | None = None, profile: str = "quick") -> SubmissionResult:
    """Grade the assignments of one submission folder or file.

    Every assignment's code runs in one child process, which imports TensorFlow once; if the child dies or
    runs out of time on one assignment, that assignment loses what it did not finish and the ones after it
    run in a new child.
    """
    start = time.monotonic()
    limits = limits or sandbox.Limits()
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    names = _assignments_of(path, assignments)
    references = {name: reference_measurements(RUBRICS[name], profile) for name in names}
    results: dict[str, AssignmentResult] = {}
    sources: list[tuple[Rubric, StudentSource]] = []
    for name in names:
        rubric, file = RUBRICS[name], None
        try:
            file = path if path.is_file() else locate(path, name)
            if file is None:
                raise LoadError(f"no file for '{name}' in the submission: expected {name}.py or {name}.ipynb")
            sources.append((rubric, load(file, name)))
        except LoadError as exc:
            results[name] = _unloaded(rubric, str(exc), file, 0.0)
    folder = path if path.is_dir() else path.parent
    runs = run_assignments(sources, folder, limits, profile=profile)
    for rubric, source in sources:
        results[rubric.name] = _judged(rubric, source, runs[rubric.name], references[rubric.name], profile)
    extra = {"profile": profile, "protections": sandbox.isolation().describe(),
             "grader_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    return SubmissionResult(str(path), tuple(results[n] for n in names), time.monotonic() - start, extra)


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


def _judged(rubric: Rubric, source: StudentSource, run: ProbeRun, reference: dict[str, Any], profile: str
            ) -> AssignmentResult:
    start = time.monotonic()
    checks = [_load_check(rubric, run.problem)]
    context = Context(rubric, run.outcomes, reference)
    checks += [_judge(rubric, spec, context) for spec in rubric.checks]
    notes = tuple(dict.fromkeys(o.note for o in run.outcomes.values() if o.note))
    if any("convergence" in p.measures for p in rubric.probes.values()):
        from grader.convergence import device_name

        notes += (f"training: profile {profile} on {device_name()}",)
    return AssignmentResult(rubric.name, source.path.name, tuple(checks), run.seconds + time.monotonic() - start,
                            notes, run.peak_mb)


@dataclass
class ProbeRun:
    """What one assignment's probes gave: an outcome per probe id, a load problem, time and memory."""

    outcomes: dict[str, Outcome]
    problem: str | None
    seconds: float
    peak_mb: float | None


def run_probes(rubric: Rubric, source: StudentSource, folder: Path, limits: sandbox.Limits,
               reference: bool = False, profile: str = "quick") -> tuple[dict[str, Outcome], str | None]:
    """Run every probe of one assignment in a child and measure what came back; returns outcomes and a load
    problem."""
    run = run_assignments([(rubric, source)], folder, limits, reference, profile)[rubric.name]
    return run.outcomes, run.problem


def run_assignments(sources: list[tuple[Rubric, StudentSource]], folder: Path, limits: sandbox.Limits,
                    reference: bool = False, profile: str = "quick") -> dict[str, ProbeRun]:
    """Run the probes of several assignments, in order, in as few children as it takes, measuring each result
    as it arrives (while the child goes on with the next call)."""
    runs: dict[str, ProbeRun] = {}
    pending = list(sources)
    while pending:
        child, measured, measured_at = _one_child(pending, folder, limits, reference, profile)
        began = list(child.times)
        ended = {name for name, (_, end) in child.times.items() if end is not None}
        stopped_on = began[-1] if began else pending[0][0].name  # the one it was on when it stopped, if it did
        left = []
        for rubric, source in pending:
            name = rubric.name
            if name in ended or name == stopped_on:
                runs[name] = _collect(rubric, source, child, measured[name], reference, name not in ended,
                                      measured_at.get(name))
            else:
                left.append((rubric, source))
        pending = left
    return runs


def _one_child(pending: list[tuple[Rubric, StudentSource]], folder: Path, limits: sandbox.Limits, reference: bool,
               profile: str) -> tuple[sandbox.ChildRun, dict[str, dict[str, Outcome]], dict[str, float]]:
    """One child for the `pending` assignments; returns its run, the outcomes measured and when, per assignment."""
    rubrics = {rubric.name: rubric for rubric, _ in pending}
    job = {"assignments": [_job(rubric, source, reference) for rubric, source in pending]}
    measured: dict[str, dict[str, Outcome]] = {name: {} for name in rubrics}
    measured_at: dict[str, float] = {}

    def measure_now(message: dict) -> None:  # runs while the child goes on with the next probe
        rubric = rubrics.get(message.get("assignment"))
        if message.get("type") == "probe" and rubric is not None and message.get("id") in rubric.probes:
            measured[rubric.name][message["id"]] = _measure(rubric, rubric.probes[message["id"]], message, profile)
            measured_at[rubric.name] = time.monotonic()

    _import_keras_in_background()
    child = sandbox.run_child(job, folder, limits, on_message=measure_now)
    return child, measured, measured_at


def _job(rubric: Rubric, source: StudentSource, reference: bool) -> dict[str, Any]:
    probes = [p for p in rubric.probes.values() if reference or not p.reference_only]
    return {"module": rubric.name, "cells": [{"label": c.label, "source": c.source} for c in source.cells],
            "functions": list(rubric.functions), "probes": [p.job() for p in probes]}


def _collect(rubric: Rubric, source: StudentSource, child: sandbox.ChildRun, measured: dict[str, Outcome],
             reference: bool, stopped: bool, measured_at: float | None) -> ProbeRun:
    """One assignment's outcomes from a child's messages; `stopped`: the child ended before finishing it."""
    name = rubric.name
    failure = (child.failure() or "the call did not finish") if stopped else None
    labels = {c.label for c in source.cells}
    if failure:
        frames = sandbox.stuck_at(child.output, labels)
        if frames and child.stop_reason and "time limit" in child.stop_reason:
            failure += f"; it was running {frames[0]}"
    loaded = [m for m in child.of_type("load") if m.get("assignment") == name]
    started = {m["id"] for m in child.of_type("started") if m.get("assignment") == name}
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
    for probe in rubric.probes.values():
        if probe.reference_only and not reference:
            continue
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
    began, ended = child.times.get(name, (None, None))
    seconds = child.elapsed if began is None else max(t for t in (began, ended, measured_at) if t is not None) - began
    peak = child.peak_bytes.get(name)
    return ProbeRun(outcomes, problem, seconds, round(peak / 2**20) if peak else None)


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
    from grader.measure import VALUE_MEASURES, RebuildError, measure, rebuild, with_zero_initialisers

    if message.get("foreign"):
        return _measured_in_child(probe, message)
    config = copy.deepcopy(message["model"]) if "convergence" in probe.measures else None
    if not VALUE_MEASURES.intersection(probe.measures):
        with_zero_initialisers(message["model"])
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
