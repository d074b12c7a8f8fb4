"""The analysis library against figures nobody here wrote: keras.applications, the papers, the contract."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import lazy_module, load_solution
from grader.analysis.graph import trace
from grader.analysis.receptive_field import chain_field, feature_field, gradient_field, receptive_fields
from grader.analysis.structure import signature
from grader.rubrics.differences import chain_diff

keras = lazy_module("keras")  # imported by the first test that uses it: collection imports no Keras
layers = lazy_module("keras.layers")


def test_gap_solution_reproduces_the_contracts_parameter_counts() -> None:
    gap = load_solution("gap")
    assert gap.build_lenet_gap(10, 1).count_params() == 6_582
    features = keras.Input((None, None, 16))
    assert keras.Model(features, gap.gap_head(features, 10)).count_params() == 4_010


def test_vgg16_last_pool_sees_212_pixels() -> None:
    graph = trace(keras.applications.VGG16(weights=None))
    fields = receptive_fields(graph)
    last_pool = graph.of_kind("max_pool")[-1]
    assert fields[last_pool.index].size == (212, 212)
    assert fields[last_pool.index].jump == (32, 32)


def test_resnet50_last_block_sees_483_pixels() -> None:
    graph = trace(keras.applications.ResNet50(weights=None))
    last_add = graph.of_kind("add")[-1]
    assert receptive_fields(graph)[last_add.index].size == (483, 483)


def test_chain_field_matches_the_contract_examples() -> None:
    assert chain_field([(3, 1)] * 3) == 7
    assert chain_field([(3, 2), (3, 2)]) == 7
    assert chain_field([(3, 1, 2)]) == 5


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["conv", "max", "avg"]), st.integers(1, 5), st.integers(1, 2),
                          st.integers(1, 2), st.sampled_from(["same", "valid"])), min_size=1, max_size=5))
def test_analytic_field_equals_the_gradient_field(chain: list[tuple[str, int, int, int, str]]) -> None:
    inputs = keras.Input((None, None, 1))
    x = inputs
    for kind, kernel, stride, dilation, padding in chain:
        if kind == "conv":
            x = layers.Conv2D(3, kernel, strides=stride if dilation == 1 else 1, dilation_rate=dilation,
                              padding=padding, activation="relu")(x)
        else:
            pool = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
            x = pool(max(kernel, 2), strides=stride, padding=padding)(x)
    x = layers.Activation("linear", name="target")(x)
    model = keras.Model(inputs, x)
    field = feature_field(trace(model))
    assert gradient_field(model, "target", 2 * field.size[0] + 16) == field.size


def _relu_three_ways():
    inputs = keras.Input((8, 8, 3))
    a = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    b = layers.ReLU()(layers.Conv2D(4, 3, padding="same")(inputs))
    c = layers.Activation("relu")(layers.Conv2D(4, 3, padding="same")(inputs))
    d = keras.ops.relu(layers.Conv2D(4, 3, padding="same")(inputs))
    return inputs, [a, b, c, d]


def test_activation_spellings_give_the_same_signature() -> None:
    inputs, outs = _relu_three_ways()
    signatures = {signature(trace(keras.Model(inputs, o))) for o in outs}
    assert len(signatures) == 1


def test_operand_order_of_add_does_not_matter_but_kernels_do() -> None:
    inputs = keras.Input((8, 8, 4))
    left = layers.Conv2D(4, 3, padding="same")(inputs)
    right = layers.Conv2D(4, 1, padding="same")(inputs)
    one = keras.Model(inputs, layers.Add()([left, right]))
    two = keras.Model(inputs, layers.add([right, left]))
    other = keras.Model(inputs, layers.Add()([left, layers.Conv2D(4, 5, padding="same")(inputs)]))
    assert signature(trace(one)) == signature(trace(two))
    assert signature(trace(one)) != signature(trace(other))


def test_sequential_inside_functional_is_expanded() -> None:
    inputs = keras.Input((None, None, 1))
    body = keras.Sequential([layers.Conv2D(2, 3, padding="same"), layers.MaxPooling2D(2)])
    graph = trace(keras.Model(inputs, layers.GlobalAveragePooling2D()(body(inputs))))
    assert [n.kind for n in graph.nodes] == ["input", "conv", "max_pool", "global_avg_pool"]


@pytest.mark.parametrize(("expected", "found", "line"), [
    (["A", "B", "C"], ["A", "C"], "after A: expected B, found nothing"),
    (["A", "B"], ["A", "X"], "expected B, found X"),
])
def test_chain_diff_lines(expected: list[str], found: list[str], line: str) -> None:
    assert line in chain_diff(expected, found)


@pytest.mark.parametrize(("padding", "stride", "start"), [("valid", 1, 1.0), ("same", 1, 0.0), ("valid", 2, 1.0)])
def test_offset_of_the_first_unit(padding: str, stride: int, start: float) -> None:
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, layers.Conv2D(1, 3, strides=stride, padding=padding)(inputs))
    field = receptive_fields(trace(model))[1]
    assert field.start == (start, start)
    assert field.jump == (stride, stride)


def test_zero_weights_start_every_weight_at_zero_and_keep_the_configuration() -> None:
    """The child builds the models whose values nothing reads this way (half of VGG-16's peak memory)."""
    from grader.measure import zero_weights

    with zero_weights():
        layer = keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="ones")
        layer.build((None, 2))
    assert float(abs(layer.kernel.numpy()).sum() + abs(layer.bias.numpy()).sum()) == 0.0
    assert layer.get_config()["kernel_initializer"]["class_name"] == "Ones"
    after = keras.layers.Dense(3, kernel_initializer="ones")
    after.build((None, 2))
    assert float(after.kernel.numpy().sum()) == 6.0  # the patch is gone once the block ends
