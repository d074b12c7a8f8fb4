"""Rubrics, probes and checks: how an assignment declares what is called and what is graded.

A rubric module declares *probes* (calls of the student's functions with given arguments, run in the child, each
taking some of the measures of `grader.measure.MEASURES`) and *checks* (judgements over what the probes measured,
run here), next to each other. Every check is declared with `Rubric.check`, over a judge of its own or over a shared
*judgement* (a function decorated with `judgement`, bound to its probe); what is hidden from students is declared in
a `with RUBRIC.hidden():` block, which a student release leaves out:

    RUBRIC = Rubric("gap", functions=("gap_head", "build_lenet_gap"))
    LENET = RUBRIC.probe("build_lenet_gap", num_classes=10, measures=("params",))

    @RUBRIC.check("params", "build_lenet_gap(10) trainable", points=1)
    def lenet_params(ctx):
        ...  # return a message on success, raise Fail("...") otherwise

    RUBRIC.check("params", "build_lenet_gap(10, 1)", points=1, judge=params_match(LENET, "build_lenet_gap(10, 1)"))

    with RUBRIC.hidden():
        OTHER = RUBRIC.probe("build_lenet_gap", num_classes=5, measures=("params",))
        RUBRIC.check("params", "build_lenet_gap with other arguments", points=1, judge=params_match(OTHER, "..."))

A check may read only what its probes measure: where that can be told from the judge's source (a probe named in it,
or bound to a judgement) a wrong read is an error when the rubric is imported, and anywhere else a `RubricError` (the
grader's fault, never the student's) when the check runs.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import math
import reprlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.contract import ProbeCall
from grader.margins import Margins
from grader.measure import MEASURES, VALUE_MEASURES, provided

# What a probe may train on and build around student code.
DATASETS = ("mnist", "digits", "shapes")  # grader.datasets.LOADERS
HARNESSES = ("inception_network", "resnet_network")  # builders in grader.harness

if TYPE_CHECKING:
    from grader.analysis.graph import Graph

CATEGORIES = ("load", "api", "values", "shape", "params", "receptive_field", "macs", "structure", "invariance",
              "equivariance", "gradient_flow", "convergence")


class RubricError(ValueError):
    """A rubric that reads what its probes do not measure, or declares a name that does not exist: the grader's
    fault, raised when the rubric is imported or, failing that, when the check runs (never a student's lost point)."""


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
    margins: Margins | None = None  # how a "convergence" measurement is judged (grader.margins.verdict)
    hidden: bool = False  # declared in `Rubric.hidden()`: run only for hidden checks, in a child of its own
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
        raise RubricError(f"unknown measure(s) {unknown} for {probe.function}; use some of {', '.join(MEASURES)}")
    if probe.harness is not None and probe.harness not in HARNESSES:
        raise RubricError(f"unknown harness {probe.harness!r}; use one of {', '.join(HARNESSES)}")
    trains = "convergence" in probe.measures
    if trains and probe.dataset not in DATASETS:
        raise RubricError(f"unknown dataset {probe.dataset!r} for a convergence probe; use one of "
                          f"{', '.join(DATASETS)}")
    if trains != (probe.margins is not None):
        raise RubricError(f"{probe.function}: a convergence probe needs margins, and only a convergence probe has them")


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(batch, " + ", ".join("None" if d is None else str(d) for d in shape) + ")"


Judge = Callable[["Context"], "str | None"]


class Judgement:
    """A judge made by a `judgement` from its arguments (a probe, the words of the message): called with the
    context, it judges."""

    def __init__(self, function: Callable[..., str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs
        functools.update_wrapper(self, function)

    def __call__(self, ctx: Context) -> str:
        return self.function(ctx, *self.args, **self.kwargs)

    def bound(self) -> dict[str, Any]:
        """The judgement's parameters by name, as this judge sets them (the context left out)."""
        arguments = inspect.signature(self.function).bind_partial(None, *self.args, **self.kwargs).arguments
        return dict(list(arguments.items())[1:])


def judgement(function: Callable[..., str]) -> Callable[..., Judgement]:
    """A way of judging shared by several checks, written once as `function(ctx, probe, ...)` and named for its
    verdict: `name(probe, ...)` is then the judge of one check (`Rubric.check(..., judge=name(PROBE, ...))`), and
    `name(probe, ...)(ctx)` its verdict inside another judge."""

    @functools.wraps(function)
    def bind(*args: Any, **kwargs: Any) -> Judgement:
        return Judgement(function, args, kwargs)

    bind.judgement = function  # type: ignore[attr-defined]  # what `declared_reads` follows
    return bind


# How a context is read: the method, and the measurement key it reads (None: the key is its second argument).
_READS = {"student": None, "reference": None, "value": "value", "student_graph": "graph",
          "reference_graph": "graph", "decomposed": "graph"}


def declared_reads(judge: Callable[..., Any], depth: int = 0) -> list[tuple[Probe, str]]:
    """The reads (probe, key) of a judge that its source tells: `ctx.student(PROBE, "params")` and the like where the
    probe is a name of its module, a closure, an item of one (`NETS[18]`) or an argument a `Judgement` binds, and
    those of the judgements it applies (`params_match(PROBE, ...)(ctx)`). Reads through loops and other helpers are
    checked when they run (`Context`)."""
    function, names = judge, {}
    if isinstance(judge, Judgement):
        function, names = judge.function, judge.bound()
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is not None and not _READS.keys() & _names(code):  # reads nothing itself: applies nothing, or others
        scope_names = {**getattr(function, "__globals__", {}), **names}
        if not any(hasattr(scope_names.get(n), "judgement") for n in _names(code)):
            return []
    tree = _definition(function)
    if tree is None:
        return []
    scope = {**getattr(function, "__globals__", {}), **inspect.getclosurevars(function).nonlocals, **names}
    found = []
    for node in ast.walk(tree):
        applied = _applied_judgement(node, scope)
        if applied is not None and depth < 3:
            found += declared_reads(applied, depth + 1)
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _READS
                and node.args):
            continue
        probe = _resolve(node.args[0], scope)
        key = _READS[node.func.attr]
        if key is None and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            key = node.args[1].value
        if isinstance(probe, Probe) and isinstance(key, str):
            found.append((probe, key))
    return found


def _definition(function: Callable[..., Any]) -> ast.AST | None:
    """The syntax tree of a function's definition, from its module's source parsed once."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return _definitions(code.co_filename).get(code.co_firstlineno)


@functools.cache
def _definitions(filename: str) -> dict[int, ast.AST]:
    """Every function defined in a source file, by the first line of its definition (its decorators' or its own)."""
    try:
        with open(filename, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found.setdefault(node.lineno, node)
            for decorator in getattr(node, "decorator_list", []):
                found.setdefault(decorator.lineno, node)
    return found


def _names(code: Any) -> set[str]:
    """The names a code object and the functions nested in it use."""
    found = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            found |= _names(constant)
    return found


def _applied_judgement(node: ast.AST, scope: dict[str, Any]) -> Judgement | None:
    """`name(args)(ctx)` where `name` is a judgement: the judge it makes, with the arguments that can be told."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Call)):
        return None
    made = node.func
    factory = _resolve(made.func, scope)
    function = getattr(factory, "judgement", None)
    if function is None:
        return None
    args = tuple(_resolve(a, scope) for a in made.args)
    kwargs = {k.arg: _resolve(k.value, scope) for k in made.keywords if k.arg}
    try:
        inspect.signature(function).bind_partial(None, *args, **kwargs)
    except TypeError:
        return None
    return Judgement(function, args, kwargs)


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    """The value of a name, or of a constant item or attribute of one, in `scope`; None where it cannot be told."""
    try:
        if isinstance(node, ast.Name):
            return scope.get(node.id)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            return _resolve(node.value, scope)[node.slice.value]
        if isinstance(node, ast.Attribute):
            return getattr(_resolve(node.value, scope), node.attr)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return None


def _require(probe: Probe, key: str, who: str) -> None:
    """Raise RubricError unless `probe` measures `key`."""
    if key not in provided(probe.measures):
        takes = ", ".join(sorted(provided(probe.measures))) or "nothing"
        raise RubricError(f"{who} reads {key!r} of {probe.call_text()}, which measures only {takes}: add the measure "
                          "that provides it to the probe")


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
    _hiding: bool = field(default=False, repr=False)  # inside `hidden()`

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """The rubric's hidden part: the probes and checks declared inside are hidden from students (their calls'
        arguments and values are never shown), and a student release leaves the whole block out (`grade release`),
        with the mutants and equivalents declared there (they quote the solution)."""
        self._hiding = True
        try:
            yield
        finally:
            self._hiding = False

    def probe(self, function: str, *args: Any, block_input: tuple[int | None, ...] | None = None,
              measures: tuple[str, ...] = (), sizes: tuple[tuple[int, int], ...] = (), reference_only: bool = False,
              expects_error: bool = False, dataset: str | None = None, training: dict[str, Any] | None = None,
              margins: Margins | None = None, ignored: dict[str, Any] | None = None, **kwargs: Any) -> Probe:
        """Declare a call of `function` with positional `args` (after the input tensor, for a block) and `kwargs`.
        `ignored`: for some keyword arguments, the value a submission that ignores the argument uses in effect
        (its default): the reference is measured with it too, so that a failed hidden check can say which argument
        was ignored without saying its value (`Context.hidden_cause`)."""
        variants = []
        for name, value in (ignored or {}).items():
            if name not in kwargs:
                raise RubricError(f"{function}: ignored={name!r} names no keyword argument of the call")
            variant = Probe("", function, {**kwargs, name: value}, block_input, measures, sizes, args,
                            reference_only=True, hidden=True)
            variants.append((name, self._add(variant, function).id))
        probe = Probe("", function, kwargs, block_input, measures, sizes, args, reference_only, expects_error,
                      dataset=dataset, training=training or {}, margins=margins, hidden=self._hiding,
                      variants=tuple(variants))
        return self._add(probe, function)

    def value(self, function: str, *args: Any, **kwargs: Any) -> Probe:
        """Declare a call of a plain function whose returned value is compared with the reference's."""
        return self._add(Probe("", function, kwargs, None, ("value",), (), args, value=True, hidden=self._hiding),
                         function)

    def harness(self, builder: str, function: str, *, dataset: str, margins: Margins,
                measures: tuple[str, ...] = ("convergence",), training: dict[str, Any] | None = None,
                **kwargs: Any) -> Probe:
        """Declare a training network built by `grader.harness.<builder>` around the student's `function`."""
        probe = Probe("", function, kwargs, None, measures, (), (), harness=builder, dataset=dataset,
                      training=training or {}, margins=margins, hidden=self._hiding)
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

    def check(self, category: str, description: str, *, points: float,
              judge: Judge | None = None) -> Callable[[Judge], Judge]:
        """Declare a check worth `points`: the one way to state a check (hidden inside `hidden()`).

        Either over a judge of its own, as a decorator (`@RUBRIC.check("values", "...", points=2)`), or over a
        judgement bound to its probe (`judge=params_match(PROBE, "gap_head(x, 10)")`, see `judgement`). A judge
        returns the message of a pass and raises `Fail` with the student-facing reason otherwise. What the judge
        reads is checked against what its probes measure here, where its source tells (`declared_reads`)."""
        if category not in CATEGORIES:
            raise RubricError(f"unknown check category {category!r}; use one of {', '.join(CATEGORIES)}")

        def register(function: Judge) -> Judge:
            for probe, key in declared_reads(function):
                _require(probe, key, f"{self.name}: the check {description!r}")
            self.checks.append(CheckSpec(category, description, points, self._hiding, function))
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
        _require(probe, "value", f"{self.rubric.name}: a check")
        self.read.append(probe)
        outcome = self.outcome(probe)
        if outcome.error:
            raise Fail(f"{probe.call_text()} failed: {outcome.error}")
        return (outcome.measured or {}).get("value")

    def student(self, probe: Probe, measurement: str) -> Any:
        """A measurement of the student's model; raises Fail naming the cause if there is none."""
        _require(probe, measurement, f"{self.rubric.name}: a check")
        self.read.append(probe)
        outcome = self.outcome(probe)
        if outcome.error:
            raise Fail(f"{probe.call_text()} failed: {outcome.error}")
        if outcome.measured is None:
            raise Fail(f"{probe.call_text()} returned {outcome.returned}, not a Keras "
                       f"{'tensor' if probe.block_input is not None else 'model'}")
        value = outcome.measured[measurement]
        where = non_finite(value)
        if where is not None and measurement in VALUE_MEASURES:  # NaN compares false with every tolerance
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
        """A measurement of the reference's model (cached in its artifact)."""
        _require(probe, measurement, f"{self.rubric.name}: a check")
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
