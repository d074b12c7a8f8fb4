"""Convergence training: deterministic, cached by architecture, and the same on JAX without TensorFlow.

The margins it is judged by are tested on the recorded calibration runs in test_margins.py.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from conftest import ROOT, lazy_module, load_solution
from grader.analysis.graph import trace
from grader.analysis.structure import signature
from grader.convergence import PROFILES, _run_key, train
from grader.rubrics import gap

keras = lazy_module("keras")  # imported by the first test that uses it: collection imports no Keras


def _config_and_signature(model) -> tuple[dict, str]:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model))), signature(trace(model))


def test_the_same_network_under_other_names_shares_the_cached_run() -> None:
    model = load_solution("gap").build_lenet_gap(10, 1)
    config, sig = _config_and_signature(model)
    other = load_solution("gap").build_lenet_gap(10, 1)  # built again: every layer gets another name
    other_config, other_sig = _config_and_signature(other)
    assert json.dumps(config) != json.dumps(other_config)
    assert sig == other_sig
    profile = PROFILES["quick"]
    assert _run_key(config, sig, "mnist", profile, 0) == _run_key(other_config, other_sig, "mnist", profile, 0)
    assert _run_key(config, sig, "mnist", profile, 0) != _run_key(config, sig, "mnist", profile, 1)


def test_training_is_deterministic_and_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    build = load_solution("gap").build_lenet_gap
    config, sig = _config_and_signature(build(10, 1))
    first = train(json.loads(json.dumps(config)), sig, "mnist", PROFILES["quick"], seed=0)
    again = train(json.loads(json.dumps(config)), sig, "mnist", PROFILES["quick"], seed=0, use_cache=False)
    cached = train(json.loads(json.dumps(config)), sig, "mnist", PROFILES["quick"], seed=0)
    assert first["cached"] is False and cached["cached"] is True
    assert again["val_accuracy"] == first["val_accuracy"] and again["loss_curve"] == first["loss_curve"]


_JAX_TRAINING = """
import importlib.abc, json, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):  # as on the GPU machine, which has no TensorFlow
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ImportError("no TensorFlow here")

sys.meta_path.insert(0, NoTensorFlow())
import grader
from grader.convergence import PROFILES, device_name, train
case = json.load(open(sys.argv[1]))
profile = PROFILES["quick"].__class__(**case["profile"])
run = train(case["config"], case["signature"], "mnist", profile, seed=0, use_cache=False)
print(json.dumps({"run": run, "device": device_name(), "tensorflow": "tensorflow" in sys.modules}))
"""


def test_a_configuration_exported_here_trains_under_jax_without_tensorflow(tmp_path) -> None:
    """The GPU machine has JAX and no TensorFlow: the grader's training must not need TensorFlow there."""
    import os
    import subprocess
    import sys

    config, sig = _config_and_signature(load_solution("gap").build_lenet_gap(10, 1))
    case = tmp_path / "case.json"
    profile = dataclasses.replace(PROFILES["quick"], **gap.TRAIN.training)  # the gap check's own budget
    case.write_text(json.dumps({"config": config, "signature": sig, "profile": profile.__dict__}))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "GRADER_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", _JAX_TRAINING, str(case)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["device"] == "CPU (jax backend)"
    assert found["tensorflow"] is False  # nothing needed it
    run = found["run"]
    assert run["finite"] and run["steps"] == profile.epochs * -(-profile.train_limit // profile.batch_size)
    # Other random numbers, other kernels: not the TensorFlow run's figure, but within the check's margin of it.
    reference = train(json.loads(json.dumps(config)), sig, "mnist", profile, seed=0)
    assert run["val_accuracy"] >= reference["val_accuracy"] - gap.MARGINS.accuracy["quick"], (run, reference)


def test_batchnorm_statistics_are_recalibrated_after_training() -> None:
    from grader.convergence import _recalibrate_batchnorm

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
    x = np.random.default_rng(0).normal(5.0, 2.0, (500, 4)).astype("float32")
    _recalibrate_batchnorm(model, x)
    features = np.asarray(model.layers[0](x))
    norm = model.layers[-1]
    np.testing.assert_allclose(np.asarray(norm.moving_mean), features.mean(0), atol=1e-4)
    np.testing.assert_allclose(np.asarray(norm.moving_variance), features.var(0), rtol=1e-3)


def test_the_recalibration_pass_that_frees_feature_maps_gives_what_keras_own_pass_gives() -> None:
    """The harnesses of the Inception and ResNet assignments around the reference's blocks: every moving statistic,
    after `_forward_freeing`, equal to the last bit to what `model(x, training=True)` leaves."""
    from grader import harness
    from grader.convergence import _forward_freeing
    from grader.measure import rebuild

    for name, build, size in (("inception", harness.inception_network, 28), ("resnet", harness.resnet_network, 32)):
        config = keras.saving.serialize_keras_object(build(load_solution(name)))
        x = np.random.default_rng(1).uniform(0, 1, (200, size, size, 1)).astype("float32")
        kept, freed = rebuild(json.loads(json.dumps(config))), rebuild(json.loads(json.dumps(config)))
        norms = [[layer for layer in m._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
                 for m in (kept, freed)]
        assert len(norms[0]) >= 3
        for layer in norms[0] + norms[1]:
            layer.momentum = 0.0
        kept(x, training=True)
        _forward_freeing(freed, x)
        for a, b in zip(*norms, strict=True):
            assert np.array_equal(np.asarray(a.moving_mean), np.asarray(b.moving_mean)), (name, a.name)
            assert np.array_equal(np.asarray(a.moving_variance), np.asarray(b.moving_variance)), (name, a.name)
