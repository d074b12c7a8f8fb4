"""Rubrics, probes and checks: how an assignment declares what is called and what is graded.

A rubric module declares *probes* (calls of the student's functions with given arguments, run in the child)
and *checks* (judgements over what the probes measured, run here), next to each other:

    RUBRIC = Rubric("gap", functions=("gap_head", "build_lenet_gap"))
    LENET = RUBRIC.probe("build_lenet_gap", num_classes=10, measures=("params",))

    @RUBRIC.check("params", "build_lenet_gap(10) trainable", points=1)
    def lenet_params(ctx):
        ...  # return a message on success, raise Fail("...") otherwise
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.contract import ProbeCall
from grader.convergence import Margins

# What a probe may ask the grader to measure (grader.measure.measure), train on and build around student code.
MEASURES = ("params", "structure", "macs", "outputs", "field", "shapes", "probabilities", "invariance",
            "equivariance", "gradients", "convergence", "value")
DATASETS = ("mnist", "digits", "shapes")  # grader.datasets.LOADERS
HARNESSES = ("inception_network", "resnet_network")  # builders in grader.harness

if TYPE_CHECKING:
    from grader.analysis.graph import Graph

CATEGORIES = ("load", "api", "values", "shape", "params", "receptive_field", "macs", "structure", "invariance",
              "equivariance", "gradient_flow", "convergence")


class Fail(Exception):
    """Raised by a check that did not pass; the message is shown to the student (unless hidden).

    `public`: what may be said even when the check is hidden (a cause in the lecture's words, never an argument
    or a value of the hidden calls)."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public


@dataclass(frozen=True)
class Probe:
    """One call of a student function: a builder (`block_input` None) or a block on `keras.Input(block_input)`."""

    id: str
    function: str
    kwargs: dict[str, Any]
    block_input: tuple[int | None, ...] | None = None
    measures: tuple[str, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()
    args: tuple[Any, ...] = ()
    reference_only: bool = False  # run on the reference solution only (e.g. its other accepted variant)
    expects_error: bool = False  # the reference raises here (e.g. an unsupported depth)
    harness: str | None = None  # a builder of grader.harness that wraps the student's `function`
    dataset: str | None = None  # what the "convergence" measurement trains on
    training: dict[str, Any] = field(default_factory=dict)  # overrides of the profile's budget, e.g. batch_size
    value: bool = False  # a plain function: what it returns is the result (a number, a list)
    margins: Margins | None = None  # how a "convergence" measurement is judged (grader.convergence.verdict)
    hidden: bool = False  # run only for hidden checks, in a child of its own (`runner.run_assignments`)
    # (argument, id of a reference-only probe with that argument as a submission that ignores it would use it)
    variants: tuple[tuple[str, str], ...] = ()

    def call_text(self) -> str:
        if self.value:
            arguments = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
            return f"{self.function}({', '.join(arguments)})"
        if self.harness:
            return f"the training network built from your {self.function}"
        args = ["x"] if self.block_input is not None else []
        args += [repr(a) for a in self.args]
        args += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        text = f"{self.function}({', '.join(args)})"
        if self.block_input is not None:
            text += f" on x of shape {_shape_text(self.block_input)}"
        return text

    def call(self) -> ProbeCall:
        """What the child needs to make this call."""
        shape = list(self.block_input) if self.block_input is not None else None
        return ProbeCall(self.id, self.function, list(self.args), self.kwargs, shape, self.harness,
                         list(self.measures), [list(s) for s in self.sizes], self.value)


def _validate(probe: Probe) -> None:
    """A misspelt name in a rubric fails when the rubric is imported, never silently at grading time."""
    unknown = [m for m in probe.measures if m not in MEASURES]
    if unknown:
        raise ValueError(f"unknown measure(s) {unknown} for {probe.function}; use some of {', '.join(MEASURES)}")
    if probe.harness is not None and probe.harness not in HARNESSES:
        raise ValueError(f"unknown harness {probe.harness!r}; use one of {', '.join(HARNESSES)}")
    trains = "convergence" in probe.measures
    if trains and probe.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {probe.dataset!r} for a convergence probe; use one of {', '.join(DATASETS)}")
    if trains != (probe.margins is not None):
        raise ValueError(f"{probe.function}: a convergence probe needs margins, and only a convergence probe has them")


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(batch, " + ", ".join("None" if d is None else str(d) for d in shape) + ")"


Judge = Callable[["Context"], "str | None"]


@dataclass(frozen=True)
class CheckSpec:
    category: str
    description: str
    points: float
    hidden: bool
    function: Judge


@dataclass
class Rubric:
    """The probes and checks of one assignment."""

    name: str
    functions: tuple[str, ...]
    # (text of an error, advice): the advice a string, or a function of the error that says more, else None
    hints: tuple[tuple[str, str | Callable[[str], str | None]], ...] = ()
    probes: dict[str, Probe] = field(default_factory=dict)
    checks: list[CheckSpec] = field(default_factory=list)
    mutants: dict[str, tuple[str, str]] = field(default_factory=dict)  # `grade validate`: must lose points
    equivalents: dict[str, tuple[str, str]] = field(default_factory=dict)  # `grade validate`: must keep full marks

    def probe(self, function: str, *args: Any, block_input: tuple[int | None, ...] | None = None,
              measures: tuple[str, ...] = (), sizes: tuple[tuple[int, int], ...] = (), reference_only: bool = False,
              expects_error: bool = False, dataset: str | None = None, training: dict[str, Any] | None = None,
              margins: Margins | None = None, hidden: bool = False, ignored: dict[str, Any] | None = None,
              **kwargs: Any) -> Probe:
        """Declare a call of `function` with positional `args` (after the input tensor, for a block) and `kwargs`.
        `hidden`: only hidden checks read it (declare it in the rubric's hidden part).
        `ignored`: for some keyword arguments, the value a submission that ignores the argument uses in effect
        (its default): the reference is measured with it too, so that a failed hidden check can say which argument
        was ignored without saying its value (`Context.hidden_cause`)."""
        variants = []
        for name, value in (ignored or {}).items():
            if name not in kwargs:
                raise ValueError(f"{function}: ignored={name!r} names no keyword argument of the call")
            variant = self.probe(function, *args, block_input=block_input, measures=measures, sizes=sizes,
                                 reference_only=True, hidden=True, **{**kwargs, name: value})
            variants.append((name, variant.id))
        probe = Probe("", function, kwargs, block_input, measures, sizes, args, reference_only, expects_error,
                      dataset=dataset, training=training or {}, margins=margins, hidden=hidden,
                      variants=tuple(variants))
        return self._add(probe, function)

    def value(self, function: str, *args: Any, hidden: bool = False, **kwargs: Any) -> Probe:
        """Declare a call of a plain function whose returned value is compared with the reference's."""
        return self._add(Probe("", function, kwargs, None, ("value",), (), args, value=True, hidden=hidden), function)

    def harness(self, builder: str, function: str, *, dataset: str, margins: Margins,
                measures: tuple[str, ...] = ("convergence",), training: dict[str, Any] | None = None,
                **kwargs: Any) -> Probe:
        """Declare a training network built by `grader.harness.<builder>` around the student's `function`."""
        probe = Probe("", function, kwargs, None, measures, (), (), harness=builder, dataset=dataset,
                      training=training or {}, margins=margins)
        return self._add(probe, builder)

    def _add(self, probe: Probe, label: str) -> Probe:
        """Check `probe`'s names, then register it under an id made from what it does, not from its place among
        the others, so that a release without the hidden probes keeps the ids of the visible ones."""
        _validate(probe)
        kept = {k: v for k, v in dataclasses.asdict(probe).items() if k not in ("margins", "hidden", "variants")}
        what = json.dumps(kept, sort_keys=True, default=str)
        probe = dataclasses.replace(probe, id=f"{label}#{hashlib.sha256(what.encode()).hexdigest()[:8]}")
        known = self.probes.get(probe.id)
        if known is not None and known.hidden and not probe.hidden:  # a call a visible check reads is visible
            self.probes[probe.id] = probe
        return self.probes.setdefault(probe.id, probe)  # the same call declared twice is one probe

    def mutant(self, name: str, old: str, new: str) -> None:
        """A broken copy of the reference solution (`old` replaced by `new`) that must lose points."""
        self.mutants[name] = (old, new)

    def equivalent(self, name: str, old: str, new: str) -> None:
        """Another spelling of the reference solution (`old` replaced by `new`) that must keep full marks."""
        self.equivalents[name] = (old, new)

    def check(self, category: str, description: str, *, points: float, hidden: bool = False,
              judge: Judge | None = None) -> Callable[[Judge], Judge]:
        """Declare a check worth `points`: the one way to state a check.

        Either over a judge of its own, as a decorator (`@RUBRIC.check("values", "...", points=2)`), or with one of
        the shared judgements of `grader.rubrics.common` (`judge=params(PROBE, "gap_head(x, 10)")`). A judge returns
        the message of a pass and raises `Fail` with the student-facing reason otherwise."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown check category {category!r}; use one of {', '.join(CATEGORIES)}")

        def register(function: Judge) -> Judge:
            self.checks.append(CheckSpec(category, description, points, hidden, function))
            return function

        if judge is not None:
            register(judge)
        return register

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def hint_for(self, error: str) -> str | None:
        """A rubric's advice for an error text it knows, e.g. a Dense layer on an unknown size."""
        for needle, hint in self.hints:
            if needle in error:
                said = hint(error) if callable(hint) else hint
                if said:
                    return said
        return None


@dataclass
class Outcome:
    """What one probe gave: measurements, or the reason there are none."""

    returned: str | None = None
    measured: dict[str, Any] | None = None
    error: str | None = None
    note: str | None = None  # how it was measured, when not the usual way
    too_large: bool = False  # the error is the grader's refusal to rebuild a model that large


_VALUE_MEASURES = frozenset({"probabilities", "invariance", "equivariance", "gradients", "convergence"})


def non_finite(value: Any, path: str = "") -> str | None:
    """Where in a measurement (nested dicts and lists) a float is NaN or infinite, or None.

    >>> non_finite({"min": 0.1, "outputs": [{"max": float("nan")}]}), non_finite([1.0, {"a": 2}])
    ('outputs[0].max', None)
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "the value")
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = non_finite(item, where)
        if found is not None:
            return found
    return None


def _number_text(value: Any, where: str) -> str:
    for part in [] if where == "the value" else where.replace("[", ".").replace("]", "").split("."):
        value = value[int(part)] if isinstance(value, list | tuple) else value[part]
    return "NaN" if math.isnan(value) else ("infinite" if value > 0 else "minus infinity")


_QUOTE = reprlib.Repr()  # set by attribute: Python 3.11's takes no arguments
_QUOTE.maxstring = _QUOTE.maxother = 80
_QUOTE.maxlist = _QUOTE.maxtuple = _QUOTE.maxdict = 6
_QUOTE.maxlevel = 3


def quote(value: Any) -> str:
    """A value a student's code returned, as a message quotes it: its repr, shortened to a few dozen characters
    (a returned string may be megabytes long).

    >>> quote("x" * 500)[:12], len(quote("x" * 500)) <= 90, quote((3, 4))
    ("'xxxxxxxxxxx", True, '(3, 4)')
    """
    return _QUOTE.repr(value)


class Context:
    """What a check sees: the student's and the reference's outcome of each probe."""

    def __init__(self, rubric: Rubric, student: dict[str, Outcome], reference: dict[str, dict[str, Any]]) -> None:
        self.rubric = rubric
        self._student = student
        self._reference = reference
        self.attached: dict[str, Any] = {}
        self.read: list[Probe] = []  # the probes the current check read, in order (`hidden_cause`)
        self.failed: list[tuple[str, str]] = []  # ("category: description", first line) of visible checks failed
        self.differences: dict[str, list[Any]] = {}  # probe id: its structural differences (`grader.causes`)
        self._decomposed: dict[str, tuple[Any, Any]] = {}

    def attach(self, **data: Any) -> None:
        """Data for the renderers beside the message (e.g. training curves for a plot)."""
        self.attached.update(data)

    def outcome(self, probe: Probe) -> Outcome:
        return self._student.get(probe.id) or Outcome(error=f"{probe.function} was not called")

    def value(self, probe: Probe) -> Any:
        """What the student's plain function returned; raises Fail naming the error if it raised."""
        self.read.append(probe)
        outcome = self.outcome(probe)
        if outcome.error:
            raise Fail(f"{probe.call_text()} failed: {outcome.error}")
        return (outcome.measured or {}).get("value")

    def student(self, probe: Probe, measurement: str) -> Any:
        """A measurement of the student's model; raises Fail naming the cause if there is none."""
        self.read.append(probe)
        outcome = self.outcome(probe)
        if outcome.error:
            raise Fail(f"{probe.call_text()} failed: {outcome.error}")
        if outcome.measured is None:
            raise Fail(f"{probe.call_text()} returned {outcome.returned}, not a Keras "
                       f"{'tensor' if probe.block_input is not None else 'model'}")
        value = outcome.measured[measurement]
        where = non_finite(value)
        if where is not None and measurement in _VALUE_MEASURES:  # NaN compares false with every tolerance
            raise Fail(f"{probe.call_text()}: the {measurement} measured on its outputs are not finite numbers "
                       f"({where} is {_number_text(value, where)}): the model computes NaN or infinity, so no "
                       "comparison with the reference can pass. Look for a division by zero, a log of zero or a "
                       "layer that overflows.")
        return value

    def student_graph(self, probe: Probe) -> Graph:
        """The student's model as a graph (the probe must measure "params" or "structure")."""
        from grader.analysis.graph import Graph

        return Graph.from_data(self.student(probe, "graph"))

    def reference_graph(self, probe: Probe) -> Graph:
        from grader.analysis.graph import Graph

        return Graph.from_data(self.reference(probe, "graph"))

    def decomposed(self, probe: Probe) -> tuple[Any, Any]:
        """The reference's and the student's model as steps and parallel sections (`structure.decompose`), once per
        grading: the layers' check and what explains the failed checks (`grader.causes`) read the same."""
        if probe.id not in self._decomposed:
            from grader.analysis.structure import decompose

            self._decomposed[probe.id] = (decompose(self.reference_graph(probe)), decompose(self.student_graph(probe)))
        return self._decomposed[probe.id]

    def reference(self, probe: Probe, measurement: str) -> Any:
        return self._reference[probe.id][measurement]

    def ignored_arguments(self, probe: Probe) -> list[str]:
        """The arguments of `probe` that the student's function behaves as if it ignored: what it built is what the
        reference builds with the argument at the value a submission that ignores it uses (`Rubric.probe`)."""
        outcome = self.outcome(probe)
        if outcome.measured is None:
            return []
        ignored = []
        for name, variant in probe.variants:
            found, expected, other = outcome.measured, self._reference[probe.id], self._reference.get(variant, {})
            keys = [k for k in _COMPARABLE if k in found and k in other]
            if keys and all(_comparable(found, k) == _comparable(other, k) for k in keys) \
                    and any(_comparable(expected, k) != _comparable(other, k) for k in keys):
                ignored.append(name)
        return ignored

    def hidden_cause(self) -> str:
        """What a failed hidden check may say of what it read: the function, which of its arguments it seems to
        ignore, else the names (never the values) of the arguments the hidden calls set."""
        read = list({p.id: p for p in self.read}.values())
        probes = [p for p in read if p.hidden] + [p for p in read if not p.hidden]
        if not probes:
            return ""
        function = probes[0].function
        ignored = self.ignored_arguments(probes[0])
        if ignored:
            names, plural = " and ".join(ignored), "s" if len(ignored) > 1 else ""
            return (f"{function} seems to ignore its {names} argument{plural}: called with another {names}, it "
                    f"built what the default builds. Use the argument{plural} it is given.")
        names = list(dict.fromkeys(n for p in probes for n in p.kwargs))
        varied = f"other values of {', '.join(names)}" if names else "other arguments"
        shape = " and on another input shape" if any(p.block_input is not None for p in probes) else ""
        return f"{function} gave another result when called with {varied}{shape}."


# What `Context.ignored_arguments` compares: the counts and shapes a call gives, not names or graphs.
_COMPARABLE = ("params", "outputs", "shapes", "value")


def _comparable(measured: dict[str, Any], key: str) -> Any:
    value = measured.get(key)
    if key == "params" and isinstance(value, dict):
        return value.get("trainable"), value.get("non_trainable")
    return value
