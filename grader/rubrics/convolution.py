"""Rubric of the `convolution` assignment: convolution arithmetic and a small feature extractor (section 1)."""

from __future__ import annotations

import random
from functools import partial

from grader.registry import Context, Fail, Probe, Rubric
from grader.rubrics.common import compare_layers, compare_params

RUBRIC = Rubric("convolution", functions=("dense_connections", "conv1d_connections", "conv2d_params",
                                          "conv_output_size", "receptive_field", "build_feature_extractor"))

# The lecture's examples (visible), then seeded random arguments (hidden): the same on every run.
EXAMPLES: dict[str, list[tuple]] = {
    "dense_connections": [(5, 5), (784, 100)],
    "conv1d_connections": [(5, 3), (7, 5)],
    "conv2d_params": [(3, 64, 3), (64, 128, (1, 3)), (16, 32, 5, False)],
    "conv_output_size": [(32, 5), (32, 3, 2, "same"), (227, 11, 4), (28, 3, 1, "valid", 2)],
    "receptive_field": [([(3, 1)] * 3,), ([(3, 2), (3, 2)],), ([(3, 1, 2), (3, 1, 4)],)],
}
PROBES: dict[str, list[Probe]] = {name: [RUBRIC.value(name, *args) for args in cases]
                                  for name, cases in EXAMPLES.items()}
# BEGIN HIDDEN
_rng = random.Random(1998)


def _hidden_cases(name: str) -> list[tuple]:
    cases: list[tuple] = []
    for _ in range(15):
        if name == "dense_connections":
            cases.append((_rng.randint(1, 500), _rng.randint(1, 500)))
        elif name == "conv1d_connections":
            kernel = _rng.choice([1, 3, 5, 7, 9])
            cases.append((_rng.randint(1, 40), kernel))
        elif name == "conv2d_params":
            kernel = _rng.choice([1, 3, 5, 7, (1, 3), (3, 1), (5, 3)])
            cases.append((_rng.randint(1, 256), _rng.randint(1, 256), kernel, _rng.random() < 0.7))
        elif name == "conv_output_size":
            kernel, stride, dilation = _rng.choice([1, 2, 3, 5, 7, 11]), _rng.randint(1, 4), _rng.randint(1, 3)
            padding = _rng.choice(["valid", "same"])
            n = _rng.randint((kernel - 1) * dilation + 1, 300)
            cases.append((n, kernel, stride, padding, dilation))
        else:
            chain = [(_rng.choice([1, 2, 3, 5, 7]), _rng.randint(1, 3), *([_rng.randint(1, 3)] * _rng.randint(0, 1)))
                     for _ in range(_rng.randint(1, 6))]
            cases.append((chain,))
    return cases


HIDDEN: dict[str, list[Probe]] = {name: [RUBRIC.value(name, *args) for args in _hidden_cases(name)]
                                  for name in EXAMPLES}
# END HIDDEN

EXTRACTOR = RUBRIC.probe("build_feature_extractor", sizes=((20, 20), (13, 29)),
                         measures=("params", "structure", "field", "shapes", "equivariance"))
EXTRACTOR_WIDE = RUBRIC.probe("build_feature_extractor", channels=4, sizes=((16, 16),), measures=("params", "shapes"))

RUBRIC.mutant("conv_output_size ignores the dilation", "span = (kernel_size - 1) * dilation + 1",
              "span = kernel_size")
RUBRIC.mutant("feature extractor with 5x5 kernels", 'layers.Conv2D(channels, 3, padding="same", activation="relu")',
              'layers.Conv2D(channels, 5, padding="same", activation="relu")')


def _compare_values(ctx: Context, probes: list[Probe]) -> str:
    wrong = []
    for probe in probes:
        found, expected = ctx.value(probe), ctx.reference(probe, "value")
        if found != expected:
            wrong.append(f"{probe.call_text()}: expected {expected!r}, returned {found!r}")
    if wrong:
        more = f"\n  ... and {len(wrong) - 3} more" if len(wrong) > 3 else ""
        raise Fail(f"{len(wrong)} of {len(probes)} calls gave another value:\n  " + "\n  ".join(wrong[:3]) + more)
    shown = "; ".join(f"{p.call_text()} = {ctx.value(p)!r}" for p in probes[:2])
    return f"{len(probes)} calls, all as expected ({shown}{'; ...' if len(probes) > 2 else ''})"


for _name in EXAMPLES:
    RUBRIC.check("values", f"{_name} on the lecture's examples", points=1,
                 judge=partial(_compare_values, probes=PROBES[_name]))
# BEGIN HIDDEN
for _name in EXAMPLES:
    RUBRIC.check("values", f"{_name} on other arguments", points=1, hidden=True,
                 judge=partial(_compare_values, probes=HIDDEN[_name]))
# END HIDDEN


@RUBRIC.check("api", "build_feature_extractor returns a keras.Model", points=1)
def extractor_returns_model(ctx: Context) -> str:
    ctx.student(EXTRACTOR, "params")
    return "build_feature_extractor returned a keras.Model"


@RUBRIC.check("shape", "feature maps the size of the input, one per channel, at any input size", points=1)
def extractor_shapes(ctx: Context) -> str:
    found = ctx.student(EXTRACTOR, "shapes")
    expected = ctx.reference(EXTRACTOR, "shapes")
    if found != expected:
        pairs = ", ".join(f"{size}: expected {expected[size]}, found {found.get(size)}" for size in expected)
        raise Fail(f"build_feature_extractor(): {pairs}. Stride 1 and padding='same' keep the size.")
    return "output " + ", ".join(f"{tuple(v)} for {k}" for k, v in found.items())


@RUBRIC.check("params", "build_feature_extractor(8) and (4)", points=1)
def extractor_params(ctx: Context) -> str:
    compare_params(ctx, EXTRACTOR_WIDE, "build_feature_extractor(4)")
    return compare_params(ctx, EXTRACTOR, "build_feature_extractor(8)")


@RUBRIC.check("structure", "three 3x3 convolutions with ReLU", points=1)
def extractor_structure(ctx: Context) -> str:
    return compare_layers(ctx, EXTRACTOR, "build_feature_extractor()")


@RUBRIC.check("receptive_field", "one unit of the last layer sees 7x7 pixels", points=1)
def extractor_field(ctx: Context) -> str:
    found, expected = ctx.student(EXTRACTOR, "field"), ctx.reference(EXTRACTOR, "field")
    if found is None or found["size"] != expected["size"]:
        raise Fail(f"each unit should see {expected['text']}; yours sees {found['text'] if found else 'nothing'}")
    return f"each unit sees {found['text']}"


@RUBRIC.check("equivariance", "shifting the input shifts the feature maps (away from the border)", points=2)
def extractor_equivariance(ctx: Context) -> str:
    found = ctx.student(EXTRACTOR, "equivariance")
    if "error" in found:
        raise Fail(f"build_feature_extractor(): {found['error']}")
    dy, dx = found["shift"]
    if found["max_difference"] > 1e-4:
        raise Fail(f"shifting the input by ({dy}, {dx}) pixels should shift the feature maps by as much; away from "
                   f"the border (margin {found['margin']}) they differ by up to {found['max_difference']:.2g} of their "
                   "largest value. A convolution is equivariant; pooling, strides or layers that mix positions are "
                   "not.")
    return (f"shifting the input by ({dy}, {dx}) pixels shifted the feature maps by as much "
            f"(difference {found['max_difference']:.1e})")
