"""Training a rebuilt model for a fixed budget, deterministically, and caching the run by architecture.

The run depends only on the canonical architecture, its initialisers, the data, the profile and the seed, so
its result is cached under their hash: a student whose network computes the same thing as the reference's (or
as another student's) reuses that run instead of training again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader import locations
from grader.settings import BACKENDS


@dataclass(frozen=True)
class Profile:
    """A training budget."""

    name: str
    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    train_limit: int | None = None  # use only the first N training examples


PROFILES = {
    "quick": Profile("quick", epochs=3, batch_size=64, learning_rate=3e-3, train_limit=2000),
    "full": Profile("full", epochs=12, batch_size=64, learning_rate=1e-3),
}


def default_profile() -> str:
    """`full` when the training backend sees a GPU, else `quick` (importing nothing when there is no GPU)."""
    if not _gpu_devices():
        return "quick"
    if training_backend() == "jax":
        import jax

        return "full" if any(d.platform == "gpu" for d in jax.devices()) else "quick"
    from grader.quiet import native_stderr

    with native_stderr():
        import tensorflow as tf

        return "full" if tf.config.list_physical_devices("GPU") else "quick"


_last_device: str | None = None  # where the last run trained in another process said it trained


def training_backend() -> str:
    """The Keras backend that trains the networks (`grade --backend`, GRADER_TRAIN_BACKEND): TensorFlow in the
    grader's own process (the default), or JAX in a process of its own (e.g. a GPU machine where TensorFlow has no
    GPU build)."""
    from grader import settings

    backend = settings.current().backend
    if backend not in BACKENDS:
        from grader.errors import UsageError

        raise UsageError(f"unknown training backend {backend!r}; use one of {', '.join(BACKENDS)}")
    return backend


def _gpu_devices() -> bool:
    return any(Path("/dev").glob("nvidia[0-9]*"))


def training_device() -> str:
    """Where the networks are trained, for the report (a grader that measures apart, where memory is short, has no
    Keras of its own to ask: without a GPU it is the CPU)."""
    if training_backend() == "tensorflow":
        if "keras" not in sys.modules and not _gpu_devices():
            return "CPU (tensorflow backend)"
        return device_name()
    return _last_device or f"{training_backend()} backend (every run cached)"


def device_name() -> str:
    """Where training runs, e.g. "CPU (tensorflow backend)" or "GPU: NVIDIA H200 (jax backend)"."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        names = [getattr(d, "device_kind", "") for d in gpus]
    elif backend == "torch":
        import torch

        names = [torch.cuda.get_device_name(0)] if torch.cuda.is_available() else []
    else:
        from grader.quiet import native_stderr

        with native_stderr():
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            names = [tf.config.experimental.get_device_details(g).get("device_name", "") for g in gpus]
    if not names:
        return f"CPU ({backend} backend)"
    return f"GPU: {names[0] or 'unnamed'} ({backend} backend)"


# Bump when training changes in a way that makes cached runs stale.
_TRAINING_VERSION = 2

_WIRING = ("name", "inbound_nodes", "input_layers", "output_layers", "layers")


def _run_key(config: dict[str, Any], signature: str, dataset: str, profile: Profile, seed: int) -> str:
    """The hash of what decides a run: topology (the signature), each layer's settings in creation order, data,
    budget and seed. Names and wiring are left out: the signature holds the topology without them."""
    layers: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("config"), dict):
                inner = {k: v for k, v in node["config"].items() if k not in _WIRING}
                layers.append(json.dumps([node["class_name"], inner], sort_keys=True, default=str))
            for key, value in node.items():
                if key not in _WIRING:
                    collect(value)
            for value in (node.get("config") or {}).get("layers", []) if isinstance(node.get("config"), dict) else []:
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(config)
    decided = [_TRAINING_VERSION, signature, layers, dataset, profile.__dict__, seed]
    if training_backend() != "tensorflow":  # another backend's run is another run (TensorFlow's keys unchanged)
        decided.append(training_backend())
    text = json.dumps(decided, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _run_path(config: dict[str, Any], signature: str, dataset_name: str, profile: Profile, seed: int) -> Path:
    return locations.course().cache / "runs" / f"{_run_key(config, signature, dataset_name, profile, seed)}.json"


def cached_run(config: dict[str, Any], signature: str, dataset_name: str, profile: Profile,
               seed: int = 0) -> dict[str, Any] | None:
    """The run `train` would give from its cache, or None where it would train (no Keras needed to ask)."""
    path = _run_path(config, signature, dataset_name, profile, seed)
    if not path.is_file():
        return None
    return {**json.loads(path.read_text()), "cached": True}


def train(config: dict[str, Any], signature: str, dataset_name: str, profile: Profile, seed: int = 0,
          use_cache: bool = True) -> dict[str, Any]:
    """Train the model of `config` on `dataset_name` within `profile`; returns accuracy and curves."""
    path = _run_path(config, signature, dataset_name, profile, seed)
    if use_cache and (cached := cached_run(config, signature, dataset_name, profile, seed)) is not None:
        return cached
    if training_backend() == "tensorflow":
        result = _train(copy.deepcopy(config), dataset_name, profile, seed)
    else:
        result = _train_elsewhere(config, dataset_name, profile, seed, training_backend())
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # graders working at once never share a half-written file
        tmp.write_text(json.dumps(result))
        tmp.replace(path)
    return {**result, "cached": False}


def _calm_batchnorm(config: Any) -> None:
    """Momentum 0.9 for BatchNormalization: over a short budget the default 0.99 leaves the moving statistics
    far from the data's, and validation (which uses them) would judge that lag instead of the architecture."""
    if isinstance(config, dict):
        if config.get("class_name") == "BatchNormalization" and isinstance(config.get("config"), dict):
            config["config"]["momentum"] = 0.9
        for value in config.values():
            _calm_batchnorm(value)
    elif isinstance(config, list):
        for value in config:
            _calm_batchnorm(value)


def _recalibrate_batchnorm(model: Any, x: np.ndarray) -> None:
    """Set every BatchNormalization's moving statistics to those of `x`, as seen after training.

    Validation uses the moving statistics, which lag behind the weights over a short budget (the more so the
    deeper the network). Recomputing them from one large batch judges the trained weights, not the lag: without
    it, the same correct residual stack scored anywhere from 0.53 to 1.0 under different seeds.
    """
    import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return
    for layer in layers:
        layer.momentum = 0.0  # read at call time: one forward pass in training mode copies the batch statistics
    _forward_freeing(model, x)


def _forward_freeing(model: Any, x: np.ndarray) -> None:
    """`model(x, training=True)`, layer by layer as Keras runs a functional graph, but each feature map dropped once
    the last layer that reads it has run: Keras keeps every one until the end, which for the recalibration's batch of
    1,000 is most of the memory a training run needs (380 of 570 MB for the Inception harness). The same calls on
    the same tensors in the same order: the same moving statistics (tests/test_convergence.py)."""
    import keras
    from keras.src.models.functional import operation_fn

    graph = getattr(model, "_functional", None) or model
    nodes = [node for depth in sorted(getattr(graph, "_nodes_by_depth", {}), reverse=True)
             for node in graph._nodes_by_depth[depth]]
    if not nodes or len(graph.inputs) != 1:
        model(x, training=True)
        return
    readers: dict[int, int] = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    kept = {id(tensor) for tensor in graph.outputs}
    tensors = {id(graph.inputs[0]): keras.ops.convert_to_tensor(x, dtype=graph.inputs[0].dtype)}
    for node in nodes:
        if not node.operation or node.is_input or any(id(t) not in tensors for t in node.input_tensors):
            continue  # as Keras skips them
        args, kwargs = node.arguments.fill_in(tensors)
        outputs = operation_fn(node.operation, training=True)(*args, **kwargs)
        tensors.update(zip((id(t) for t in node.outputs), keras.tree.flatten(outputs), strict=False))
        del args, kwargs, outputs
        for tensor in node.input_tensors:
            readers[id(tensor)] -= 1
            if readers[id(tensor)] == 0 and id(tensor) not in kept:
                tensors.pop(id(tensor), None)


def _deterministic() -> None:
    """Same seed, same run: deterministic kernels on the backend in use."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif keras.backend.backend() == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:  # read when JAX first uses the GPU
            os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()


def _train(config: dict[str, Any], dataset_name: str, profile: Profile, seed: int) -> dict[str, Any]:
    import keras

    from grader.datasets import LOADERS
    from grader.measure import check_fits, rebuild

    _deterministic()
    data = LOADERS[dataset_name]()
    _calm_batchnorm(config)
    model = rebuild(config, seed=seed)
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(profile.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    losses: list[float] = []

    class _Curve(keras.callbacks.Callback):
        """Per-step loss: Keras logs the running mean of the epoch, so undo the averaging."""

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            mean = float((logs or {}).get("loss", float("nan")))
            previous = self.previous if batch > 0 else 0.0
            losses.append(mean * (batch + 1) - previous * batch)
            self.previous = mean

    start = time.monotonic()
    x_train, y_train = data.x_train[: profile.train_limit], data.y_train[: profile.train_limit]
    check_fits(model, (profile.batch_size, *x_train.shape[1:]), copies=3)
    check_fits(model, (min(1000, len(x_train)), *x_train.shape[1:]))  # the recalibration's one batch
    history = model.fit(x_train, y_train, batch_size=profile.batch_size, epochs=profile.epochs,
                        validation_data=(data.x_val, data.y_val), shuffle=True, verbose=0, callbacks=[_Curve()])
    _recalibrate_batchnorm(model, x_train[:1000])
    final = float(model.evaluate(data.x_val, data.y_val, batch_size=256, verbose=0, return_dict=True)["accuracy"])
    seconds = time.monotonic() - start
    val = [float(v) for v in history.history["val_accuracy"]][:-1] + [final]
    step = max(len(losses) // 50, 1)
    return {
        "val_accuracy": final,
        "train_loss": float(history.history["loss"][-1]),  # mean over the last epoch
        "val_curve": val,
        "loss_curve": [round(v, 5) for v in losses[::step]],
        "steps": len(losses),
        "seconds": round(seconds, 2),
        "dataset": dataset_name,
        "profile": profile.name,
        "seed": seed,
        "finite": bool(np.isfinite(losses).all()) if losses else False,
    }


def _train_elsewhere(config: dict[str, Any], dataset_name: str, profile: Profile, seed: int,
                     backend: str) -> dict[str, Any]:
    """`_train` in a process of its own under another Keras backend (chosen before Keras is imported there)."""
    import subprocess

    global _last_device
    from grader import settings

    chosen = settings.current()
    job = json.dumps({"config": config, "dataset": dataset_name, "profile": profile.__dict__, "seed": seed,
                      "course": str(chosen.course) if chosen.course else None, "backend": backend})
    done = subprocess.run([sys.executable, "-m", "grader.convergence"], input=job, capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": backend}, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"training under {backend} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    _last_device = result.pop("device", None)
    return result


if __name__ == "__main__":  # one training run under the backend of KERAS_BACKEND: a job on stdin, the run on stdout
    from grader import settings as _settings

    _job = json.loads(sys.stdin.read())
    _settings.use(_settings.Settings(Path(_job["course"]) if _job["course"] else None, _job["backend"]))
    _run = _train(_job["config"], _job["dataset"], Profile(**_job["profile"]), _job["seed"])
    print(json.dumps({**_run, "device": device_name()}))
