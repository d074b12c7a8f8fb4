"""Rubric of the `resnet` assignment: residual blocks, ResNet-18 to 152, the plain baseline (section 5)."""

# Contract audit (2026-12-02; shared/spec/assignments.md section 5), check by check:
# - api, shape: blocks return tensors of the stated shapes; build_resnet ends in (batch, num_classes).
# - params: the published trainable counts for 18 to 152 and the blocks' counts from the listed layers (no conv
#   biases, BN, projection only when the stride or channels change); hidden: other filters and strides.
# - structure: the blocks' layers (stride on the 3x3 or the first 1x1, both accepted), the stem, the plain network
#   for depths 18 and 34 without shortcuts; receptive_field, macs (ResNet-34: 3.6 G), gradient_flow, values,
#   convergence: the "Graded:" line.
# Not required, so never checked: what build_plain or build_resnet do at other depths (which error, if any),
# BatchNormalization's epsilon and momentum, initialisers, layer names, compile state.

from __future__ import annotations

import math

from grader.analysis.macs import format_count
from grader.analysis.structure import Parallel, branch_name, decompose
from grader.margins import Margins
from grader.registry import Context, Fail, Probe, Rubric, judgement
from grader.rubrics.common import (
    layers_match,
    outputs_are_probabilities,
    outputs_shaped,
    params_match,
    trains_like_reference,
)

RUBRIC = Rubric(
    "resnet",
    functions=("residual_block", "bottleneck_block", "build_resnet", "build_plain"),
    hints=tuple(
        (needle,
         "the shortcut and the residual branch have different shapes: when the stride is not 1 or the number of "
         "channels changes, the shortcut needs a projection, Conv2D(filters, 1, strides=stride, use_bias=False) "
         "followed by BatchNormalization.")
        for needle in ("Inputs have incompatible shapes", "Inputs to an `Add` layer should have the same shape")
    ),
)
_BLOCK = ("params", "structure", "outputs")

BASIC_ID = RUBRIC.probe("residual_block", 64, block_input=(16, 16, 64), measures=_BLOCK)
BASIC_DOWN = RUBRIC.probe("residual_block", 128, stride=2, block_input=(16, 16, 64), measures=_BLOCK)
with RUBRIC.hidden():
    BASIC_WIDEN = RUBRIC.probe("residual_block", 32, 1, block_input=(9, 9, 16), measures=_BLOCK)
NECK_ID = RUBRIC.probe("bottleneck_block", 64, block_input=(16, 16, 256), measures=_BLOCK)
NECK_DOWN = RUBRIC.probe("bottleneck_block", 128, stride=2, block_input=(16, 16, 256), measures=_BLOCK)
NECK_DOWN_ALT = RUBRIC.probe("bottleneck_block", 128, stride=2, block_input=(16, 16, 256), measures=_BLOCK,
                             reference_only=True, stride_on="1x1")
NETS = {depth: RUBRIC.probe("build_resnet", depth=depth,
                            measures=("params", "macs", "field", "outputs", *(("structure",) if depth == 18 else ())))
        for depth in (18, 34, 50, 101, 152)}
NET50_ALT = RUBRIC.probe("build_resnet", depth=50, measures=("params", "macs", "field"), reference_only=True,
                         stride_on="1x1")
PLAIN = RUBRIC.probe("build_plain", depth=34, measures=("params", "macs", "outputs", "structure"))
PLAIN_18 = RUBRIC.probe("build_plain", depth=18, measures=("params", "structure"))
GRAD_RES = RUBRIC.probe("build_resnet", depth=34, input_shape=(32, 32, 3), num_classes=10, sizes=((32, 32),),
                        measures=("gradients",))
GRAD_PLAIN = RUBRIC.probe("build_plain", depth=34, input_shape=(32, 32, 3), num_classes=10, sizes=((32, 32),),
                          measures=("gradients",))
# Mutants and equivalents quote the solution, so they are left out of a student release.
with RUBRIC.hidden():
    RUBRIC.mutant("no shortcut in the basic block", "y = layers.Add()([y, _shortcut(x, filters, stride)])", "y = y")
    RUBRIC.mutant("biases in the convolutions", "use_bias=False)(x)", "use_bias=True)(x)")
    RUBRIC.mutant("identity shortcuts in the plain network (same parameters)",
                  "            x = _conv_bn(x, filters, 3, 2 if stage > 0 and index == 0 else 1)\n"
                  "            x = _conv_bn(x, filters, 3)\n",
                  "            y = _conv_bn(x, filters, 3, 2 if stage > 0 and index == 0 else 1)\n"
                  "            y = _conv_bn(y, filters, 3)\n"
                  "            x = layers.Add()([x, y]) if x.shape == y.shape else y\n")
    RUBRIC.equivalent("1x1 convolutions with padding='valid'", 'strides=stride, padding="same", use_bias=False)(x)',
                      'strides=stride, padding="valid" if kernel_size == 1 else "same", use_bias=False)(x)')
    # What the contract leaves open (tests/rubrics/test_rubrics.py has the hand-written spellings): any choice keeps
    # full marks.
    RUBRIC.equivalent("BatchNormalization with PyTorch's momentum and epsilon", "x = layers.BatchNormalization()(x)",
                      "x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)")
    RUBRIC.equivalent("He-normal initialisers", 'padding="same", use_bias=False)(x)',
                      'padding="same", use_bias=False, kernel_initializer="he_normal")(x)')
    RUBRIC.equivalent("build_plain refuses another depth with an AssertionError",
                      'raise ValueError(f"build_plain: depth must be 18 or 34',
                      'raise AssertionError(f"build_plain: depth must be 18 or 34')
# How far above the reference's last-epoch training loss a student may land, per profile. Measured (`make
# calibrate`, benchmarks/results/convergence-quick-2cpu.json): quick reference 0.018-0.087 under ten seeds, the
# stack without shortcuts 0.53-0.65; full (benchmarks/convergence.py on an H200) reference and equivalent
# 0.004-0.032, without shortcuts 0.070-0.140.
TRAIN = RUBRIC.harness("resnet_network", "residual_block", dataset="shapes",
                       margins=Margins(loss={"quick": 0.25, "full": 0.04}))
SMALL = RUBRIC.probe("build_resnet", depth=18, input_shape=(64, 64, 3), num_classes=10, sizes=((64, 64),),
                     measures=("outputs", "probabilities"))


def _either(ctx: Context, probe: Probe, alternative: Probe, measurement: str) -> tuple[object, list[object]]:
    """The student's measurement and the accepted reference values (both stride placements)."""
    return ctx.student(probe, measurement), [ctx.reference(probe, measurement), ctx.reference(alternative, measurement)]


@RUBRIC.check("api", "residual_block returns a Keras tensor", points=1)
def block_returns_tensor(ctx: Context) -> str:
    ctx.student(BASIC_ID, "outputs")
    return "residual_block returned a Keras tensor"


@RUBRIC.check("api", "build_resnet returns a keras.Model", points=1)
def builder_returns_model(ctx: Context) -> str:
    ctx.student(NETS[18], "outputs")
    return "build_resnet returned a keras.Model"


@judgement
def _plain_layers(ctx: Context, probe: Probe, what: str) -> str:
    """The plain network's structure; a shortcut left in it is said in the paper's terms."""
    try:
        return layers_match(probe, what)(ctx)
    except Fail as failed:
        message = str(failed)
        if "found a shortcut connection" in message:
            message += ("\nThe plain network is the paper's baseline without any shortcut: no identity shortcuts and "
                        "no projection shortcuts either, also where a stage changes the size; its blocks are just the "
                        "two 3x3 convolutions, one after the other.")
        raise Fail(message) from None


# The contract defines build_plain for depths 18 and 34 and says nothing of others, so no check asks what another
# depth does (which error, if any): the point is on depth 18, which it does define.
RUBRIC.check("structure", "build_plain(18) is ResNet-18 without its shortcuts", points=1,
             judge=_plain_layers(PLAIN_18, "build_plain(18)"))


RUBRIC.check("shape", "residual_block keeps the shape at stride 1", points=1,
             judge=outputs_shaped(BASIC_ID, [[None, 16, 16, 64]], "stride 1 with the same channels keeps the shape"))
RUBRIC.check("shape", "residual_block(stride=2) halves the size and changes the channels", points=1,
             judge=outputs_shaped(BASIC_DOWN, [[None, 8, 8, 128]], "stride 2 halves height and width"))


@RUBRIC.check("shape", "bottleneck_block outputs 4 x filters channels", points=1)
def neck_shapes(ctx: Context) -> str:
    outputs_shaped(NECK_ID, [[None, 16, 16, 256]], "the last 1x1 convolution has 4 x filters channels")(ctx)
    return outputs_shaped(NECK_DOWN, [[None, 8, 8, 512]], "stride 2 halves height and width")(ctx)


@RUBRIC.check("shape", "build_resnet ends in (batch, num_classes)", points=1)
def net_output(ctx: Context) -> str:
    outputs_shaped(NETS[50], [[None, 1000]], "")(ctx)
    return outputs_shaped(SMALL, [[None, 10]], "")(ctx)


RUBRIC.check("params", "residual_block, identity shortcut", points=1,
             judge=params_match(BASIC_ID, "residual_block(x, 64) on 64 channels"))
RUBRIC.check("params", "residual_block, projection shortcut", points=1,
             judge=params_match(BASIC_DOWN, "residual_block(x, 128, stride=2)"))
with RUBRIC.hidden():
    RUBRIC.check("params", "residual_block with other arguments", points=1,
                 judge=params_match(BASIC_WIDEN, "residual_block"))
RUBRIC.check("params", "bottleneck_block, identity shortcut", points=1,
             judge=params_match(NECK_ID, "bottleneck_block(x, 64) on 256 channels"))
RUBRIC.check("params", "bottleneck_block, projection shortcut", points=1,
             judge=params_match(NECK_DOWN, "bottleneck_block(x, 128, stride=2)"))
for _depth, _count in ((18, "11,689,512"), (34, "21,797,672"), (50, "25,557,032"), (101, "44,549,160"),
                       (152, "60,192,808")):
    RUBRIC.check("params", f"build_resnet({_depth}): {_count} trainable", points=1,
                 judge=params_match(NETS[_depth], f"build_resnet({_depth})"))
RUBRIC.check("params", "build_plain(34)", points=1, judge=params_match(PLAIN, "build_plain(34)"))
RUBRIC.check("structure", "build_resnet(18): the stem, four stages of basic blocks and the head of the paper",
             points=1, judge=layers_match(NETS[18], "build_resnet(18)"))
RUBRIC.check("structure", "build_plain(34) is ResNet-34 without its shortcuts", points=1,
             judge=_plain_layers(PLAIN, "build_plain(34)"))


@RUBRIC.check("structure", "residual_block has the layers and the shortcut of the paper", points=2)
def basic_layers(ctx: Context) -> str:
    layers_match(BASIC_ID, "residual_block (identity shortcut)")(ctx)
    return layers_match(BASIC_DOWN, "residual_block (projection shortcut)")(ctx)


@RUBRIC.check("structure", "bottleneck_block has the layers of the paper (stride on the 3x3 or the 1x1)", points=2)
def neck_layers(ctx: Context) -> str:
    layers_match(NECK_ID, "bottleneck_block (identity shortcut)")(ctx)
    found, accepted = _either(ctx, NECK_DOWN, NECK_DOWN_ALT, "structure")
    if found["signature"] in [a["signature"] for a in accepted]:  # type: ignore[index]
        return "bottleneck_block matches the paper"
    return layers_match(NECK_DOWN, "bottleneck_block (projection shortcut, stride 2)")(ctx)


@RUBRIC.check("structure", "a projection only when the shape changes", points=1)
def projection_only_when_needed(ctx: Context) -> str:
    for probe, needed in ((BASIC_ID, False), (BASIC_DOWN, True), (NECK_ID, False), (NECK_DOWN, True)):
        blocks = [i for i in decompose(ctx.student_graph(probe)) if isinstance(i, Parallel)]
        if not blocks:
            raise Fail(f"{probe.call_text()} has no addition: the shortcut is missing")
        names = {branch_name(b, len(blocks[0].branches)) for b in blocks[0].branches}
        has_identity = "identity shortcut" in names
        if needed and has_identity:
            raise Fail(f"{probe.call_text()} changes the shape but adds the input unchanged: use a projection")
        if not needed and not has_identity:
            raise Fail(f"{probe.call_text()} keeps the shape, so its shortcut should be the identity (x itself), "
                       "not a convolution")
    return "identity shortcuts where the shape stays, projections where it changes"


@RUBRIC.check("receptive_field", "ResNet-18's last block sees 435 pixels", points=1)
def field_18(ctx: Context) -> str:
    found, expected = ctx.student(NETS[18], "field"), ctx.reference(NETS[18], "field")
    if found != expected:
        ctx.attach(figure={"kind": "receptive_field", "what": "ResNet-18's last feature maps", "input": [224, 224],
                           "student": found, "reference": expected})
        raise Fail(f"the last feature maps of ResNet-18 should see {expected['text']}; yours see "
                   f"{found['text'] if found else 'nothing spatial'}. Check the stem's max pool (3x3, stride 2) and "
                   "that the stride of a basic block is on its first 3x3 convolution.")
    return f"the last feature maps see {found['text']}"


@RUBRIC.check("receptive_field", "ResNet-50's field (either stride placement)", points=1)
def field_50(ctx: Context) -> str:
    found, accepted = _either(ctx, NETS[50], NET50_ALT, "field")
    if found not in accepted:
        texts = " or ".join(a["text"] for a in accepted)  # type: ignore[index]
        raise Fail(f"the last feature maps of ResNet-50 should see {texts} (stride on the 3x3 or on the first "
                   f"1x1); yours see {found['text'] if found else 'nothing spatial'}")  # type: ignore[index]
    return f"the last feature maps see {found['text']}"  # type: ignore[index]


def _macs_text(values: list[object]) -> str:
    return " or ".join(format_count(v["total"]) for v in values)  # type: ignore[index]


@RUBRIC.check("macs", "ResNet-18 1.81 G and ResNet-34 3.66 G multiply-accumulates", points=1)
def macs_basic(ctx: Context) -> str:
    parts = []
    for depth in (18, 34):
        found, expected = ctx.student(NETS[depth], "macs"), ctx.reference(NETS[depth], "macs")
        if found.get("total") != expected["total"]:
            raise Fail(f"ResNet-{depth} should cost {format_count(expected['total'])} multiply-accumulates at "
                       f"224x224; yours costs {format_count(found['total']) if 'total' in found else found}. A "
                       "missing stem max pool or a stride on the wrong convolution makes the feature maps larger.")
        parts.append(f"ResNet-{depth}: {format_count(found['total'])}")
    return ", ".join(parts)


@RUBRIC.check("macs", "ResNet-50's multiply-accumulates (either stride placement)", points=1)
def macs_50(ctx: Context) -> str:
    found, accepted = _either(ctx, NETS[50], NET50_ALT, "macs")
    if found.get("total") not in [a["total"] for a in accepted]:  # type: ignore[union-attr, index]
        raise Fail(f"ResNet-50 should cost {_macs_text(accepted)} multiply-accumulates (stride on the 3x3 or the "
                   f"first 1x1); yours costs {_macs_text([found])}")
    return f"ResNet-50: {_macs_text([found])}"


@RUBRIC.check("gradient_flow", "shortcuts keep the gradient's scale from the last layer to the first", points=3)
def gradient_flow(ctx: Context) -> str:
    found = ctx.student(GRAD_RES, "gradients")
    reference_res, reference_plain = ctx.reference(GRAD_RES, "gradients"), ctx.reference(GRAD_PLAIN, "gradients")
    if "error" in found:
        raise Fail(f"the gradients of build_resnet(34) could not be measured: {found['error']}")
    try:
        plain = ctx.student(GRAD_PLAIN, "gradients")
    except Fail:
        plain = reference_plain
    plain_text = f"{plain['ratio']:.3g}" if "ratio" in plain else "not measured"

    def drift(values: dict) -> float:
        return abs(math.log10(values["ratio"]))

    limit = drift(reference_res) + 0.25 * (drift(reference_plain) - drift(reference_res))
    summary = (f"at initialisation the gradient norm at the first convolution is {found['ratio']:.3g} times the "
               f"norm at the last one in your ResNet-34, and {plain_text} times in your plain 34-layer network")
    if drift(found) > limit:
        ctx.attach(figure={"kind": "gradients", "student": found.get("norms"), "plain": plain.get("norms"),
                           "reference": reference_res.get("norms")})
        raise Fail(summary + f". With working shortcuts it stays near {reference_res['ratio']:.3g}: each block "
                   "adds its input back, so the gradient reaches the early layers through the identity paths. "
                   "Check that every block adds its shortcut.")
    return summary + (": the identity paths keep the gradient's scale across 34 layers, which is why deep residual "
                      "networks train where plain ones struggle.")


RUBRIC.check("values", "build_resnet outputs class probabilities", points=1,
             judge=outputs_are_probabilities(SMALL, "build_resnet(18, input_shape=(64, 64, 3), num_classes=10)"))
RUBRIC.check("convergence", "a deep stack of your residual blocks learns like the reference", points=3,
             judge=trains_like_reference(TRAIN, "a stack of twelve of your residual blocks"))
