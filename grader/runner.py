"""Running an assignment's probes: the child runs the student's calls, the grader rebuilds and measures each model.

This module runs and measures; it judges nothing (see `grading` for the checks). The reference artifact is made
by the same runner on the reference solution.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import measurer, quiet
from grader.contract import AssignmentJob, Job, Load, Message, ProbeResult, Started
from grader.measure import RebuildLimit
from grader.measurer import Rebuild
from grader.registry import Outcome, Probe, Rubric
from grader.sandbox import supervise
from grader.sandbox.limits import Limits
from grader.submission import StudentSource


@dataclass
class ProbeRun:
    """What one assignment's probes gave: an outcome per probe id, a load problem, time and memory."""

    outcomes: dict[str, Outcome]
    problem: str | None
    seconds: float
    peak_mb: float | None
    stopped: bool = False  # the child ended before this assignment's calls were done
    defined: bool = True  # the file defines at least one of the required functions


def run_probes(rubric: Rubric, source: StudentSource, folder: Path, limits: Limits,
               reference: bool = False, profile: str = "quick") -> tuple[dict[str, Outcome], str | None]:
    """Run every probe of one assignment in a child and measure what came back; returns outcomes and a load
    problem."""
    run = run_assignments([(rubric, source)], folder, limits, reference, profile)[rubric.name]
    return run.outcomes, run.problem


def run_assignments(sources: list[tuple[Rubric, StudentSource]], folder: Path, limits: Limits,
                    reference: bool = False, profile: str = "quick", trust_child: bool = False,
                    limits_of: dict[str, RebuildLimit] | None = None) -> dict[str, ProbeRun]:
    """Run the probes of several assignments, in order, in as few children as it takes, measuring each result
    as it arrives (while the child goes on with the next call). `limits_of`: per assignment, the largest model the
    grader rebuilds.

    Hidden probes run last, in children of their own that are given no visible probe: no child that produces a
    visible message ever holds a hidden argument (its job is in the child's memory), and what a hidden call says is
    never shown. An assignment whose visible run defined none of the functions or did not finish gets no hidden
    child."""
    runs = _run_phase(sources, folder, limits, reference, profile, trust_child, limits_of or {}, hidden=False)
    second = [(r, s) for r, s in sources if any(p.hidden for p in r.probes.values())]
    if not second:
        return runs
    ready = [(r, s) for r, s in second if runs[r.name].defined and not runs[r.name].stopped]
    hidden = _run_phase(ready, folder, limits, reference, profile, trust_child, limits_of or {}, hidden=True)
    for rubric, _ in second:
        run = runs[rubric.name]
        if rubric.name in hidden:
            run.outcomes.update(hidden[rubric.name].outcomes)
            run.seconds += hidden[rubric.name].seconds
        else:
            why = run.problem if not run.defined else "the visible calls did not finish"
            run.outcomes.update({p.id: Outcome(error=f"not run: {why}") for p in rubric.probes.values() if p.hidden})
    return runs


def _run_phase(sources: list[tuple[Rubric, StudentSource]], folder: Path, limits: Limits, reference: bool,
               profile: str, trust_child: bool, limits_of: dict[str, RebuildLimit], hidden: bool
               ) -> dict[str, ProbeRun]:
    """The visible probes of `sources` (or the hidden ones), in as few children as it takes."""
    runs: dict[str, ProbeRun] = {}
    pending = list(sources)
    while pending:
        child, measured, measured_at = _one_child(pending, folder, limits, reference, profile, trust_child,
                                                  limits_of, hidden)
        began = list(child.times)
        ended = {name for name, (_, end) in child.times.items() if end is not None}
        stopped_on = began[-1] if began else pending[0][0].name  # the one it was on when it stopped, if it did
        left = []
        for rubric, source in pending:
            name = rubric.name
            if name in ended or name == stopped_on:
                runs[name] = _collect(rubric, source, child, measured[name], reference, name not in ended,
                                      measured_at.get(name), hidden)
            else:
                left.append((rubric, source))
        pending = left
    return runs


MEASURE_BUDGET_S = 120.0  # the grader's own measuring of one assignment's models, training aside


def _one_child(pending: list[tuple[Rubric, StudentSource]], folder: Path, limits: Limits, reference: bool,
               profile: str, trust_child: bool, limits_of: dict[str, RebuildLimit], hidden: bool = False
               ) -> tuple[supervise.ChildRun, dict[str, dict[str, Outcome]], dict[str, float]]:
    """One child for the `pending` assignments; returns its run, the outcomes measured and when, per assignment.

    The grader measures each model as it arrives, while the child goes on; or, where memory is short
    (`measurer.apart`), in a measurer forked once the child has ended, so that no two processes hold TensorFlow's
    working memory at once."""
    rubrics = {rubric.name: rubric for rubric, _ in pending}
    job = Job([_job(rubric, source, reference, hidden) for rubric, source in pending], timeout=limits.timeout)
    measured: dict[str, dict[str, Outcome]] = {name: {} for name in rubrics}
    measured_at: dict[str, float] = {}
    later: list[tuple[str, ProbeResult, Rebuild, Callable[[dict], Outcome]]] | None = [] if measurer.apart() else None

    spent: dict[str, float] = dict.fromkeys(rubrics, 0.0)
    answered: set[tuple[str, str]] = set()

    def measure_now(message: Message) -> None:  # runs while the child goes on with the next probe
        if not isinstance(message, ProbeResult):
            return
        rubric = rubrics.get(message.assignment)
        if rubric is None or message.id not in rubric.probes or rubric.probes[message.id].hidden != hidden \
                or (rubric.name, message.id) in answered:
            return  # only the first answer to each call the grader made is measured: a repeat costs nothing
        answered.add((rubric.name, message.id))
        began = time.monotonic()
        if later is None and spent[rubric.name] > MEASURE_BUDGET_S:
            outcome = _over_budget(message, spent[rubric.name])
        else:
            prepared = _measure(rubric, rubric.probes[message.id], message, profile, trust_child,
                                limits_of.get(rubric.name))
            if isinstance(prepared, tuple) and later is not None:
                later.append((rubric.name, message, *prepared))
                return
            outcome = prepared[1](measurer.remeasure(prepared[0])) if isinstance(prepared, tuple) else prepared
        measured[rubric.name][message.id] = outcome
        measured_at[rubric.name] = time.monotonic()
        if "convergence" not in rubric.probes[message.id].measures:  # training has a budget of its own
            spent[rubric.name] += measured_at[rubric.name] - began

    if later is None:
        _import_keras_in_background()
    child = supervise.run_child(job, folder, limits, on_message=measure_now)
    if later:
        results = measurer.measure_apart([rebuild for *_, rebuild, _ in later], MEASURE_BUDGET_S, limits.threads)
        took: dict[str, float] = {}
        last = max((t for pair in child.times.values() for t in pair if t is not None), default=time.monotonic())
        for (name, message, _, finish), result in zip(later, results, strict=True):
            took[name] = took.get(name, 0.0) + result.pop("seconds", 0.0)
            measured[name][message.id] = (_over_budget(message, result["over_budget"]) if "over_budget" in result
                                          else finish(result))
        for name, seconds in took.items():  # as if measured right after its calls, one assignment after another
            ended = child.times.get(name, (None, None))[1] or last
            measured_at[name] = max(measured_at.get(name, ended), ended) + seconds
    return child, measured, measured_at


def _over_budget(message: ProbeResult, spent: float) -> Outcome:
    return Outcome(returned=message.returned, error=(
        f"not measured: the grader had already spent {spent:.0f} s measuring this "
        f"assignment's models (it allows itself {MEASURE_BUDGET_S:.0f} s; the reference's take a few): a "
        "model this slow to run is far larger than the assignment asks for"))


def _job(rubric: Rubric, source: StudentSource, reference: bool, hidden: bool) -> AssignmentJob:
    probes = _probes(rubric, reference, hidden)
    return AssignmentJob(rubric.name, list(source.cells), list(rubric.functions),
                         [p.call() for p in probes])


def _probes(rubric: Rubric, reference: bool, hidden: bool) -> list[Probe]:
    """The probes one phase runs: the visible ones or the hidden ones (the reference's own variants only for it)."""
    return [p for p in rubric.probes.values() if p.hidden == hidden and (reference or not p.reference_only)]


def _collect(rubric: Rubric, source: StudentSource, child: supervise.ChildRun, measured: dict[str, Outcome],
             reference: bool, stopped: bool, measured_at: float | None, hidden: bool = False) -> ProbeRun:
    """One assignment's outcomes from a child's messages; `stopped`: the child ended before finishing it."""
    name = rubric.name
    failure = (child.failure() or "the call did not finish") if stopped else None
    labels = {c.label for c in source.cells}
    if failure:
        frames = supervise.stuck_at(child.output, labels)
        if frames and child.stop_reason and "time limit" in child.stop_reason:
            failure += f"; it was running {frames[0]}"
    loaded = [m for m in child.of_type(Load) if m.assignment == name]
    started = {m.id for m in child.of_type(Started) if m.assignment == name}
    file = source.path.name
    problem = None
    if not loaded:
        problem = f"{failure or 'the code could not be run'} (while running {file} itself)"
    elif loaded[0].error:
        problem = f"running {file} raised {loaded[0].error}"
    defined = set(loaded[0].defined) if loaded else set()
    missing = [f for f in rubric.functions if f not in defined]
    if loaded and missing:
        note = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined in {file}"
        problem = f"{problem}\n{note}" if problem else note

    outcomes: dict[str, Outcome] = {}
    for probe in _probes(rubric, reference, hidden):
        if not loaded:
            outcomes[probe.id] = Outcome(error=problem)
        elif probe.function not in defined:
            outcomes[probe.id] = Outcome(error=f"{probe.function} is not defined in {file}")
        elif probe.id in measured:
            outcomes[probe.id] = measured[probe.id]
        elif probe.id in started:
            own = [reason for on, reason in child.rejected if on == name]
            refused = f"its result was refused by the grader: {own[0]}" if own else None
            outcomes[probe.id] = Outcome(error=refused or failure or "the call did not finish")
        else:
            outcomes[probe.id] = Outcome(error=f"not run: {failure or 'the run ended before this call'}")
    began, ended = child.times.get(name, (None, None))
    seconds = child.elapsed if began is None else max(t for t in (began, ended, measured_at) if t is not None) - began
    peak = child.peak_bytes.get(name)
    return ProbeRun(outcomes, problem, seconds, round(peak / 2**20) if peak else None, stopped, bool(defined))


_warming: threading.Thread | None = None


def _import_keras_in_background() -> None:
    """Import TensorFlow here while the child imports it there: measuring needs it once the child is done."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=quiet.import_tensorflow, daemon=True)
        _warming.start()


# What the grader measured of each exact configuration, in this process: in a class most networks are the same
# (the reference's, or one of a few mistakes), and a batch worker grades student after student. The figures (and the
# structure signature that keys a training run) are a function of the configuration, the probe's sizes and measures
# and the parameter cap alone (the rebuild is seeded), so a hit gives what measuring again would; training is cached
# apart (`convergence.train`). Kept in memory, never on disk, where a student's code could plant one.
_MEASURED: OrderedDict[str, tuple[dict, str | None]] = OrderedDict()
_MEASURED_MAX = 2048
measured_hits = 0  # for the tests and the benchmark


def _measure_key(config: dict, probe: Probe, limit: RebuildLimit | None) -> str:
    text = json.dumps([config, probe.sizes, sorted(probe.measures), limit and dataclasses.astuple(limit)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _measure(rubric: Rubric, probe: Probe, message: ProbeResult, profile: str, trust_child: bool = False,
             limit: RebuildLimit | None = None) -> Outcome | tuple[Rebuild, Callable[[dict], Outcome]]:
    """The outcome of one answer, where the grader's memory of earlier ones or the answer itself tells it; else the
    rebuild it needs (`measurer.remeasure`, here or in a measurer) and what turns the rebuild's result into it."""
    if message.error:
        hint = rubric.hint_for(message.error)
        return Outcome(error=message.error + (f"\nHint: {hint}" if hint else ""))
    if probe.value:
        return Outcome(returned=message.returned, measured={"value": message.value})
    if message.model is None:
        return Outcome(returned=message.returned)
    from grader.measure import foreign_classes, without_compile_state

    without_compile_state(message.model)  # before the keys: compiled or not, one model, one measurement, one run
    training = "convergence" in probe.measures
    key = _measure_key(message.model, probe, limit)
    # A configuration measured before had no foreign class: only the grader's own rebuilds are kept.
    foreign = [] if key in _MEASURED else sorted(set(foreign_classes(message.model)))
    if foreign:  # decided here from the configuration, not by the child
        return _measured_in_child(probe, message, foreign, trust_child)
    budget = None
    if training:
        from grader.convergence import PROFILES

        budget = dataclasses.replace(PROFILES[profile], **probe.training)
    rebuild = Rebuild(rubric.name, message.model, probe.sizes, tuple(probe.measures), limit,
                      dataset=probe.dataset if training else None, profile=budget)
    known = None
    if key in _MEASURED:
        global measured_hits
        measured_hits += 1
        _MEASURED.move_to_end(key)
        known, shape = copy.deepcopy(_MEASURED[key])
        if not training:
            return Outcome(returned=message.returned, measured=known)
        from grader.convergence import cached_run

        run = cached_run(message.model, shape, probe.dataset, budget)
        if run is not None:
            return Outcome(returned=message.returned, measured={**known, "convergence": run})
        rebuild = dataclasses.replace(rebuild, measure=False, shape=shape)
    return rebuild, functools.partial(_measured, message, key, known)


def _measured(message: ProbeResult, key: str, known: dict | None, result: dict) -> Outcome:
    """The outcome of a rebuild's `result` (`measurer.remeasure`); `known`: the figures measured before, if any."""
    if "error" in result:
        return Outcome(returned=message.returned, error=result["error"], too_large=result["too_large"])
    measured = known
    if measured is None:
        measured = result["measured"]
        _MEASURED[key] = copy.deepcopy((measured, result.get("shape")))
        while len(_MEASURED) > _MEASURED_MAX:
            _MEASURED.popitem(last=False)
    if "convergence" in result:
        measured["convergence"] = result["convergence"]
    return Outcome(returned=message.returned, measured=measured)


def _measured_in_child(probe: Probe, message: ProbeResult, foreign: list[str], trusted: bool) -> Outcome:
    """A model with custom layers or Lambda, which the grader cannot rebuild: only the child, where student code ran,
    could measure it. Its figures are not trusted unless the instructor says so (`grade --trust-custom-layers`)."""
    classes = ", ".join(foreign)
    if not trusted:
        return Outcome(returned=message.returned,
                       error=f"the model uses {classes}, which the grader cannot rebuild from its configuration, and "
                             "it grades only what it rebuilt itself: build the model from the standard Keras layers "
                             "the assignment names (no custom Layer classes, no Lambda)")
    if message.measured_here is None:
        return Outcome(returned=message.returned,
                       error=f"the model uses {classes}, which the grader cannot rebuild, and measuring it where it "
                             f"was built failed: {message.measure_error}")
    measured = dict(message.measured_here)
    if "convergence" in probe.measures:
        measured["convergence"] = {"error": f"the model uses {classes}: the grader trains only models it can rebuild "
                                            "from standard Keras layers"}
    note = (f"your code uses {classes}, which the grader cannot rebuild on its own side: the figures of models "
            "with it were measured in the process that ran your code, which the instructor chose to trust")
    return Outcome(returned=message.returned, measured=measured, note=note)


