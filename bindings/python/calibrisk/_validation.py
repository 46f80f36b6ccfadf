# SPDX-License-Identifier: Apache-2.0
"""Shared input handling of the scikit-learn style estimators."""

import numpy as np

__all__ = []


def class_weight_args(class_weight):
    """Maps scikit-learn's class_weight (None, "balanced", {0: w0, 1: w1}) to (kind, w0, w1)."""
    from .exceptions import InvalidParamsError

    if class_weight is None:
        return "none", 1.0, 1.0
    if isinstance(class_weight, str):
        if class_weight == "balanced":
            return "balanced", 1.0, 1.0
        raise InvalidParamsError(
            f"class_weight must be None, 'balanced' or a dict {{0: w0, 1: w1}}, got {class_weight!r}."
        )
    if isinstance(class_weight, dict):
        keys = set(class_weight)
        extra = keys - {0, 1}
        if extra:
            raise InvalidParamsError(
                f"class_weight has keys {sorted(extra, key=repr)} that are not classes; "
                "use the labels 0 and 1 as keys."
            )
        return "explicit", float(class_weight.get(0, 1.0)), float(class_weight.get(1, 1.0))
    raise InvalidParamsError(
        f"class_weight must be None, 'balanced' or a dict {{0: w0, 1: w1}}, got {class_weight!r}."
    )


def as_float_matrix(X):
    """Returns X unchanged when it is a float32/float64 ndarray (viewed in place by the core),
    else a float64 array (one conversion at the boundary)."""
    if isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64):
        return X
    return np.asarray(X, dtype=np.float64)
