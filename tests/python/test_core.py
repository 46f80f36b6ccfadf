# SPDX-License-Identifier: Apache-2.0
"""Core bindings: zero-copy views, C++ validation errors mapped onto Python exceptions."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

import calibrisk
from calibrisk import _core


def _address(a):
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_float_arrays_are_viewed_without_copy(dtype, order):
    X = np.asarray(np.arange(12).reshape(3, 4), dtype=dtype, order=order)
    addr, kind, rs, cs = _core._view_info(X)
    assert addr == _address(X)
    assert kind == np.dtype(dtype).name
    item = X.itemsize
    assert (rs, cs) == (X.strides[0] // item, X.strides[1] // item)


def test_strided_slice_is_viewed_in_place():
    base = np.arange(40, dtype=np.float64).reshape(5, 8)
    X = base[:, ::2]
    addr, _, rs, cs = _core._view_info(X)
    assert addr == _address(X)
    assert (rs, cs) == (8, 2)


def test_integer_arrays_are_converted_once():
    X = np.arange(6).reshape(2, 3)
    addr, kind, _, _ = _core._view_info(X)
    assert kind == "float64"
    assert addr != _address(X)


def test_not_2d_is_rejected():
    with pytest.raises(calibrisk.InvalidInputError, match="must be 2-D"):
        _core._view_info(np.zeros(3))


def test_exception_hierarchy():
    assert issubclass(calibrisk.InvalidInputError, ValueError)
    assert issubclass(calibrisk.InvalidParamsError, calibrisk.InvalidInputError)
    assert issubclass(calibrisk.ModelFormatError, ValueError)
    assert issubclass(calibrisk.NotFittedError, SklearnNotFittedError)
    assert issubclass(calibrisk.NotFittedError, AttributeError)


X = np.arange(6, dtype=float).reshape(3, 2)


@pytest.mark.parametrize(
    "y, w, match",
    [
        ([0, 1], None, "one label per row"),
        ([0, 2, 1], None, r"y\[1\] is 2"),
        ([1, 1, 1], None, "only class 1"),
        ([0, 1, 1], [1, -1, 1], r"sample_weight\[1\]"),
        ([0, 1, 1], [1, np.nan, 1], "finite"),
        ([0, 1, 1], [0, 0, 0], "all sample weights are zero"),
        ([0, 1, 1], [1, 1], "one weight per row"),
    ],
)
def test_validation_errors_are_value_errors(y, w, match):
    with pytest.raises(calibrisk.InvalidInputError, match=match):
        _core._validate_dataset(X, np.asarray(y, float), None if w is None else np.asarray(w, float))


def test_infinite_feature_is_named_and_nan_is_missing():
    Xi = X.copy()
    Xi[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[2, 0\] is \+inf"):
        _core._validate_dataset(Xi, np.array([0.0, 1.0, 1.0]), None)
    Xi[2, 0] = np.nan
    _core._validate_dataset(Xi, np.array([0.0, 1.0, 1.0]), None)


def test_empty_data_is_rejected():
    with pytest.raises(ValueError, match="0 rows"):
        _core._validate_dataset(np.zeros((0, 2)), np.zeros(0), None)
    with pytest.raises(ValueError, match="0 columns"):
        _core._validate_dataset(np.zeros((3, 0)), np.array([0.0, 1.0, 1.0]), None)
