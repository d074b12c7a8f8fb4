"""Rubric of the `classic` assignment: LeNet-5, AlexNet and VGG-16 (section 3 of the contract)."""

# Contract audit (2026-12-02; shared/spec/assignments.md section 3), check by check:
# - api, shape: builders return a keras.Model ending in Dense(num_classes) softmax (one probability per class).
# - params: the published 61,706 / 62,378,344 / 138,357,544; hidden: another num_classes (the signature's).
# - structure: the layers listed for each network, in order ("conv/dense layer counts"); shape: "stage shapes";
#   macs: "multiply-accumulates"; receptive_field: "VGG-16 at the last pooling layer: 212" (AlexNet's 195 follows
#   from its listed layers); values: the softmax the contract lists.
# Not required, so never checked: initialisers, layer names, input_shape= versus keras.Input, compile state.

from __future__ import annotations

from collections import Counter

from grader.analysis.graph import Graph
from grader.analysis.macs import format_count
from grader.registry import Context, Fail, Probe, Rubric, judgement
from grader.rubrics.common import layers_match, outputs_are_probabilities, outputs_shaped, params_match

RUBRIC = Rubric("classic", functions=("build_lenet5", "build_alexnet", "build_vgg16"))
_NET = ("params", "structure", "macs", "field", "outputs")

LENET = RUBRIC.probe("build_lenet5", measures=(*_NET, "probabilities"), sizes=((32, 32),))
ALEXNET = RUBRIC.probe("build_alexnet", measures=_NET)
VGG = RUBRIC.probe("build_vgg16", measures=_NET)
with RUBRIC.hidden():
    LENET_OTHER = RUBRIC.probe("build_lenet5", num_classes=7, measures=("params", "outputs"),
                               ignored={"num_classes": 10})
    ALEXNET_OTHER = RUBRIC.probe("build_alexnet", num_classes=7, measures=("outputs",),
                                 ignored={"num_classes": 1000})
NETS = {"LeNet-5": (LENET, "build_lenet5()"), "AlexNet": (ALEXNET, "build_alexnet()"),
        "VGG-16": (VGG, "build_vgg16()")}
# The published figures: the reference reproduces them (tests/rubrics/test_classic_rubric.py).
PUBLISHED = {"LeNet-5": 61_706, "AlexNet": 62_378_344, "VGG-16": 138_357_544}

# Mutants and equivalents quote the solution, so they are left out of a student release.
with RUBRIC.hidden():
    RUBRIC.mutant("VGG-16 with two convolutions in its last stage", "(512, 3), (512, 3))", "(512, 3), (512, 2))")
    RUBRIC.equivalent("VGG-16's pools with padding='same'", "model.add(layers.MaxPooling2D(2))",
                      'model.add(layers.MaxPooling2D(2, padding="same"))')
    RUBRIC.mutant("LeNet-5 with ReLU", 'layers.Conv2D(6, 5, activation="tanh")',
                  'layers.Conv2D(6, 5, activation="relu")')
    # What the contract leaves open: any choice keeps full marks.
    RUBRIC.equivalent("AlexNet's input given as input_shape= on its first layer",
                      'keras.Input(shape=(227, 227, 3)),\n        layers.Conv2D(96, 11, strides=4, activation="relu"),',
                      'layers.Conv2D(96, 11, strides=4, activation="relu", input_shape=(227, 227, 3)),')
    RUBRIC.equivalent("VGG-16 with He-normal initialisers",
                      'layers.Conv2D(filters, 3, padding="same", activation="relu")',
                      'layers.Conv2D(filters, 3, padding="same", activation="relu", '
                      'kernel_initializer="he_normal")')


@judgement
def _api(ctx: Context, probe: Probe, call: str) -> str:
    ctx.student(probe, "outputs")
    return f"{call} returned a keras.Model"


@judgement
def _shape(ctx: Context, probe: Probe) -> str:
    return outputs_shaped(probe, ctx.reference(probe, "outputs"), "one probability per class")(ctx)


@judgement
def _params(ctx: Context, probe: Probe, name: str, call: str) -> str:
    try:
        message = params_match(probe, call)(ctx)
    except Fail as failed:
        raise Fail(_with_causes(str(failed), _causes(ctx, probe, name))) from None
    return f"{message} (published: {PUBLISHED[name]:,})"


@judgement
def _layers(ctx: Context, probe: Probe, name: str, call: str) -> str:
    try:
        return layers_match(probe, call)(ctx)
    except Fail as failed:
        raise Fail(_with_causes(str(failed), _causes(ctx, probe, name))) from None


def _input_size(graph: Graph) -> tuple[int | None, ...] | None:
    inputs = [n.shape for n in graph.nodes if n.kind == "input" and n.shape]
    return tuple(inputs[0][1:]) if inputs else None


def _causes(ctx: Context, probe: Probe, name: str) -> list[str]:
    """What in the student's network explains a difference in counts or shapes, in the lecture's words: the input
    size, layers the paper's network does not have, dense layers missing."""
    graph, reference = ctx.student_graph(probe), ctx.reference_graph(probe)
    causes = []
    found, expected = _input_size(graph), _input_size(reference)
    if found != expected and found and expected:
        text = "x".join(str(d) for d in found)
        cause = f"your {name} takes {text} inputs; the paper's takes {'x'.join(str(d) for d in expected)}"
        if name == "AlexNet" and found[:2] == (224, 224):
            cause += (": with 224, the first convolution (11x11, stride 4) does not fit a whole number of times "
                      "((224 - 11) / 4 + 1 = 54.25), so every later map is one smaller and the first Dense layer "
                      "sees fewer inputs. The paper's text says 224, but its 55x55 maps need 227")
        causes.append(cause)
    kinds, wanted = Counter(n.kind for n in graph.nodes), Counter(n.kind for n in reference.nodes)
    if kinds["batchnorm"] > wanted["batchnorm"] == 0:
        causes.append(f"your {name} has {kinds['batchnorm']} BatchNormalization layers; the paper's has none "
                      "(batch normalization came later, in 2015), and each adds 4 weights per channel")
    for kind, word in (("dense", "Dense"), ("conv", "Conv2D")):
        if kinds[kind] != wanted[kind]:
            fewer = wanted[kind] - kinds[kind]
            causes.append(f"your {name} has {abs(fewer)} {word} layer{'s' if abs(fewer) > 1 else ''} "
                          f"{'fewer' if fewer > 0 else 'more'} than the paper's {wanted[kind]}")
    return causes


def _kind_word(line: str) -> str | None:
    """The layer named by a count line of the general diagnosis ("found 5 X layers, expected 0"), if it is one."""
    if line.startswith("  - found ") and " layers, expected " in line:
        return line.removeprefix("  - found ").split(" ", 1)[1].split(" layers")[0]
    return None


def _with_causes(message: str, causes: list[str]) -> str:
    """`message` with `causes` among its likely causes (after those it already gives)."""
    if not causes:
        return message
    items = "\n".join(f"  - {c}" for c in causes)
    if "\nLikely cause:\n" not in message:
        return f"{message}\nLikely cause:\n{items}"
    head, tail = message.split("\nLikely cause:\n", 1)
    listed, rest = [], tail.splitlines()
    while rest and rest[0].startswith("  - "):
        listed.append(rest.pop(0))
    # a count the general diagnosis gives ("found 5 BatchNormalization layers, expected 0") that a cause here says
    # in the lecture's words is said once
    listed = [line for line in listed if not any(_kind_word(line) and _kind_word(line) in c for c in causes)]
    return "\n".join([head, "Likely cause:", *listed, items, *rest])


@judgement
def _counts(ctx: Context, probe: Probe, name: str) -> str:
    found, expected = _layer_counts(ctx.student_graph(probe)), _layer_counts(ctx.reference_graph(probe))
    text = f"{found['conv']} convolutions and {found['dense']} dense layers"
    if found != expected:
        raise Fail(f"{name} has {expected['conv']} convolutions and {expected['dense']} dense layers; "
                   f"yours has {text}")
    return text


@judgement
def _stages(ctx: Context, probe: Probe, name: str) -> str:
    found, expected = _stage_shapes(ctx.student_graph(probe)), _stage_shapes(ctx.reference_graph(probe))
    if found != expected:
        raise Fail(_with_causes(f"{name}'s feature maps after each pooling layer: expected {_shapes(expected)}, "
                                f"found {_shapes(found)}", _causes(ctx, probe, name)))
    return f"after each pooling layer: {_shapes(found)}"


@judgement
def _macs(ctx: Context, probe: Probe, name: str) -> str:
    found, expected = ctx.student(probe, "macs"), ctx.reference(probe, "macs")
    if "error" in found:
        raise Fail(f"{name}: multiply-accumulates could not be counted: {found['error']}")
    if found["total"] != expected["total"]:
        raise Fail(_with_causes(f"{name} should cost {format_count(expected['total'])} multiply-accumulates per "
                                f"image; yours costs {format_count(found['total'])}", _causes(ctx, probe, name)))
    return f"{name}: {format_count(found['total'])} ({found['total']:,}) multiply-accumulates per image"


for _name, (_probe, _call) in NETS.items():
    RUBRIC.check("api", f"{_call} returns a keras.Model", points=1, judge=_api(_probe, call=_call))
    RUBRIC.check("shape", f"{_call} gives one probability per class", points=1, judge=_shape(_probe))
    RUBRIC.check("params", f"{_name}: {PUBLISHED[_name]:,} parameters", points=2,
                 judge=_params(_probe, name=_name, call=_call))
    RUBRIC.check("structure", f"{_name}: the number of convolutions and dense layers", points=1,
                 judge=_counts(_probe, name=_name))
    RUBRIC.check("structure", f"{_name}: the layers of the paper, in order", points=2,
                 judge=_layers(_probe, name=_name, call=_call))
    RUBRIC.check("shape", f"{_name}: the shape after each pooling layer", points=1,
                 judge=_stages(_probe, name=_name))
    RUBRIC.check("macs", f"{_name}: multiply-accumulates", points=1, judge=_macs(_probe, name=_name))


def _layer_counts(graph: Graph) -> dict[str, int]:
    kinds = [node.kind for node in graph.nodes]
    return {"conv": kinds.count("conv"), "dense": kinds.count("dense")}


def _stage_shapes(graph: Graph) -> list[list[int | None]]:
    return [list(node.shape[1:]) for node in graph.nodes if node.kind in ("max_pool", "avg_pool") and node.shape]


def _shapes(shapes: list[list[int | None]]) -> str:
    return ", ".join("x".join(str(d) for d in shape) for shape in shapes) or "none"


@RUBRIC.check("receptive_field", "VGG-16's last pooling layer sees 212 pixels", points=1)
def vgg_field(ctx: Context) -> str:
    return _field(ctx, VGG, "VGG-16")


@RUBRIC.check("receptive_field", "AlexNet's last pooling layer sees 195 pixels", points=1)
def alexnet_field(ctx: Context) -> str:
    return _field(ctx, ALEXNET, "AlexNet")


def _field(ctx: Context, probe: Probe, name: str) -> str:
    found, expected = ctx.student(probe, "field"), ctx.reference(probe, "field")
    if found is None or found["size"] != expected["size"] or found["jump"] != expected["jump"]:
        raise Fail(f"{name}: each unit of the last feature maps should see {expected['text']}; yours sees "
                   f"{found['text'] if found else 'nothing measurable'}")
    return f"{name}: each unit of the last feature maps sees {found['text']}"


@RUBRIC.check("values", "build_lenet5 outputs class probabilities", points=1)
def lenet_probabilities(ctx: Context) -> str:
    return outputs_are_probabilities(LENET, "build_lenet5()")(ctx)


with RUBRIC.hidden():
    @RUBRIC.check("params", "build_lenet5 and build_alexnet with another number of classes", points=1)
    def other_classes(ctx: Context) -> str:
        outputs_shaped(ALEXNET_OTHER, [[None, 7]], "num_classes sets the width of the last layer")(ctx)
        return params_match(LENET_OTHER, "build_lenet5")(ctx)
