"""Rubric of the `gap` assignment: global-average-pooling heads (section 2 of the contract)."""

# Contract audit (2026-12-02; shared/spec/assignments.md section 2), check by check:
# - api, shape: heads are tensor-to-tensor functions and builders return a keras.Model; output (batch, num_classes)
#   at 28x28, 32x32, 64x64 and a non-square size; hidden: other num_classes and channels (the signature's arguments).
# - params: 4,010 for the head on 16 channels, 6,582 for (10, 1); hidden: other arguments.
# - structure: "No Flatten, no Dense"; Conv2D(num_classes, kernel_size) -> GlobalAveragePooling2D -> softmax; the
#   builder's layers as listed. values: "probabilities". invariance, receptive_field, convergence: "Graded:" line.
# Not required, so never checked: initialisers, layer names, compile state, how the softmax is spelled.

from __future__ import annotations

from grader.margins import Margins
from grader.registry import Context, Fail, Probe, Rubric, judgement
from grader.rubrics.common import layers_match, not_probabilities, params_match, trains_like_reference

RUBRIC = Rubric(
    "gap",
    functions=("gap_head", "build_lenet_gap"),
    hints=(
        ("Shapes used to initialize variables must be fully-defined",
         "a Dense layer needs to know its input size, so a Flatten/Dense head only works at one resolution; "
         "a global-average-pooling head (Conv2D -> GlobalAveragePooling2D -> softmax) has no Dense layer."),
        ("Flatten",
         "Flatten ties the network to one input size; average each class map with GlobalAveragePooling2D."),
    ),
)
# How far below the reference's validation accuracy a student may land, per training profile. Measured: quick
# (`make calibrate`, benchmarks/results/convergence-quick-2cpu.json, 2 cores) reference 0.80-0.86 under ten seeds,
# averaging first 0.49-0.58; full (benchmarks/convergence.py on an H200, JAX) reference and equivalent 0.893-0.904
# under three seeds, averaging first 0.777-0.802.
MARGINS = Margins(accuracy={"quick": 0.15, "full": 0.06})
_SIZES = ((28, 28), (32, 32), (64, 64), (40, 24))

# The head on LeNet's own 7x7x16 maps: fixed size, so even a Flatten/Dense head builds and can be diagnosed.
HEAD = RUBRIC.probe("gap_head", block_input=(7, 7, 16), num_classes=10, measures=("params", "structure"))
HEAD_ANY_SIZE = RUBRIC.probe("gap_head", block_input=(None, None, 16), num_classes=10, measures=("shapes",),
                             sizes=((7, 7), (8, 8), (16, 16), (5, 9)))
with RUBRIC.hidden():
    HEAD_HIDDEN = RUBRIC.probe("gap_head", block_input=(None, None, 32), num_classes=7, kernel_size=7,
                               measures=("params", "shapes"), sizes=((6, 6), (11, 4)),
                               ignored={"kernel_size": 5, "num_classes": 10})
LENET = RUBRIC.probe("build_lenet_gap", num_classes=10, channels=1, sizes=_SIZES,
                     measures=("params", "structure", "field", "shapes", "probabilities", "invariance"))
# Batch 32: LeNet-GAP learns slowly, and twice the updates make its accuracy steady across seeds (measured).
# Mutants and equivalents quote the solution, so they are left out of a student release.
with RUBRIC.hidden():
    RUBRIC.mutant("3x3 class convolution", 'layers.Conv2D(num_classes, kernel_size, padding="same")(features)',
                  'layers.Conv2D(num_classes, 3, padding="same")(features)')
    RUBRIC.mutant("no softmax", "return layers.Softmax()(scores)", "return scores")
    RUBRIC.equivalent("softmax as an Activation layer", "return layers.Softmax()(scores)",
                      'return layers.Activation("softmax")(scores)')
    RUBRIC.equivalent("a He-normal initialiser on the class convolution (the contract sets none)",
                      'layers.Conv2D(num_classes, kernel_size, padding="same")(features)',
                      'layers.Conv2D(num_classes, kernel_size, padding="same", '
                      'kernel_initializer="he_normal")(features)')
TRAIN = RUBRIC.probe("build_lenet_gap", num_classes=10, channels=1, measures=("convergence",), dataset="mnist",
                     training={"batch_size": 32}, margins=MARGINS)
with RUBRIC.hidden():
    LENET_RGB = RUBRIC.probe("build_lenet_gap", num_classes=5, channels=3, sizes=((28, 28), (48, 36)),
                             measures=("params", "shapes"), ignored={"num_classes": 10, "channels": 1})


@RUBRIC.check("api", "gap_head returns a Keras tensor", points=1)
def head_returns_tensor(ctx: Context) -> str:
    ctx.student(HEAD, "params")
    return "gap_head returned a Keras tensor"


@RUBRIC.check("api", "build_lenet_gap returns a keras.Model", points=1)
def builder_returns_model(ctx: Context) -> str:
    ctx.student(LENET, "params")
    return "build_lenet_gap returned a keras.Model"


@judgement
def _shaped_at_every_size(ctx: Context, probe: Probe, batch_classes: list[int]) -> str:
    shapes = ctx.student(probe, "shapes")
    wrong = {size: shape for size, shape in shapes.items() if shape != batch_classes}
    if wrong:
        lines = [f"  - input {size}: " + (shape if isinstance(shape, str) else f"output {tuple(shape)}")
                 for size, shape in wrong.items()]
        raise Fail(
            f"{probe.call_text()}: expected an output of shape {tuple(batch_classes)} for every input size, "
            "but:\n" + "\n".join(lines) + "\nA global-average-pooling head gives one score per class whatever the "
            "input size; build on keras.Input(shape=(None, None, channels)) and avoid Flatten and Dense."
        )
    return f"output {tuple(batch_classes)} at input sizes {', '.join(shapes)}"


RUBRIC.check("shape", "gap_head gives (batch, num_classes) at any feature-map size", points=1,
             judge=_shaped_at_every_size(HEAD_ANY_SIZE, [2, 10]))
RUBRIC.check("shape", "build_lenet_gap gives (batch, num_classes) at 28x28, 32x32, 64x64 and 40x24", points=2,
             judge=_shaped_at_every_size(LENET, [2, 10]))
with RUBRIC.hidden():
    RUBRIC.check("shape", "build_lenet_gap(num_classes=5, channels=3) output shape", points=1,
                 judge=_shaped_at_every_size(LENET_RGB, [2, 5]))


RUBRIC.check("params", "gap_head on 16 channels, 10 classes", points=1, judge=params_match(HEAD, "gap_head(x, 10)"))
RUBRIC.check("params", "build_lenet_gap(10, 1)", points=1, judge=params_match(LENET, "build_lenet_gap(10, 1)"))
with RUBRIC.hidden():
    RUBRIC.check("params", "gap_head with other arguments", points=1, judge=params_match(HEAD_HIDDEN, "gap_head"))
    RUBRIC.check("params", "build_lenet_gap with other arguments", points=1,
                 judge=params_match(LENET_RGB, "build_lenet_gap"))


@RUBRIC.check("structure", "the head has no Flatten and no Dense layer", points=1)
def head_has_no_dense(ctx: Context) -> str:
    kinds = ctx.student(HEAD, "structure")["kinds"]
    found = sorted({{"dense": "Dense", "flatten": "Flatten"}[k] for k in kinds if k in ("dense", "flatten")})
    if found:
        raise Fail(
            f"gap_head contains {' and '.join(found)}. A global-average-pooling head has neither: a Conv2D "
            "with one filter per class makes one map per class, and GlobalAveragePooling2D averages each map to "
            "one score, so the head has no weights tied to the input size."
        )
    return "no Flatten and no Dense"


RUBRIC.check("structure", "the head is a class convolution, a global average and a softmax", points=1,
             judge=layers_match(HEAD, "gap_head"))
RUBRIC.check("structure", "build_lenet_gap has the layers of the assignment", points=1,
             judge=layers_match(LENET, "build_lenet_gap"))


@RUBRIC.check("values", "build_lenet_gap outputs class probabilities", points=2)
def lenet_probabilities(ctx: Context) -> str:
    found = ctx.student(LENET, "probabilities")
    if "error" in found:
        raise Fail(f"build_lenet_gap(10, 1) could not classify a 28x28 batch: {found['error']}")
    if not_probabilities(found):
        raise Fail(
            f"the outputs are not probabilities: values range from {found['min']:.3g} to {found['max']:.3g} and a "
            f"row's sum is off 1 by up to {found['sum_error']:.3g}. End the head with a softmax over the class "
            "scores (layers.Softmax() or Activation('softmax'))."
        )
    return "every output row is non-negative and sums to 1"


@RUBRIC.check("invariance", "the prediction ignores where the object is (shift by a multiple of the stride)",
              points=3)
def lenet_invariance(ctx: Context) -> str:
    found = ctx.student(LENET, "invariance")
    if "error" in found:
        raise Fail(f"build_lenet_gap(10, 1) could not classify a {found['canvas']}x{found['canvas']} image: "
                   f"{found['error']}")
    if found["max_difference"] > 1e-4:
        raise Fail(
            f"moving one object across a blank {found['canvas']}x{found['canvas']} field by {found['shift']} pixels "
            f"changed the predicted probabilities by up to {found['max_difference']:.3g}. With global average "
            "pooling each class score is the mean of its map, so moving the object by a multiple of the network's "
            "stride only moves the map and leaves the mean as it was. Something in the head depends on position "
            "(Flatten, Dense, or a fixed pooling window)."
        )
    return (f"moving the object by {found['shift']} pixels changed the probabilities by at most "
            f"{found['max_difference']:.1e}")


@RUBRIC.check("receptive_field", "the class maps' receptive field and stride", points=2)
def lenet_field(ctx: Context) -> str:
    found, expected = ctx.student(LENET, "field"), ctx.reference(LENET, "field")
    if found is None:
        raise Fail("build_lenet_gap has no spatial feature maps before its head")
    if found["size"] != expected["size"] or found["jump"] != expected["jump"]:
        ctx.attach(figure={"kind": "receptive_field", "what": "the class maps", "input": [28, 28], "student": found,
                           "reference": expected})
        raise Fail(
            f"each unit of the class maps should see {expected['text']}; yours sees {found['text']}. "
            "Check the kernel sizes (5 for both convolutions and the head), the two MaxPooling2D(2) layers, "
            "and that no convolution has a stride."
        )
    return f"each unit of the class maps sees {found['text']}"


RUBRIC.check("convergence", "build_lenet_gap learns MNIST digits like the reference", points=3,
             judge=trains_like_reference(TRAIN, "your build_lenet_gap(10, 1)"))
