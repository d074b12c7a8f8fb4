"""Rubric of the `convolution` assignment: convolution arithmetic and a small feature extractor (section 1)."""

# Contract audit (2026-12-02; shared/spec/assignments.md section 1), check by check:
# - values (5 visible, 5 hidden): each function's table row and example; "values on hidden random arguments".
# - api, shape, params, structure: build_feature_extractor returns a Model on (None, None, 1) of three
#   Conv2D(channels, 3) stride-1 "same" layers with ReLU (any spelling of the activation).
# - receptive_field: the table's "receptive field 7". equivariance: "translation equivariance (shifting the input
#   shifts the feature maps, away from the border)".
# Not required, so never checked: initialisers, layer names, an explicit keras.Input or input_shape=, compile state.

from __future__ import annotations

import random

from grader.registry import Context, Fail, Probe, Rubric, judgement, quote
from grader.rubrics.common import layers_match, params_match

RUBRIC = Rubric("convolution", functions=("dense_connections", "conv1d_connections", "conv2d_params",
                                          "conv_output_size", "receptive_field", "build_feature_extractor"))

# The lecture's examples (visible), then seeded random arguments (hidden): the same on every run. A dict at the end of
# a case holds keyword arguments: the contract's parameter names are part of the function.
EXAMPLES: dict[str, list[tuple]] = {
    "dense_connections": [(5, 5), (784, 100)],
    "conv1d_connections": [(5, 3), (7, 5)],
    "conv2d_params": [(3, 64, 3), (64, 128, (1, 3)), (16, 32, 5, {"use_bias": False})],
    "conv_output_size": [(32, 5), (32, 3, {"stride": 2, "padding": "same"}), (227, 11, 4),
                         (28, 3, {"stride": 1, "padding": "valid", "dilation": 2})],
    "receptive_field": [([(3, 1)] * 3,), ([(3, 2), (3, 2)],), ([(3, 1, 2), (3, 1, 4)],)],
}


def _call(name: str, case: tuple) -> Probe:
    args, kwargs = (case[:-1], case[-1]) if case and isinstance(case[-1], dict) else (case, {})
    return RUBRIC.value(name, *args, **kwargs)


PROBES: dict[str, list[Probe]] = {name: [_call(name, case) for case in cases] for name, cases in EXAMPLES.items()}
HIDDEN: dict[str, list[Probe]] = {}  # filled below where the hidden checks exist (not in a student release)
with RUBRIC.hidden():
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
                chain = [(_rng.choice([1, 2, 3, 5, 7]), _rng.randint(1, 3),
                          *([_rng.randint(1, 3)] * _rng.randint(0, 1))) for _ in range(_rng.randint(1, 6))]
                cases.append((chain,))
        return cases


    HIDDEN.update({name: [RUBRIC.value(name, *args) for args in _hidden_cases(name)] for name in EXAMPLES})

EXTRACTOR = RUBRIC.probe("build_feature_extractor", sizes=((20, 20), (13, 29)),
                         measures=("params", "structure", "field", "shapes", "equivariance"))
EXTRACTOR_WIDE = RUBRIC.probe("build_feature_extractor", channels=4, sizes=((16, 16),), measures=("params", "shapes"))

# Mutants and equivalents quote the solution, so they are left out of a student release.
with RUBRIC.hidden():
    RUBRIC.mutant("conv_output_size ignores the dilation", "span = (kernel_size - 1) * dilation + 1",
                  "span = kernel_size")
    RUBRIC.mutant("feature extractor with 5x5 kernels", 'layers.Conv2D(channels, 3, padding="same", activation="relu")',
                  'layers.Conv2D(channels, 5, padding="same", activation="relu")')


def _pair(kernel) -> tuple[int, int]:
    return (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)


def _span(k: int, d: int = 1) -> int:
    return (k - 1) * d + 1


def _field(chain, strides: bool = True, dilations: bool = True) -> int:
    field, jump = 1, 1
    for layer in chain:
        kernel, stride, dilation = (*layer, 1)[:3]
        field += (kernel - 1) * (dilation if dilations else 1) * jump
        jump *= stride if strides else 1
    return field


def _field_stride_first(chain) -> int:
    field, jump = 1, 1
    for layer in chain:
        kernel, stride, dilation = (*layer, 1)[:3]
        jump *= stride
        field += (kernel - 1) * dilation * jump
    return field


def _valid(n, k, s=1, padding="valid", d=1, ceil=False, plus_one=True, dilation=True) -> int:
    span = _span(k, d if dilation else 1)
    if padding == "same":
        return (n + s - 1) // s
    return (-(-(n - span) // s) if ceil else (n - span) // s) + (1 if plus_one else 0)


def _weights(in_channels: int, filters: int, kernel_size) -> int:
    kh, kw = _pair(kernel_size)
    return kh * kw * in_channels * filters


def _PARAMS(formula):  # noqa: N802  a formula called with conv2d_params's parameters, by the contract's names
    def call(in_channels, filters, kernel_size, use_bias=True):
        return formula(in_channels, filters, kernel_size, use_bias)
    return call


def _OUTPUT(formula):  # noqa: N802  a formula called with conv_output_size's parameters, by the contract's names
    def call(n, kernel_size, stride=1, padding="valid", dilation=1):
        return formula(n, kernel_size, stride, padding, dilation)
    return call


# The common wrong formulas of each function, in the lecture's words, recognised from the values returned on every
# call (visible and hidden): the message names the mistake, never a hidden argument or value.
MISTAKES: dict[str, list[tuple[str, object]]] = {
    "dense_connections": [
        ("you count the biases too: the arrows are the weights only, n_in x n_out",
         lambda n_in, n_out: n_in * n_out + n_out),
        ("you add where you should multiply: every input joins every output, n_in x n_out",
         lambda n_in, n_out: n_in + n_out),
    ],
    "conv1d_connections": [
        ("you count every kernel position, also those that fall past the border on the zero padding: only arrows "
         "that leave a real input count, so the units near the border have fewer",
         lambda n, kernel_size: n * kernel_size),
        ("you count only the positions where the whole kernel fits (no padding): with 'same' padding every output "
         "exists, with fewer arrows near the border",
         lambda n, kernel_size: max(n - kernel_size + 1, 0) * kernel_size),
        ("you count the arrows of a fully connected layer: a convolution joins each output only to its k nearest "
         "inputs (sparse connectivity)", lambda n, kernel_size: n * n),
    ],
    "conv2d_params": [
        ("you leave out the biases: one per filter when use_bias is True",
         _PARAMS(lambda c, f, k, b: _weights(c, f, k))),
        ("you count biases although use_bias is False",
         _PARAMS(lambda c, f, k, b: _weights(c, f, k) + f)),
        ("you leave out the input channels: each filter spans all of them, kh x kw x in_channels weights",
         _PARAMS(lambda c, f, k, b: _weights(1, f, k) + (f if b else 0))),
        # on an int kernel these agree with the right count: the calls with a (kh, kw) pair tell them apart
        ("you use one side of the kernel twice: a (kh, kw) kernel has kh x kw weights per input channel, not kh x kh",
         _PARAMS(lambda c, f, k, b: _weights(c, f, _pair(k)[0]) + (f if b else 0))),
        ("you use one side of the kernel twice: a (kh, kw) kernel has kh x kw weights per input channel, not kw x kw",
         _PARAMS(lambda c, f, k, b: _weights(c, f, _pair(k)[1]) + (f if b else 0))),
        ("you use only one side of the kernel: a (kh, kw) kernel has kh x kw weights per input channel",
         _PARAMS(lambda c, f, k, b: _pair(k)[0] * c * f + (f if b else 0))),
    ],
    "conv_output_size": [
        ("you ignore the stride: each step skips stride - 1 positions, so divide by the stride",
         _OUTPUT(lambda n, k, s, p, d: _valid(n, k, 1, p, d) if p == "valid" else n)),
        ("you ignore the dilation: a dilated kernel spans (k - 1) x dilation + 1 positions",
         _OUTPUT(lambda n, k, s, p, d: _valid(n, k, s, p, d, dilation=False))),
        ("you ignore the padding: 'same' keeps ceil(n / stride) positions",
         _OUTPUT(lambda n, k, s, p, d: _valid(n, k, s, "valid", d))),
        ("'same' rounds up: ceil(n / stride), not floor",
         _OUTPUT(lambda n, k, s, p, d: n // s if p == "same" else _valid(n, k, s, p, d))),
        ("you round up where Keras drops a last window that does not fit: floor((n - span) / stride) + 1",
         _OUTPUT(lambda n, k, s, p, d: _valid(n, k, s, p, d, ceil=True))),
        ("you leave out the first position: floor((n - span) / stride) + 1, with the + 1",
         _OUTPUT(lambda n, k, s, p, d: _valid(n, k, s, p, d, plus_one=False))),
    ],
    "receptive_field": [
        ("you ignore the strides: each stride multiplies the step (jump) between the units of the layers above, "
         "so later kernels add (k - 1) x jump", lambda chain: _field(chain, strides=False)),
        ("you ignore the dilation: a dilated kernel adds (k - 1) x dilation x jump",
         lambda chain: _field(chain, dilations=False)),
        ("you add the kernel sizes: each layer adds k - 1 to the field (one pixel is shared), not k",
         lambda chain: sum((*layer, 1)[0] for layer in chain)),
        ("you run the recurrence in the wrong direction: r = s x r + (k - s) goes from the output back to the input, "
         "so start at the last layer; from the first layer forwards, add (k - 1) x jump instead",
         lambda chain: _field(list(reversed(chain)))),
        ("you multiply the jump by a layer's stride before adding its kernel: a layer's own stride spaces the units "
         "of the layers after it, so add (k - 1) x jump first, then update the jump",
         lambda chain: _field_stride_first(chain)),
    ],
}


def likely_mistake(ctx: Context, name: str) -> str | None:
    """The known mistake that gives exactly what the student returned on every call of `name`, if one does."""
    probes = PROBES[name] + HIDDEN.get(name, [])
    try:
        found = [ctx.value(p) for p in probes]
    except Fail:
        return None
    for explanation, formula in MISTAKES.get(name, []):
        try:
            if all(formula(*p.args, **p.kwargs) == value for p, value in zip(probes, found, strict=True)):
                return explanation
        except Exception:  # a formula that does not apply to some arguments explains nothing
            continue
    return None


def _connectivity(ctx: Context) -> dict:
    """The lecture's picture of sparse connectivity, 5 inputs and outputs, with the student's own counts for it."""
    counts: dict[str, int | str] = {}
    for key, probe in (("dense", PROBES["dense_connections"][0]), ("conv", PROBES["conv1d_connections"][0])):
        outcome = ctx.outcome(probe)  # not ctx.value: the other function's call explains nothing of this check
        value = (outcome.measured or {}).get("value") if outcome.error is None else None
        counts[key] = value if isinstance(value, int) and not isinstance(value, bool) else \
            ("an error" if outcome.error else quote(value))
    return {"kind": "connectivity", "inputs": 5, "kernel": 3, "student": counts}


@judgement
def _values_match(ctx: Context, probes: list[Probe]) -> str:
    wrong = []
    for probe in probes:
        found, expected = ctx.value(probe), ctx.reference(probe, "value")
        if found != expected:
            wrong.append(f"{probe.call_text()}: expected {quote(expected)}, returned {quote(found)}")
    if wrong:
        if probes[0].function in ("dense_connections", "conv1d_connections") and not probes[0].hidden:
            ctx.attach(figure=_connectivity(ctx))
        more = f"\n  ... and {len(wrong) - 3} more" if len(wrong) > 3 else ""
        mistake = likely_mistake(ctx, probes[0].function)
        cause = f"\nLikely cause: {mistake}." if mistake else ""
        public = f"{probes[0].function} gave other values on other arguments. Likely cause: {mistake}." if mistake \
            else None  # the formula found on every call, and no argument or value of the hidden calls
        raise Fail(f"{len(wrong)} of {len(probes)} calls gave another value:\n  " + "\n  ".join(wrong[:3]) + more
                   + cause, public=public)
    shown = "; ".join(f"{p.call_text()} = {quote(ctx.value(p))}" for p in probes[:2])
    return f"{len(probes)} calls, all as expected ({shown}{'; ...' if len(probes) > 2 else ''})"


for _name in EXAMPLES:
    RUBRIC.check("values", f"{_name} on the lecture's examples", points=1,
                 judge=_values_match(PROBES[_name]))
with RUBRIC.hidden():
    for _name in EXAMPLES:
        RUBRIC.check("values", f"{_name} on other arguments", points=1,
                     judge=_values_match(HIDDEN[_name]))


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
    params_match(EXTRACTOR_WIDE, "build_feature_extractor(4)")(ctx)
    return params_match(EXTRACTOR, "build_feature_extractor(8)")(ctx)


@RUBRIC.check("structure", "three 3x3 convolutions with ReLU", points=1)
def extractor_structure(ctx: Context) -> str:
    return layers_match(EXTRACTOR, "build_feature_extractor()")(ctx)


@RUBRIC.check("receptive_field", "one unit of the last layer sees 7x7 pixels", points=1)
def extractor_field(ctx: Context) -> str:
    found, expected = ctx.student(EXTRACTOR, "field"), ctx.reference(EXTRACTOR, "field")
    if found is None or found["size"] != expected["size"]:
        ctx.attach(figure={"kind": "receptive_field", "what": "the extractor's last layer", "input": [28, 28],
                           "student": found, "reference": expected})
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
