"""Rebuilding a student's model from its configuration and measuring it in the grader's own process.

The child that ran student code sends only a serialized Keras configuration; this module checks that it names
nothing but Keras's own classes, rebuilds it in safe mode, and takes the measurements a probe asks for. No
student code runs here, so nothing the student patched can change a figure.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.analysis.graph import Graph, trace
from grader.analysis.macs import ShapeUnknown, count_macs
from grader.analysis.params import count_params
from grader.analysis.receptive_field import Field, feature_field
from grader.analysis.structure import layer_labels, signature

_FORBIDDEN_CLASSES = {"Lambda", "TFOpLambda"}

_ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}


def fresh_session(seed: int = 0) -> None:
    """Reset Keras's global state (layer names, the graph), collect the models built before, and seed.

    What survives the collection is frozen (left out of every later collection): TensorFlow's modules and the
    grader's own data, never garbage, would otherwise be walked again by each collection, a quarter to a whole
    second each, which dozens of models a submission would pay for. Models are built after the call and dead
    by the next one, so they are never frozen.
    """
    import keras

    keras.backend.clear_session(free_memory=False)
    gc.collect()
    gc.freeze()
    keras.utils.set_random_seed(seed)


def with_zero_initialisers(config: Any) -> Any:
    """The configuration with every initialiser replaced by zeros, in place: for measurements of structure
    and shape only, which do not depend on the weights' values, so the rebuild need not draw random numbers
    (a third of the time of rebuilding ResNet-152, four fifths of VGG-16's)."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key.endswith("_initializer") and isinstance(value, dict | str):
                config[key] = dict(_ZEROS)
            else:
                with_zero_initialisers(value)
    elif isinstance(config, list):
        for value in config:
            with_zero_initialisers(value)
    return config


class RebuildError(Exception):
    """The configuration cannot be rebuilt safely; the message is for the student."""


class TooLarge(RebuildError):
    """The model asks for more parameters or layers than the grader rebuilds: its size is the mistake to look for."""


@dataclass(frozen=True)
class RebuildLimit:
    """The largest model the grader rebuilds for an assignment: a configuration can ask for any size, and the
    grader's memory and time are not the student's to spend (parameters take memory, layers take time)."""

    params: int
    layers: int


def foreign_classes(config: Any) -> list[str]:
    """Classes in a serialized configuration that are not Keras's own (custom layers, `Lambda`)."""
    found: list[str] = []
    if isinstance(config, dict):
        module, name = config.get("module"), config.get("class_name")
        if isinstance(name, str) and (
            name in _FORBIDDEN_CLASSES or (isinstance(module, str) and not module.startswith("keras"))
        ):
            found.append(name)
        for value in config.values():
            found.extend(foreign_classes(value))
    elif isinstance(config, list):
        for value in config:
            found.extend(foreign_classes(value))
    return found


def rebuild(config: dict[str, Any], seed: int = 0, limit: RebuildLimit | None = None, allocate: bool = True) -> Any:
    """A fresh, seeded Keras model from a serialized configuration (which deserialization consumes).

    `limit`: refuse, before building it, the layer or the weight that takes the model past it. `allocate=False`: the
    weights get no storage (`unallocated_weights`), for measurements that do not read their values."""
    import keras

    foreign = sorted(set(foreign_classes(config)))
    if foreign:
        raise RebuildError(
            f"the model uses {', '.join(foreign)}, which the grader cannot rebuild on its side; "
            "use the standard Keras layers the assignment names"
        )
    without_compile_state(config)
    fresh_session(seed)
    try:
        with _within(limit), _sequential_built_once(), contextlib.nullcontext() if allocate else unallocated_weights():
            return keras.saving.deserialize_keras_object(config, safe_mode=True)
    except RebuildError:
        raise
    except Exception as exc:
        raise RebuildError(f"the grader could not rebuild the model from its configuration ({exc})") from None


def without_compile_state(config: Any) -> None:
    """Drop, in place, what `model.compile` left in a configuration (optimizer, loss, metrics) at every level: the
    grader measures the architecture, and rebuilding an optimizer would create variables where none may be (a
    rebuild without storage). Compiled or not, a model is rebuilt the same."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            item.pop("compile_config", None)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


@contextlib.contextmanager
def _sequential_built_once() -> Iterator[None]:
    """Build each Sequential model of a configuration once, after all its layers are added. Keras's `from_config`
    builds it again after every layer it adds, which makes its rebuild quadratic in its length (500 layers took 35 s
    here, to the student's 2 s), and the grader's time is not the student's to spend. The model is the same: its
    layers are built, and draw their weights, in the same order."""
    import keras

    Sequential = keras.Sequential
    if not hasattr(Sequential, "_maybe_rebuild"):  # another Keras: rebuild as it does
        yield
        return
    original_rebuild, original_from_config = Sequential._maybe_rebuild, Sequential.__dict__["from_config"]

    def built_once(cls: Any, config: Any, custom_objects: Any = None) -> Any:
        model = original_from_config.__func__(cls, config, custom_objects=custom_objects)
        if getattr(model, "_functional", None) is None and getattr(model, "_layers", None):
            original_rebuild(model)  # what adding its last layer would have done
        return model

    Sequential._maybe_rebuild = lambda model: None
    Sequential.from_config = classmethod(built_once)
    try:
        yield
    finally:
        Sequential._maybe_rebuild, Sequential.from_config = original_rebuild, original_from_config


@contextlib.contextmanager
def _within(limit: RebuildLimit | None) -> Iterator[None]:
    """Count every layer as it is made and every weight as a layer asks for it, and refuse the one that goes past
    `limit`. Layers are counted as they are made, not in the configuration, so that no way of nesting them escapes;
    a functional model makes all its layers before it builds any, so a refusal costs little."""
    if limit is None:
        yield
        return
    import keras

    Layer = keras.layers.Layer
    original_init, original_add_weight = Layer.__init__, Layer.add_weight
    layers: dict[int, Any] = {}  # held, so that no two share an id; a layer whose __init__ runs twice counts once
    params = 0
    refused: list[TooLarge] = []  # Keras wraps what a layer's construction raises in an error of its own

    def refuse(message: str) -> TooLarge:
        refused.append(TooLarge(message))
        return refused[-1]

    @functools.wraps(original_init)
    def counted_init(layer: Any, *args: Any, **kwargs: Any) -> None:
        layers[id(layer)] = layer
        if len(layers) > limit.layers:
            raise refuse(f"the model has more than {limit.layers:,} layers, far more than the assignment's "
                         f"networks (at most {limit.layers:,} are rebuilt); check the loops that add layers")
        original_init(layer, *args, **kwargs)

    def counted_add_weight(layer: Any, shape: Any = None, *args: Any, **kwargs: Any) -> Any:
        nonlocal params
        params += math.prod(int(d) for d in (shape or ()))
        if params > limit.params:
            raise refuse(f"the model has more than {params:,} parameters, far more than the assignment's networks "
                         f"(at most {limit.params:,} are rebuilt); check the layer sizes")
        return original_add_weight(layer, shape, *args, **kwargs)

    Layer.__init__, Layer.add_weight = counted_init, counted_add_weight
    try:
        yield
    except Exception:
        if refused:
            raise refused[0] from None
        raise
    finally:
        Layer.__init__, Layer.add_weight = original_init, original_add_weight


@contextlib.contextmanager
def zero_weights() -> Iterator[None]:
    """Every weight created meanwhile starts at zero, whatever initialiser its layer names (its configuration still
    names the layer's own). For the child's models whose values nothing reads: a random initialiser needs a
    temporary as large as the weight (VGG-16's first dense layer: 411 MB), which doubled the child's peak."""
    import inspect

    import keras

    original = keras.layers.Layer.add_weight
    signature = inspect.signature(original)

    def zeroed(layer: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(layer, *args, **kwargs)
        except TypeError:  # a call Keras itself would refuse: let it say so
            return original(layer, *args, **kwargs)
        bound.arguments["initializer"] = "zeros"
        return original(*bound.args, **bound.kwargs)

    keras.layers.Layer.add_weight = zeroed
    try:
        yield
    finally:
        keras.layers.Layer.add_weight = original


@contextlib.contextmanager
def unallocated_weights() -> Iterator[None]:
    """Every weight created meanwhile gets its shape and no storage: Keras defers it, as it does in a stateless
    scope, and each read gives its initialiser's value, made anew. For models whose values nothing reads: building
    ResNet-152 takes a third of the time, and VGG-16's 528 MB are never allocated. Assignments to such a weight are
    not kept, and creating one from an array is refused (with "stateless scope" in the message)."""
    import keras

    with keras.StatelessScope(initialize_variables=False):
        yield


# What Keras says when code needs a weight's storage inside `unallocated_weights`.
NEEDS_STORAGE = "stateless scope"


# What the grader's own forward passes may hold in feature maps: its memory is not the student's to spend. The
# largest honest pass (ResNet-152's gradients on 16 images of 64x64) holds about 0.3 GB.
MAX_FEATURE_BYTES = 2 * 2**30
MAX_CANVAS = 512  # the invariance canvas's side; LeNet-GAP's needs 80


class MeasureLimit(Exception):
    """A measurement would cost the grader more than it allows itself; the message is for the student."""


def feature_bytes(model: Any, batch_shape: tuple[int, ...]) -> int | None:
    """The bytes of every layer's output (float32) when `model` runs on a batch of `batch_shape`, found by Keras's
    shape inference alone (nothing is computed or allocated), nested models included; None if Keras cannot say."""
    import keras
    from keras.src.ops.function import Function

    total = 0

    def recorder(operation: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal total
            graph = getattr(operation, "_functional", None) or (operation if isinstance(operation, Function) else None)
            if graph is not None:
                out = graph._run_through_graph(args[0], operation_fn=recorder)
            else:
                out = operation.compute_output_spec(*args, **kwargs)
            for tensor in keras.tree.flatten(out):
                total += 4 * math.prod(d or 1 for d in tensor.shape)
            return out
        return call

    try:
        graph = getattr(model, "_functional", None) or model
        graph._run_through_graph(keras.KerasTensor(batch_shape), operation_fn=recorder)
    except Exception:  # a model Keras cannot infer shapes for: the pass itself will say what is wrong
        return None
    return total


def check_fits(model: Any, batch_shape: tuple[int, ...], copies: int = 1) -> None:
    """Raise MeasureLimit if running `model` on `batch_shape` would hold more than MAX_FEATURE_BYTES (`copies`: how
    many times the pass keeps its feature maps, e.g. for gradients)."""
    needed = feature_bytes(model, batch_shape)
    if needed is not None and needed * copies > MAX_FEATURE_BYTES:
        raise MeasureLimit(
            f"running the model on {batch_shape[0]} image(s) of {batch_shape[1]}x{batch_shape[2]} would hold "
            f"{needed * copies / 2**30:.1f} GB of feature maps, more than the {MAX_FEATURE_BYTES / 2**30:g} GB the "
            "grader measures with (the assignment's network needs far less): look for layers that make the feature "
            "maps much larger, such as UpSampling2D, Conv2DTranspose or very many filters")


def run(model: Any, batch: np.ndarray) -> np.ndarray:
    """The model's (first) output on a batch, as a NumPy array."""
    return run_all(model, batch)[0]


def run_all(model: Any, batch: np.ndarray) -> list[np.ndarray]:
    """Every output of the model on a batch, as NumPy arrays."""
    import keras

    check_fits(model, batch.shape)
    outputs = model(batch, training=False)
    return [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(outputs)]


def input_channels(model: Any) -> int:
    shape = model.inputs[0].shape
    return int(shape[-1])


class Subject:
    """A rebuilt model being measured: its graph and receptive field, traced once for every measure that reads them."""

    def __init__(self, model: Any, sizes: tuple[tuple[int, int], ...]) -> None:
        self.model = model
        self.sizes = sizes

    @functools.cached_property
    def graph(self) -> Graph:
        return trace(self.model)

    @functools.cached_property
    def field(self) -> Field | None:
        return feature_field(self.graph)

    @functools.cached_property
    def graph_data(self) -> dict[str, Any]:
        return self.graph.to_data()


@dataclass(frozen=True)
class Measure:
    """A measurement a probe may ask for, declared once (`MEASURES`): the rubric's probes are checked against it when
    declared, the child and the grader's rebuild take it by it, and a check may read only the keys it provides."""

    name: str
    provides: tuple[str, ...]  # the keys it adds to a probe's measurements: what a check may read
    runs_model: bool  # it runs the model on numbers, so the model keeps its real initialisers (child and rebuild)
    taken_by: str  # "rebuild" (`take`, on the grader's own rebuild), "training" (`grader.convergence`), "child"
    take: Callable[[Subject], dict[str, Any]] | None = None


MEASURES: dict[str, Measure] = {}


def _declare(name: str, *, provides: tuple[str, ...] | None = None, runs_model: bool = False
             ) -> Callable[[Callable[[Subject], dict[str, Any]]], Callable[[Subject], dict[str, Any]]]:
    def register(take: Callable[[Subject], dict[str, Any]]) -> Callable[[Subject], dict[str, Any]]:
        MEASURES[name] = Measure(name, provides or (name,), runs_model, "rebuild", take)
        return take
    return register


@_declare("params", provides=("graph", "params"))
def _params(subject: Subject) -> dict[str, Any]:
    # Counted from the model's own weights, so that a layer the graph walk does not know is still counted.
    model = subject.model
    counted = count_params(subject.graph)
    return {"graph": subject.graph_data, "params": {
        "trainable": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        "non_trainable": sum(int(np.prod(w.shape)) for w in model.non_trainable_weights),
        "layers": [[label, t + n] for label, t, n in counted.per_node],
    }}


@_declare("structure", provides=("graph", "structure"))
def _structure(subject: Subject) -> dict[str, Any]:
    graph = subject.graph
    return {"graph": subject.graph_data, "structure": {
        "signature": signature(graph), "labels": layer_labels(graph), "kinds": sorted(n.kind for n in graph.nodes)}}


@_declare("macs")
def _macs(subject: Subject) -> dict[str, Any]:
    try:
        macs = count_macs(subject.graph)
        return {"macs": {"total": macs.total, "other": macs.other_total}}
    except ShapeUnknown as exc:
        return {"macs": {"error": str(exc)}}


@_declare("outputs")
def _outputs(subject: Subject) -> dict[str, Any]:
    return {"outputs": [[d if d is None else int(d) for d in o.shape] for o in subject.model.outputs]}


@_declare("field")
def _field(subject: Subject) -> dict[str, Any]:
    return {"field": _field_data(subject.field)}


@_declare("shapes")
def _shapes_of(subject: Subject) -> dict[str, Any]:
    return {"shapes": _shapes(subject.model, subject.sizes)}


@_declare("probabilities", runs_model=True)
def _probabilities_of(subject: Subject) -> dict[str, Any]:
    return {"probabilities": _probabilities(subject.model, subject.sizes[0])}


@_declare("invariance", runs_model=True)
def _invariance_of(subject: Subject) -> dict[str, Any]:
    return {"invariance": _invariance(subject.model, subject.field)}


@_declare("equivariance", runs_model=True)
def _equivariance_of(subject: Subject) -> dict[str, Any]:
    return {"equivariance": _equivariance(subject.model, subject.field)}


@_declare("gradients", runs_model=True)
def _gradients_of(subject: Subject) -> dict[str, Any]:
    return {"gradients": _gradients(subject.model, subject.sizes[0])}


MEASURES["convergence"] = Measure("convergence", ("convergence",), True, "training")  # grader.convergence.train
MEASURES["value"] = Measure("value", ("value",), False, "child")  # what a plain function returned

# Measurements that run the model and look at the numbers it gives, so need its real initialisers.
VALUE_MEASURES = frozenset(m.name for m in MEASURES.values() if m.runs_model)


def provided(measures: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The keys a probe with these measures has, that a check may read."""
    return frozenset(key for name in measures for key in MEASURES[name].provides)


def measure(model: Any, sizes: tuple[tuple[int, int], ...], wanted: tuple[str, ...]) -> dict[str, Any]:
    """The measurements named in `wanted` that are taken on a rebuilt model, as plain JSON-able data."""
    subject = Subject(model, sizes)
    out: dict[str, Any] = {}
    for declared in MEASURES.values():
        if declared.name in wanted and declared.take is not None:
            out.update(declared.take(subject))
    return out


def _gradients(model: Any, size: tuple[int, int]) -> dict[str, Any]:
    """Norms of the loss gradient at every convolution kernel, the first and the last named, at initialisation.

    BatchNormalization runs in training mode (batch statistics), as in the first steps of training.
    """
    import keras
    import tensorflow as tf

    kernels = [w for w in model.trainable_weights if w.path.endswith("kernel") and len(w.shape) == 4]
    if len(kernels) < 2:
        return {"error": "the model has fewer than two convolutions"}
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(16, *size, input_channels(model))).astype("float32")
    classes = int(model.outputs[0].shape[-1])
    labels = rng.integers(0, classes, size=16)
    try:
        check_fits(model, batch.shape, copies=3)  # the tape keeps the forward pass's maps for the backward one
        with tf.GradientTape() as tape:
            probabilities = keras.tree.flatten(model(batch, training=True))[0]
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
        norms = [float(tf.norm(g)) if g is not None else 0.0 for g in tape.gradient(loss, kernels)]
    except Exception as exc:
        return {"error": str(exc).strip().splitlines()[0][:300]}
    first, last = norms[0], norms[-1]
    return {"first": first, "last": last, "ratio": first / last if last else float("inf"), "convs": len(kernels),
            "norms": [round(n, 6) for n in norms]}


def _field_data(field: Field | None) -> dict[str, Any] | None:
    if field is None:
        return None
    return {"size": list(field.size) if field.size else None, "jump": list(field.jump),
            "text": field.describe()}


def _shapes(model: Any, sizes: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    channels = input_channels(model)
    shapes: dict[str, Any] = {}
    for h, w in sizes:
        key = f"{h}x{w}"
        try:
            shapes[key] = list(run(model, np.zeros((2, h, w, channels), "float32")).shape)
        except Exception as exc:
            shapes[key] = f"error: {str(exc).strip().splitlines()[0][:300]}"
    return shapes


def _probabilities(model: Any, size: tuple[int, int]) -> dict[str, Any]:
    """Range and row sums of every output on a seeded random batch: probabilities lie in [0, 1] and sum to 1."""
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(4, *size, input_channels(model))).astype("float32")
    try:
        outs = run_all(model, batch)
    except Exception as exc:
        return {"error": str(exc).strip().splitlines()[0][:300]}
    per_output = [{"min": float(o.min()), "max": float(o.max()),
                   "sum_error": float(np.abs(o.sum(axis=-1) - 1.0).max()), "shape": list(o.shape)} for o in outs]
    return {
        "min": min(p["min"] for p in per_output),
        "max": max(p["max"] for p in per_output),
        "sum_error": max(p["sum_error"] for p in per_output),
        "shape": per_output[0]["shape"],
        "outputs": per_output,
    }


def _equivariance(model: Any, field: Field | None, shift: tuple[int, int] = (3, 5), size: int = 40) -> dict[str, Any]:
    """Shift an image by `shift` pixels and compare the feature maps with the original's, shifted the same way,
    away from the border (where zero padding and the pixels shifted in legitimately differ)."""
    rng = np.random.default_rng(2)
    image = rng.uniform(0.0, 1.0, size=(1, size, size, input_channels(model))).astype("float32")
    moved = np.zeros_like(image)
    dy, dx = shift
    moved[:, dy:, dx:] = image[:, :-dy, :-dx]
    try:
        before, after = run(model, image), run(model, moved)
    except Exception as exc:
        return {"error": str(exc).strip().splitlines()[0][:300]}
    if before.ndim != 4 or before.shape[1:3] != (size, size):
        return {"error": f"the feature maps are {list(before.shape[1:])} for a {size}x{size} input: equivariance to "
                         "a shift of one pixel needs stride 1 and 'same' padding", "shape": list(before.shape)}
    reach = field.size[0] if field is not None and field.size is not None else 7
    margin = reach // 2 + 1
    inner = before[:, margin:size - margin - dy, margin:size - margin - dx]
    shifted = after[:, margin + dy:size - margin, margin + dx:size - margin]
    scale = float(np.abs(inner).max()) or 1.0
    return {"shift": list(shift), "margin": margin, "max_difference": float(np.abs(shifted - inner).max()) / scale}


def _invariance(model: Any, field: Field | None) -> dict[str, Any]:
    """Predictions for one object placed at positions that differ by a multiple of the total stride.

    The canvas is sized from the network's own receptive field, so that no unit that sees the object also sees
    the border: for a global-average-pooling head the predictions must then agree to rounding.
    """
    jump = field.jump[0] if field is not None else 4
    reach = field.size[0] if field is not None and field.size is not None else 32
    shift = 2 * math.lcm(jump, 4)
    obj = 5
    first = reach + 2
    size = first + 2 * shift + obj + reach + 2
    size += -size % 16
    if size > MAX_CANVAS:
        return {"canvas": size, "error": f"the network's receptive field is {reach} pixels wide, so the object would "
                f"need a {size}x{size} canvas to stay clear of the border, more than the {MAX_CANVAS}x{MAX_CANVAS} "
                "the grader measures on (the assignment's network sees far less): check the kernel sizes, strides "
                "and dilations"}
    channels = input_channels(model)
    rng = np.random.default_rng(1)
    patch = rng.uniform(2.0, 5.0, size=(obj, obj, channels)).astype("float32")
    positions = [(first, first), (first + shift, first + 2 * shift), (first + 2 * shift, first)]
    batch = np.zeros((len(positions), size, size, channels), "float32")
    for i, (r, c) in enumerate(positions):
        batch[i, r:r + obj, c:c + obj] = patch
    try:
        out = run(model, batch)
    except Exception as exc:
        return {"error": str(exc).strip().splitlines()[0][:300], "canvas": size}
    return {
        "canvas": size,
        "shift": shift,
        "max_difference": float(np.abs(out - out[0]).max()),
        "spread": float(out.max() - out.min()),
    }
