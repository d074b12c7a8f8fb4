"""Rubric of the `inception` assignment: GoogLeNet's blocks, auxiliary classifiers, the network (section 4)."""

# Contract audit (2026-12-02; shared/spec/assignments.md section 4), check by check:
# - api: blocks return tensors; with aux_classifiers=True three outputs [main, aux after 4a, aux after 4d], else one.
# - shape, params: 28x28x256 and 163,696 for 3a; 387,296 for the naive block; the exact count of the listed network
#   (not the paper's rounded column); hidden: other filter numbers, input sizes and classes (the signature's).
# - structure: four branches concatenated on channels, in any order; every conv ReLU; the auxiliary classifier's
#   and Table 1's layers and dropout rates; macs: "2.4x"; receptive_field, values, convergence: "Graded:" line.
# Not required, so never checked: branch order, initialisers, layer names, compile state.

from __future__ import annotations

import re

from grader.analysis.graph import Graph
from grader.analysis.macs import format_count
from grader.analysis.structure import Parallel, decompose
from grader.margins import Margins
from grader.registry import Context, Fail, Rubric
from grader.rubrics.common import (
    layers_match,
    outputs_are_probabilities,
    outputs_shaped,
    params_match,
    trains_like_reference,
)

_SHAPE = re.compile(r"\(None, (\d+), (\d+), (\d+)\)")


def _pool_stride(error: str) -> str | None:
    """Keras's error when one branch of a block is smaller than the others: the strided pool, said so."""
    shapes = [tuple(int(d) for d in m) for m in _SHAPE.findall(error.split("Received:", 1)[-1])]
    sizes = {(h, w) for h, w, _ in shapes}
    if len(shapes) < 2 or len(sizes) != 2:
        return None
    odd = [s for s in shapes if sum((t[0], t[1]) == (s[0], s[1]) for t in shapes) == 1]
    if len(odd) != 1:
        return None
    (h, w, _), (full_h, full_w) = odd[0], next(size for size in sizes if size != odd[0][:2])
    stride = -(-full_h // h) if h else 0
    if stride < 2:
        return None
    said = f"one branch is {h}x{w} where the others are {full_h}x{full_w}: it has a stride of {stride}. "
    if stride == 3:  # the 3x3 pool's default: strides=None means strides=pool_size
        return said + ("MaxPooling2D's strides default to its pool size, so MaxPooling2D(3) moves 3 pixels at a "
                       "time and shrinks the map; the pool branch of an inception block keeps the size: "
                       "MaxPooling2D(3, strides=1, padding='same').")
    return said + "Every branch of an inception block keeps the input's size: stride 1 and padding='same'."


RUBRIC = Rubric(
    "inception",
    functions=("naive_inception_block", "inception_block", "auxiliary_classifier", "build_googlenet"),
    hints=(
        ("requires inputs with matching shapes except for the concatenation axis", lambda e: _pool_stride(e)),
        ("requires inputs with matching shapes except for the concatenation axis",
         "the branches do not have the same height and width, or are joined on the wrong axis: every branch must "
         "keep the input's size (padding='same', stride 1, including the 3x3 max pool) and the branches are "
         "concatenated on channels (axis=-1)."),
    ),
)

B3A = RUBRIC.probe("inception_block", 64, 96, 128, 16, 32, 32, block_input=(28, 28, 192),
                   measures=("params", "structure", "outputs", "macs", "field"))
B4E = RUBRIC.probe("inception_block", 256, 160, 320, 32, 128, 128, block_input=(14, 14, 528),
                   measures=("params", "outputs"))
with RUBRIC.hidden():
    B_SMALL = RUBRIC.probe("inception_block", f1=5, f3_reduce=3, f3=6, f5_reduce=2, f5=4, pool_proj=3,
                           block_input=(9, 7, 12), measures=("params", "outputs", "structure"))
NAIVE = RUBRIC.probe("naive_inception_block", 64, 128, 32, block_input=(28, 28, 192),
                     measures=("params", "structure", "outputs", "macs"))
AUX = RUBRIC.probe("auxiliary_classifier", num_classes=1000, block_input=(14, 14, 512),
                   measures=("params", "structure", "outputs"))
NET = RUBRIC.probe("build_googlenet", measures=("params", "structure", "outputs", "field"))
NET_NO_AUX = RUBRIC.probe("build_googlenet", aux_classifiers=False, measures=("params", "outputs", "structure"))
# Mistakes `grade validate` makes in a copy of the solution: each must lose points.
# Mutants and equivalents quote the solution, so they are left out of a student release.
with RUBRIC.hidden():
    RUBRIC.mutant("no ReLU", 'strides=strides, padding="same", activation="relu")(x)',
                  'strides=strides, padding="same")(x)')
    RUBRIC.mutant("no pool projection",
                  'branch_pool = _conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), pool_proj, 1)',
                  'branch_pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)')
    RUBRIC.equivalent("1x1 convolutions with padding='valid'", 'strides=strides, padding="same", activation="relu")(x)',
                      'strides=strides, padding="valid" if kernel_size == 1 else "same", activation="relu")(x)')
    RUBRIC.mutant("auxiliary dropout 0.3", "layers.Dropout(0.7)(x)", "layers.Dropout(0.3)(x)")
    RUBRIC.mutant("main dropout 0.5", "layers.Dropout(0.4)(x)", "layers.Dropout(0.5)(x)")
    RUBRIC.mutant("first auxiliary classifier after 4b", 'name in ("4a", "4d")', 'name in ("4b", "4d")')
# Two of the student's blocks on a linear stem learn MNIST digits (grader/harness.py).
# Validation accuracy, per profile. Measured (`make calibrate`, benchmarks/results/convergence-quick-2cpu.json):
# quick reference 0.876-0.915 and an equivalent spelling 0.865-0.895 under ten seeds, blocks without ReLU
# 0.616-0.625; full (benchmarks/convergence.py on an H200) reference and equivalent 0.950-0.962 under three seeds,
# without ReLU 0.835-0.850.
TRAIN = RUBRIC.harness("inception_network", "inception_block", dataset="mnist",
                       margins=Margins(accuracy={"quick": 0.12, "full": 0.06}))
NET_SMALL = RUBRIC.probe("build_googlenet", input_shape=(96, 96, 3), num_classes=10, sizes=((96, 96),),
                         measures=("params", "outputs", "probabilities"))


@RUBRIC.check("api", "inception_block returns a Keras tensor", points=1)
def block_returns_tensor(ctx: Context) -> str:
    ctx.student(B3A, "outputs")
    return "inception_block returned a Keras tensor"

@RUBRIC.check("api", "build_googlenet(aux_classifiers=True) has outputs [main, aux1, aux2]", points=1)
def aux_outputs(ctx: Context) -> str:
    shapes = outputs_shaped(NET, [[None, 1000]] * 3, "with aux_classifiers=True the model's outputs are "
                            "[main, aux after 4a, aux after 4d]")(ctx)
    found, expected = _output_roles(ctx.student_graph(NET)), _output_roles(ctx.reference_graph(NET))
    aux = [r for r in found if r != "main"]  # which blocks they follow is another check's: here only the order
    if [r == "main" for r in found] != [r == "main" for r in expected] or aux != sorted(aux, key=_depth):
        raise Fail(f"build_googlenet()'s outputs come in the order [{', '.join(found)}]; the contract's order is "
                   f"[{', '.join(expected)}]. Keras matches losses, loss weights and labels to the outputs by their "
                   "order, so list the main classifier first: keras.Model(inputs, [main, aux1, aux2]).")
    return shapes + ", in the order [" + ", ".join(found) + "]"

@RUBRIC.check("api", "build_googlenet(aux_classifiers=False): one output, the main network unchanged", points=1)
def without_aux(ctx: Context) -> str:
    outputs_shaped(NET_NO_AUX, [[None, 1000]], "with aux_classifiers=False the model has only the main output: "
                   "the flag must be honoured")(ctx)
    return layers_match(NET_NO_AUX, "build_googlenet(aux_classifiers=False)")(ctx)

RUBRIC.check("shape", "inception_block (3a) on 28x28x192 gives 28x28x256", points=1,
             judge=outputs_shaped(B3A, [[None, 28, 28, 256]],
                                  "f1 + f3 + f5 + pool_proj channels, same height and width"))

RUBRIC.check("shape", "inception_block (4e) on 14x14x528 gives 14x14x832", points=1,
             judge=outputs_shaped(B4E, [[None, 14, 14, 832]],
                                  "f1 + f3 + f5 + pool_proj channels, same height and width"))


with RUBRIC.hidden():
    RUBRIC.check("shape", "inception_block with other arguments", points=1,
                 judge=outputs_shaped(B_SMALL, [[None, 9, 7, 18]], ""))

RUBRIC.check("shape", "naive_inception_block on 28x28x192 gives 28x28x416", points=1,
             judge=outputs_shaped(NAIVE, [[None, 28, 28, 416]], "f1 + f3 + f5 + C_in channels: the pool keeps all "
                   "" "192 input channels"))

RUBRIC.check("params", "inception_block (3a): 163,696", points=1,
             judge=params_match(B3A, "inception_block (3a)"))

RUBRIC.check("params", "naive_inception_block (3a sizes): 387,296", points=1,
             judge=params_match(NAIVE, "naive_inception_block"))

RUBRIC.check("params", "auxiliary_classifier on 14x14x512", points=1,
             judge=params_match(AUX, "auxiliary_classifier"))

RUBRIC.check("params", "build_googlenet() with auxiliary classifiers", points=1,
             judge=params_match(NET, "build_googlenet()"))

RUBRIC.check("params", "build_googlenet(aux_classifiers=False)", points=1,
             judge=params_match(NET_NO_AUX, "build_googlenet(aux_classifiers=False)"))


with RUBRIC.hidden():
    RUBRIC.check("params", "inception_block with other arguments", points=1,
                 judge=params_match(B_SMALL, "inception_block"))


with RUBRIC.hidden():
    RUBRIC.check("params", "build_googlenet on 96x96 with 10 classes", points=1,
                 judge=params_match(NET_SMALL, "build_googlenet"))


@RUBRIC.check("structure", "four parallel branches from one input, concatenated on channels", points=1)
def four_branches(ctx: Context) -> str:
    items = decompose(ctx.student_graph(B3A))
    blocks = [i for i in items if isinstance(i, Parallel)]
    if len(blocks) != 1 or blocks[0].merge.kind != "concat" or len(blocks[0].branches) != 4:
        found = (f"{len(blocks[0].branches)} branches merged by {blocks[0].merge.label}" if len(blocks) == 1
                 else f"{len(blocks)} merges")
        raise Fail(f"inception_block should split its input into four branches and concatenate them once on "
                   f"channels; found {found}")
    if blocks[0].merge.label != "Concatenate":
        raise Fail(f"the branches are joined by {blocks[0].merge.label}: concatenate them on channels (axis=-1)")
    return "four branches, concatenated on channels"

RUBRIC.check("structure", "inception_block's branches are the paper's (any order)", points=2,
             judge=layers_match(B3A, "inception_block (3a)"))

RUBRIC.check("structure", "naive_inception_block's branches (any order)", points=1,
             judge=layers_match(NAIVE, "naive_inception_block"))


RUBRIC.check("structure", "auxiliary_classifier has the layers of the paper", points=1,
             judge=layers_match(AUX, "auxiliary_classifier"))

RUBRIC.check("structure", "build_googlenet has the layers of Table 1 (dropout rates, pools, heads)", points=1,
             judge=layers_match(NET, "build_googlenet()"))

_BLOCK_NAMES = ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")


def _output_roles(graph: Graph) -> list[str]:
    """What each output of the model is, in the model's order: "main", or "aux after <block>" for a head that
    branches off after that inception block (the nearest concatenation above it)."""
    blocks = {node.index: _BLOCK_NAMES[i] if i < len(_BLOCK_NAMES) else f"block {i + 1}"
              for i, node in enumerate(graph.of_kind("concat"))}
    main, roles = graph.main_output(), []
    for output in graph.outputs:
        if output == main:
            roles.append("main")
            continue
        queue, seen, block = [output], {output}, "no inception block"
        while queue:  # breadth first: the nearest block above the head
            index = queue.pop(0)
            if index in blocks:
                block = blocks[index]
                break
            for producer in graph.nodes[index].inputs:
                if producer not in seen:
                    seen.add(producer)
                    queue.append(producer)
        roles.append(f"aux after {block}")
    return roles


def _depth(role: str) -> int:
    block = role.removeprefix("aux after ")
    return _BLOCK_NAMES.index(block) if block in _BLOCK_NAMES else len(_BLOCK_NAMES)


def _aux_positions(graph: Graph) -> list[str]:
    """After which inception blocks the auxiliary heads branch off, from the earliest (any order of outputs)."""
    return sorted((r.removeprefix("aux after ") for r in _output_roles(graph) if r != "main"), key=_depth)


@RUBRIC.check("structure", "the auxiliary classifiers branch off after inception 4a and 4d", points=1)
def aux_positions(ctx: Context) -> str:
    found, expected = _aux_positions(ctx.student_graph(NET)), _aux_positions(ctx.reference_graph(NET))
    if found != expected:
        raise Fail(f"build_googlenet's auxiliary classifiers should branch off after inception "
                   f"{' and '.join(expected)}; yours branch off after {' and '.join(found) or 'no block'}")
    return f"auxiliary classifiers after inception {' and '.join(found)}"


@RUBRIC.check("structure", "every convolution is followed by ReLU", points=1)
def relu_after_conv(ctx: Context) -> str:
    graph = ctx.student_graph(B3A)
    bare = [n for n in graph.of_kind("conv") if not any(c.kind == "relu" for c in graph.consumers(n.index))]
    if bare:
        raise Fail(f"{len(bare)} of the {len(graph.of_kind('conv'))} convolutions of inception_block have no ReLU "
                   f"after them (for example {bare[0].label}); add activation='relu' to every Conv2D")
    return "every convolution has its ReLU"


@RUBRIC.check("macs", "dimension reduction makes block 3a about 2.4 times cheaper than the naive block", points=2)
def reduction_saves(ctx: Context) -> str:
    reduced, naive = ctx.student(B3A, "macs"), ctx.student(NAIVE, "macs")
    expected_reduced, expected_naive = ctx.reference(B3A, "macs"), ctx.reference(NAIVE, "macs")
    for found in (reduced, naive):
        if "error" in found:
            raise Fail(found["error"])
    if reduced["total"] != expected_reduced["total"] or naive["total"] != expected_naive["total"]:
        ctx.attach(figure={"kind": "macs", "student": {"naive": naive["total"], "reduced": reduced["total"]},
                           "reference": {"naive": expected_naive["total"], "reduced": expected_reduced["total"]}})
        raise Fail(
            f"multiply-accumulates: the reduced block 3a should cost {format_count(expected_reduced['total'])} and "
            f"the naive one {format_count(expected_naive['total'])} "
            f"({expected_naive['total'] / expected_reduced['total']:.2f} times more); yours cost "
            f"{format_count(reduced['total'])} and {format_count(naive['total'])}"
        )
    return (f"block 3a costs {format_count(reduced['total'])} multiply-accumulates, the naive block "
            f"{format_count(naive['total'])}: {naive['total'] / reduced['total']:.2f} times more. The 1x1 "
            "reductions shrink the channels the 3x3 and 5x5 convolutions see: that is why the naive block is "
            "computationally heavy.")


@RUBRIC.check("receptive_field", "inception_block's units see 5x5 pixels", points=1)
def block_field(ctx: Context) -> str:
    found, expected = ctx.student(B3A, "field"), ctx.reference(B3A, "field")
    if found != expected:
        raise Fail(f"each output unit of the block should see {expected['text']} (the 5x5 branch is the widest); "
                   f"yours sees {found['text'] if found else 'nothing spatial'}")
    return f"each output unit sees {found['text']}"


@RUBRIC.check("receptive_field", "GoogLeNet's last block sees the reference's field", points=1)
def net_field(ctx: Context) -> str:
    found, expected = ctx.student(NET, "field"), ctx.reference(NET, "field")
    if found != expected:
        raise Fail(f"the units of GoogLeNet's last feature maps should see {expected['text']}; yours see "
                   f"{found['text'] if found else 'nothing spatial'}. Check the stem (7x7 stride 2, 3x3 max pools "
                   "of stride 2) and where the max pools between the inception stages are.")
    return f"the last feature maps see {found['text']}"

RUBRIC.check("values", "every output of build_googlenet is a probability vector", points=2,
             judge=outputs_are_probabilities(NET_SMALL, "build_googlenet(input_shape=(96, 96, 3), num_classes=10)"))


RUBRIC.check("convergence", "a network of two of your inception blocks learns MNIST digits like the reference",
             points=3, judge=trains_like_reference(TRAIN, "a network of two of your inception blocks"))
