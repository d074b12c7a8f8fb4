"""The five rubrics on real submissions, from one table: the reference scores full marks, the stub zero, every
equivalent spelling full marks, and every typical bug loses points on the checks that name it.

What is particular to one assignment (published figures, the wording of one message) is in its own module,
tests/test_<assignment>_rubric.py. Each fixture is graded once per test run (conftest.graded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conftest import FIXTURES, ROOT, failed_categories, graded


@dataclass(frozen=True)
class Assignment:
    max_score: int
    equivalents: tuple[str, ...]
    # Each typical bug: the categories of check that must catch it, and words its messages must contain.
    bugs: dict[str, tuple[set[str], list[str]]]
    stub_words: tuple[str, ...] = field(default=("NotImplementedError",))


TABLE = {
    "convolution": Assignment(17, ("convolution_equivalent.py",), {
        "convolution_bugs.py": ({"values", "equivariance", "receptive_field", "shape"},
                                ["conv_output_size(28, 3, stride=1, padding='valid', dilation=2): expected 24, "
                                 "returned 26",
                                 "Likely cause: you ignore the dilation"]),
        "convolution_mistakes.py": ({"values"}, [  # each wrong formula named in the lecture's words
            "Likely cause: you count the biases too", "Likely cause: you count every kernel position",
            "Likely cause: you leave out the biases", "Likely cause: you ignore the strides"]),
        # caught by the hidden calls only: the cause is said, no argument or value of them
        "convolution_field_reversed.py": ({"values"}, [
            "hidden check: failed. receptive_field gave other values on other arguments. Likely cause: you run the "
            "recurrence in the wrong direction"]),
        "convolution_kernel_one_side.py": ({"values"}, ["conv2d_params(64, 128, (1, 3)): expected 24704, returned 8320",
                                                        "Likely cause: you use one side of the kernel twice"]),
        "convolution_valid_extractor.py": ({"shape", "structure", "equivariance"}, ["'valid'", "padding='same'"]),
    }),
    "gap": Assignment(23, ("gap_tf_keras.py", "gap_aliases.py", "gap_sequential.py", "gap_notebook.ipynb",
                           "helper_module/gap.py", "shadowing_module/gap.py", "gap_compiled.py"), {
        "gap_flatten_dense.py": ({"shape", "structure", "params"}, ["Flatten", "Dense"]),
        "gap_pool_then_dense.py": ({"structure", "params", "receptive_field"}, ["found Dense 10"]),
        "gap_wrong_kernel.py": ({"params", "structure", "receptive_field"}, ["Conv2D 3x3", "expected Conv2D 5x5"]),
        "gap_no_softmax.py": ({"values", "structure", "convergence"},
                              ["not probabilities", "expected softmax", "probabilities\" found why"]),
        "gap_fixed_window.py": ({"shape", "invariance", "structure"}, ["AveragePooling2D 7x7", "moving one object"]),
        "gap_ignores_kernel_size.py": ({"params"}, ["gap_head seems to ignore its kernel_size argument"]),
        "gap_ignores_num_classes.py": ({"shape", "params"}, ["build_lenet_gap seems to ignore its num_classes"]),
        "gap_global_max.py": ({"structure"}, ["expected GlobalAveragePooling2D, found GlobalMaxPooling2D"]),
        "gap_no_relu.py": ({"structure"}, ["expected ReLU, found nothing"]),
    }, ("NotImplementedError", "GlobalAveragePooling2D")),
    "classic": Assignment(31, ("classic_equivalent.py", "classic_vgg_same_pools.py", "classic_compiled.py"), {
        "classic_vgg_missing_conv.py": ({"params", "structure", "macs", "receptive_field"},
                                        ["VGG-16 has 13 convolutions and 3 dense layers; yours has 12 convolutions"]),
        "classic_alexnet_same.py": ({"structure", "shape", "macs"},
                                    ["AlexNet's feature maps after each pooling layer: expected 27x27x96"]),
        "classic_lenet_relu_maxpool.py": ({"structure"}, ["expected tanh, AveragePooling2D",
                                                          "found ReLU, MaxPooling2D"]),
        "classic_alexnet_224.py": ({"params", "shape", "macs"}, ["your AlexNet takes 224x224x3 inputs; the paper's "
                                                                 "takes 227x227x3", "(224 - 11) / 4 + 1 = 54.25"]),
        "classic_vgg_one_dense.py": ({"params", "structure", "macs"}, ["Dense"]),
        "classic_alexnet_small_pools.py": ({"structure", "receptive_field"}, ["expected MaxPooling2D 3x3, stride 2"]),
        "classic_alexnet_bn.py": ({"params", "structure", "macs"}, [
            "your AlexNet has 5 BatchNormalization layers; the paper's has none",
            "your AlexNet has 1 Dense layer fewer than the paper's 3"]),
    }),
    "inception": Assignment(31, ("inception_equivalent.py", "inception_notebook.ipynb", "inception_valid_1x1.py"), {
        "inception_no_reduction.py": ({"params", "structure", "macs"},
                                      ["the 3x3 branch has no 1x1 reduction", "the 5x5 branch has no 1x1 reduction"]),
        "inception_no_pool_projection.py": ({"params", "structure", "shape"},
                                            ["the pool branch has no 1x1 projection",
                                             "pool branch: no 1x1 projection after the pooling"]),
        "inception_valid_5x5.py": ({"shape", "api", "params"}, ["Concatenate", "padding='same'"]),
        "inception_pool_stride_2.py": ({"shape", "api", "params"}, ["Concatenate", "stride 1"]),
        "inception_factorised_5x5.py": ({"params", "structure", "macs"}, ["factorised into two 3x3"]),
        "inception_no_relu.py": ({"structure", "convergence"},
                                 ["have no ReLU after them", "expected ReLU, found nothing"]),
        "inception_wrong_axis.py": ({"shape", "api"}, ["concatenated on channels (axis=-1)"]),
        "inception_aux_stride_1.py": ({"params"}, ["pooling differs: expected AveragePooling2D 5x5, stride 3"]),
        "inception_aux_flag_ignored.py": ({"api"}, ["the flag must be honoured"]),
        "inception_aux_dropout.py": ({"structure"}, ["expected Dropout 0.7", "found Dropout 0.3"]),
        "inception_aux_wrong_blocks.py": ({"structure"}, ["should branch off after inception 4a and 4d",
                                                          "yours branch off after 4b and 4d"]),
        "inception_aux_order.py": ({"api"}, ["outputs come in the order [aux after 4a, aux after 4d, main]; the "
                                             "contract's order is [main, aux after 4a, aux after 4d]"]),
        "inception_naive_pool_stride.py": ({"shape", "params", "macs"}, [
            "one branch is 10x10 where the others are 28x28", "MaxPooling2D's strides default to its pool size"]),
        "inception_projection_before_pool.py": ({"structure"}, [
            "pool branch: MaxPooling2D 3x3 comes after ReLU; it belongs before Conv2D 1x1"]),
        "inception_reduce_swapped.py": ({"params", "structure", "shape"}, ["expected Conv2D 1x1, 96 filters"]),
        "inception_pool_proj_swapped.py": ({"structure"}, [
            "the 1x1 branch has the pool branch's number of filters and the pool branch the 1x1 branch's: the two are "
            "swapped"]),
    }),
    "resnet": Assignment(36, ("resnet_equivalent.py", "resnet_stride_on_1x1.py", "resnet_valid_1x1.py",
                              "resnet_compiled.py"), {
        "resnet_plain_with_shortcuts.py": ({"structure"}, ["build_plain(34)", "Add"]),
        "resnet_plain_projection.py": ({"structure"}, ["found a shortcut connection (projection shortcut added by "
                                                       "Add)", "no projection shortcuts either"]),
        "resnet_no_identity_shortcut.py": ({"structure", "gradient_flow", "convergence"}, ["no shortcut connection"]),
        "resnet_relu_before_add.py": ({"structure"}, ["ReLU comes before the addition"]),
        "resnet_no_projection.py": ({"shape", "params", "structure"}, ["needs a projection"]),
        "resnet_projection_without_bn.py": ({"params", "structure"},
                                            ["projection shortcuts have no BatchNormalization"]),
        "resnet_basic_no_second_bn.py": ({"params", "structure"}, ["expected BatchNormalization, found nothing"]),
        "resnet_conv_biases.py": ({"params"}, ["biases of the convolutions that feed a BatchNormalization"]),
        "resnet_stride_second_conv.py": ({"structure", "receptive_field", "macs"},
                                         ["the stride 2 is on the second convolution; it belongs on the first"]),
        "resnet_no_stem_pool.py": ({"receptive_field", "macs"}, ["stem's max pool"]),
        "resnet_expansion_2.py": ({"params", "shape", "structure"}, ["expansion is 2, expected 4"]),
        "resnet_wrong_stages.py": ({"params"},
                                   ["residual blocks per stage: expected [3, 4, 6, 3], found [3, 4, 5, 3]"]),
        "resnet_keras_applications.py": ({"params", "receptive_field", "macs"},
                                         ["26,560 of the difference is exactly the biases"]),
    }),
}


# Fixtures with more than one mistake: how many items "What to fix" lists for them (every other bug is one mistake).
# resnet_keras_applications is real code that differs from the contract in several ways; it is not counted.
MISTAKES = {"convolution_bugs.py": 3, "convolution_mistakes.py": 4, "classic_alexnet_bn.py": 2,
            "resnet_keras_applications.py": None}


def _text(result) -> str:
    return "\n".join(c.output for c in result.checks)


def _failures(result) -> list[str]:
    return [f"{c.category}: {c.output}" for c in result.checks if not c.passed]


@pytest.mark.parametrize("assignment", TABLE)
def test_the_reference_scores_full_marks(assignment: str) -> None:
    result = graded(ROOT / "solutions" / f"{assignment}.py", assignment)
    assert result.max_score == TABLE[assignment].max_score
    assert result.score == result.max_score, _failures(result)


@pytest.mark.parametrize("assignment", TABLE)
def test_the_stub_scores_zero_and_says_what_to_build(assignment: str) -> None:
    result = graded(ROOT / "assignments" / f"{assignment}.py", assignment)
    assert result.score == 0 and result.max_score == TABLE[assignment].max_score
    for word in TABLE[assignment].stub_words:
        assert word in _text(result)


@pytest.mark.parametrize(("assignment", "fixture"), [(a, f) for a, case in TABLE.items() for f in case.equivalents])
def test_an_equivalent_spelling_keeps_full_marks(assignment: str, fixture: str) -> None:
    result = graded(FIXTURES / assignment / fixture, assignment)
    assert result.score == result.max_score, _failures(result)


@pytest.mark.parametrize(("assignment", "fixture"), [(a, f) for a, case in TABLE.items() for f in sorted(case.bugs)])
def test_a_typical_bug_loses_points_on_the_check_that_names_it(assignment: str, fixture: str) -> None:
    categories, words = TABLE[assignment].bugs[fixture]
    result = graded(FIXTURES / assignment / fixture, assignment)
    assert result.score < result.max_score
    assert categories <= failed_categories(result), failed_categories(result)
    text = _text(result)
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(("assignment", "fixture"), [(a, f) for a, case in TABLE.items() for f in sorted(case.bugs)
                                                     if MISTAKES.get(f, 1) is not None])
def test_what_to_fix_says_each_mistake_once(assignment: str, fixture: str) -> None:
    from grader.reports import summary

    result = graded(FIXTURES / assignment / fixture, assignment)
    expected = MISTAKES.get(fixture, 1)
    assert len(result.causes) == expected, [summary.cause_text(c) for c in result.causes]
    for cause in result.causes:  # whole sentences, and the points it explains
        text = summary.cause_text(cause)
        assert text.endswith((".", ")", "…")) and ".." not in text and not text.endswith(":.")
        assert cause.points > 0 and (cause.checks or cause.hidden)
