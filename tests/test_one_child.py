"""One child per submission for the visible calls and one for the hidden ones: TensorFlow imported once for all its
assignments, and a failure in one assignment costs that assignment only; structure-only rebuilds skip drawing random
weights."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import FIXTURES, ROOT
from grader import runner
from grader.grading import grade_submission
from grader.measure import measure, rebuild, with_zero_initialisers
from grader.reference import reference_measurements
from grader.rubrics import RUBRICS
from grader.sandbox import supervise
from grader.sandbox.limits import Limits


@pytest.fixture
def children(monkeypatch) -> list[list[str]]:
    """The assignments each child was asked to run, in order (the reference artifacts computed first)."""
    for name in ("convolution", "gap"):
        reference_measurements(RUBRICS[name])
    asked: list[list[str]] = []
    real = supervise.run_child

    def counting(job, *args, **kwargs):
        asked.append([a.module for a in job.assignments])
        return real(job, *args, **kwargs)

    monkeypatch.setattr(runner.supervise, "run_child", counting)
    return asked


def test_a_submission_runs_in_one_child_and_each_assignment_has_its_time_and_memory(tmp_path, children) -> None:
    for name in ("convolution", "gap"):
        shutil.copy(ROOT / "solutions" / f"{name}.py", tmp_path / f"{name}.py")
    result = grade_submission(tmp_path, ["convolution", "gap"])
    assert children == [["convolution", "gap"], ["convolution", "gap"]]  # the visible calls, then the hidden
    assert [a.name for a in result.assignments] == ["convolution", "gap"]
    assert all(a.score == a.max_score for a in result.assignments)
    for assignment in result.assignments:
        assert 0 < assignment.execution_time < result.execution_time
        assert assignment.peak_memory_mb is not None and 200 < assignment.peak_memory_mb < 3072
    assert result.extra["grader_peak_mb"] > 100


def test_a_hang_costs_its_assignment_and_the_next_one_runs_in_a_new_child(tmp_path, children) -> None:
    shutil.copy(FIXTURES / "hostile" / "gap_loop_in_function.py", tmp_path / "gap.py")
    shutil.copy(ROOT / "solutions" / "convolution.py", tmp_path / "convolution.py")
    result = grade_submission(tmp_path, ["gap", "convolution"], Limits(timeout=20))
    assert children == [["gap", "convolution"], ["convolution"], ["convolution"]]  # no hidden calls for a hang
    gap, convolution = result.assignments
    assert 0 < gap.score < gap.max_score  # the head was measured before the builder hung
    assert any("time limit of 20 s" in c.output for c in gap.checks)
    assert convolution.score == convolution.max_score


def test_global_settings_changed_by_one_assignment_do_not_reach_the_next(tmp_path) -> None:
    (tmp_path / "convolution.py").write_text(
        (ROOT / "solutions" / "convolution.py").read_text()
        + "\nimport keras\nkeras.config.set_floatx('float16')\nkeras.config.set_image_data_format('channels_first')\n")
    shutil.copy(ROOT / "solutions" / "gap.py", tmp_path / "gap.py")
    gap = grade_submission(tmp_path, ["convolution", "gap"]).assignments[1]
    assert gap.score == gap.max_score, [c.output for c in gap.checks if not c.passed]


def test_zero_initialisers_change_no_structural_measurement() -> None:
    from conftest import load_solution

    model = load_solution("resnet").build_resnet(18, input_shape=(64, 64, 3), num_classes=10)
    import keras

    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))
    zeroed = with_zero_initialisers(json.loads(json.dumps(config)))
    text = json.dumps(zeroed)
    assert "GlorotUniform" in json.dumps(config) and "GlorotUniform" not in text and '"Zeros"' in text
    wanted = ("params", "structure", "macs", "outputs", "field", "shapes")
    sizes = ((64, 64), (96, 80))
    real, cheap = measure(rebuild(config), sizes, wanted), measure(rebuild(zeroed), sizes, wanted)
    assert cheap == real
    unallocated = rebuild(json.loads(text), allocate=False)
    assert all(w._value is None for w in unallocated.weights)  # no storage: shapes and configuration only
    assert measure(unallocated, sizes, wanted) == real


def _probe(source: str, measures: tuple[str, ...]) -> tuple[dict, dict]:
    """What the child sends for one call of `build` defined in `source` (run here, as the child runs it), and what
    the code saw."""
    import types

    from grader import child
    from grader.contract import ProbeCall

    module = types.ModuleType("student_probe")
    exec(compile(source, "student.py", "exec"), module.__dict__)
    call = ProbeCall("p", "build", [], {}, None, None, list(measures), [], False)
    return child._run_probe(module, call, {"student.py"}), module.seen


BUILDER = """
import keras, numpy as np
def build():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, kernel_initializer="ones")
    outputs = conv(inputs)
    seen["kernel_sum"] = float(conv.kernel.numpy().sum())  # reading a weight works, stored or not
    if needs_storage:
        keras.Variable(np.zeros(3))  # refused where weights get no storage
    return keras.Model(inputs, outputs)
seen = {}
"""


@pytest.mark.parametrize("needs_storage", [False, True])
def test_a_structure_probe_builds_without_storage_and_code_that_needs_it_is_run_again_with_it(needs_storage) -> None:
    result, seen = _probe(BUILDER + f"needs_storage = {needs_storage}\n", ("params", "structure"))
    assert result["error"] is None and result["returned"] == "Functional"
    # The configuration keeps the student's initialiser; the values read were the zeros of an unread weight.
    assert result["model"]["config"]["layers"][1]["config"]["kernel_initializer"]["class_name"] == "Ones"
    assert seen["kernel_sum"] == 0.0
    assert rebuild(result["model"]).count_params() == 3 * 3 * 3 * 4 + 4


def test_a_value_probe_keeps_the_students_initialisers() -> None:
    result, seen = _probe(BUILDER + "needs_storage = False\n", ("probabilities",))
    assert result["error"] is None
    assert seen["kernel_sum"] == 3 * 3 * 3 * 4  # the student's "ones", allocated


def test_the_rebuild_limit_counts_every_layer_however_nested_and_every_parameter() -> None:
    import keras

    from grader.measure import RebuildLimit, TooLarge

    inner = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(50)])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.ReLU()(inner(inputs)))
    text = json.dumps(keras.saving.serialize_keras_object(model), default=str)
    assert rebuild(json.loads(text), limit=RebuildLimit(params=10**6, layers=60)).count_params() == 50 * 20
    with pytest.raises(TooLarge, match="more than 45 layers"):  # the outer model holds four layers, all told
        rebuild(json.loads(text), limit=RebuildLimit(params=10**6, layers=45))
    with pytest.raises(TooLarge, match="more than 980 parameters"):
        rebuild(json.loads(text), limit=RebuildLimit(params=979, layers=60))
    assert "counted" not in keras.layers.Layer.add_weight.__qualname__  # Keras is left as it was
    assert not hasattr(keras.layers.Layer.__init__, "__wrapped__")


def test_a_sequential_model_is_rebuilt_once_and_the_same_as_keras_rebuilds_it() -> None:
    import keras
    import numpy as np

    from grader.measure import fresh_session

    models = [keras.Sequential([keras.layers.Conv2D(3, 3), keras.layers.Dropout(0.5), keras.layers.Flatten(),
                                keras.layers.Dense(2)]),  # no input: built from its build_input_shape
              keras.Sequential([keras.Input((8, 8, 3)), keras.Sequential([keras.layers.Conv2D(3, 3),
                                                                           keras.layers.ReLU()]),
                                keras.layers.Flatten(), keras.layers.Dense(2)])]
    models[0].build((None, 8, 8, 3))
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    for model in models:
        text = json.dumps(keras.saving.serialize_keras_object(model), default=str)
        ours = rebuild(json.loads(text), seed=3)
        fresh_session(3)
        theirs = keras.saving.deserialize_keras_object(json.loads(text), safe_mode=True)
        assert ours.built and [w.path for w in ours.weights] == [w.path for w in theirs.weights]
        assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(ours.weights, theirs.weights, strict=True))
        assert np.array_equal(ours(x).numpy(), theirs(x).numpy())
    assert "built_once" not in str(keras.Sequential.from_config)  # Keras is left as it was
