"""Bundled data: shapes, ranges, determinism, and nothing fetched."""

from __future__ import annotations

import numpy as np
import pytest

from grader.datasets import digits, mnist, shapes

pytestmark = pytest.mark.quick


def test_mnist_is_5000_real_digits_split_4000_1000() -> None:
    data = mnist()
    assert data.x_train.shape == (4000, 28, 28, 1) and data.x_val.shape == (1000, 28, 28, 1)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    assert np.array_equal(mnist().y_val, data.y_val)  # deterministic split


def test_digits_are_upsampled_to_16x16() -> None:
    data = digits()
    assert data.input_shape == (16, 16, 1)
    assert len(data.x_train) + len(data.x_val) == 1797


def test_shapes_put_one_object_anywhere_on_a_blank_field() -> None:
    data = shapes(count=200, size=32, seed=3)
    assert data.num_classes == 4
    lit = (data.x_train[..., 0] > 0).reshape(len(data.x_train), -1).sum(axis=1)
    assert lit.min() > 0 and lit.max() <= 49  # one 7x7 object, nothing else
    corners = [np.argwhere(x[..., 0] > 0).min(axis=0) for x in data.x_train[:50]]
    assert len({tuple(c) for c in corners}) > 20  # at many places
    assert np.array_equal(shapes(count=200, size=32, seed=3).x_train, data.x_train)
