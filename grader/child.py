"""The child process that runs student code: `python -I -m grader.child FD`.

It reads its `contract.Job` from stdin: for each assignment of one submission, the student's cells and the probes
to run. It imports TensorFlow once, then, assignment by assignment, executes the cells as a module, calls the student's
functions as each probe asks, and sends back what they returned: a Keras model's serialized configuration, or
the error with the student's own traceback lines. It judges nothing.
"""

from __future__ import annotations

import errno
import faulthandler
import json
import linecache
import os
import sys
import traceback
import types
from typing import Any

from grader import contract
from grader.contract import AssignmentJob, Begin, Cell, Done, End, Load, ProbeCall, ProbeResult, Started


def main(channel: int | None = None) -> None:
    """Run the job on stdin, answering on the `channel` file descriptor (argv[1] when run as a program)."""
    if channel is None:
        from grader.sandbox.system import open_channel

        channel = open_channel(sys.argv[1])
    job = contract.Job.from_wire(sys.stdin.read())
    sys.stdin.close()

    from grader.quiet import import_tensorflow

    import_tensorflow()  # before student code, so that its import time is not the student's

    from grader import notebook

    notebook.RUNNING_IN_GRADER = True  # a notebook's own `check("gap")` cell does nothing when graded

    home = os.getcwd()
    # Modules the student ships beside the assignment file (the scratch copy of the submission folder) are
    # importable by it; last on the path, so that none can stand in for an installed module, Keras's or the grader's.
    sys.path.append(home)
    for assignment in job.assignments:
        # The parent's deadline restarts with each assignment; if the code hangs, dump every thread's stack to
        # stderr just before it, so that the report can say where the code was stuck.
        contract.send(channel, Begin(assignment.module))
        faulthandler.dump_traceback_later(max(job.timeout - 1.0, 0.5), exit=False)
        _reset(home)
        _grade(channel, assignment)
        contract.send(channel, End(assignment.module))
    faulthandler.cancel_dump_traceback_later()
    contract.send(channel, Done())
    os.close(channel)


def _reset(home: str) -> None:
    """Undo what an earlier assignment's code may have changed for the next one in this process (the first
    call also freezes what the imports made, before any student code runs: see `fresh_session`)."""
    import keras

    from grader.measure import fresh_session

    os.chdir(home)
    fresh_session(0)
    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
    keras.config.set_image_data_format("channels_last")
    keras.config.set_dtype_policy("float32")


def _grade(channel: int, assignment: AssignmentJob) -> None:
    """Run one assignment's cells, then each of its probes, sending what came back."""
    name = assignment.module
    labels = {cell.label for cell in assignment.cells}
    module, load_error = _execute(name, assignment.cells)
    defined = [f for f in assignment.functions if callable(getattr(module, f, None))]
    contract.send(channel, Load(name, load_error, defined))

    for probe in assignment.probes:
        if probe.function not in defined:
            continue
        contract.send(channel, Started(name, probe.id))
        contract.send(channel, ProbeResult(name, probe.id, **_run_probe(module, probe, labels)))


def _execute(name: str, cells: list[Cell]) -> tuple[types.ModuleType, str | None]:
    """Run the student's cells in one fresh module; the first exception stops it, as in a notebook."""
    module = types.ModuleType(f"student_{name}")
    module.__file__ = cells[0].label if cells else f"{name}.py"
    sys.modules[module.__name__] = module
    labels = {cell.label for cell in cells}
    for cell in cells:
        linecache.cache[cell.label] = (len(cell.source), None, cell.source.splitlines(True), cell.label)
        try:
            exec(compile(cell.source, cell.label, "exec"), module.__dict__)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are the student's too
            return module, describe_exception(exc, labels)
    return module, None


def _run_probe(module: types.ModuleType, probe: ProbeCall, labels: set[str]) -> dict[str, Any]:
    """The fields of the probe's `ProbeResult`."""
    from grader.measure import fresh_session

    if not probe.value:  # plain functions build no model
        fresh_session(0)
    if probe.harness:
        from grader import harness

        builder = getattr(harness, probe.harness)
        def function(*args, **kwargs):  # noqa: E306
            return builder(module, *args, **kwargs)
    else:
        function = getattr(module, probe.function)
    from grader.measure import NEEDS_STORAGE, VALUE_MEASURES, unallocated_weights, zero_weights

    # Weights whose values nothing reads get no storage (and would start at zero): the grader measures what it
    # rebuilds, and values only where a measure runs the model (then the student's initialisers are kept). Code that
    # needs a weight's storage (an array as initial value, say) is run again with its weights allocated.
    if probe.value or VALUE_MEASURES.intersection(probe.measures):
        return _call_probe(function, probe, labels)
    with zero_weights(), unallocated_weights():
        result = _call_probe(function, probe, labels)
    if NEEDS_STORAGE not in (result.get("error") or ""):
        return result
    fresh_session(0)
    with zero_weights():
        return _call_probe(function, probe, labels)


def _call_probe(function: Any, probe: ProbeCall, labels: set[str]) -> dict[str, Any]:
    import keras

    try:
        if probe.block_input is not None:
            inputs = keras.Input(shape=tuple(probe.block_input))
            returned = function(inputs, *probe.args, **probe.kwargs)
            returned_type = type(returned).__name__
            if not isinstance(returned, keras.KerasTensor):
                return {"returned": returned_type, "model": None, "error": None}
            model = keras.Model(inputs, returned)
        else:
            returned = function(*probe.args, **probe.kwargs)
            returned_type = type(returned).__name__
            if probe.value:  # a plain function: its value is the result
                return {"returned": returned_type, "model": None, "error": None, "value": _plain(returned)}
            if not isinstance(returned, keras.Model):
                return {"returned": returned_type, "model": None, "error": None}
            model = returned
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))
        return {"returned": returned_type, "model": config, "error": None, **_measure_here(model, config, probe)}
    except BaseException as exc:
        return {"returned": None, "model": None, "error": describe_exception(exc, labels)}


def _plain(value: Any) -> Any:
    """A returned value as JSON data: numbers (NumPy's too), strings, lists; anything else as its repr."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return {"repr": repr(value)[:200]}


def _measure_here(model: Any, config: dict[str, Any], probe: ProbeCall) -> dict[str, Any]:
    """Measurements taken here, for a model the grader cannot rebuild (custom layer classes, Lambda).

    Such a model cannot be rebuilt without running the student's code, so it is measured in this process,
    which ran it; the report says so.
    """
    from grader.measure import foreign_classes, measure

    foreign = sorted(set(foreign_classes(config)))
    if not foreign:
        return {}
    measures = tuple(m for m in probe.measures if m != "convergence")
    try:
        measured = measure(model, tuple(tuple(s) for s in probe.sizes), measures)
        return {"foreign": foreign, "measured_here": json.loads(json.dumps(measured, default=str))}
    except Exception as exc:
        return {"foreign": foreign, "measured_here": None, "measure_error": f"{type(exc).__name__}: {exc}"[:500]}


def describe_exception(exc: BaseException, labels: set[str]) -> str:
    """The exception's type and message, and the student's own lines of its traceback, newest last."""
    if isinstance(exc, SystemExit):
        head = f"SystemExit({exc.code!r}): the code called exit()"
    elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:  # RLIMIT_FSIZE; Python ignores SIGXFSZ
        head = "the code printed or wrote more output than allowed, so it was stopped (OSError: File too large)"
    else:
        text = str(exc).strip()
        head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in labels:
            code = f": {frame.line.strip()}" if frame.line else ""
            lines.append(f"  {frame.filename}, line {frame.lineno}, in {frame.name}{code}")
    if len(head) > 1200:
        head = head[:1200] + " ..."
    return "\n".join([head, *lines[-6:]])


if __name__ == "__main__":
    main()
