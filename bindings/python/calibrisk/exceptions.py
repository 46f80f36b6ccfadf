# SPDX-License-Identifier: Apache-2.0
"""Exceptions raised by calibrisk; the C++ exception hierarchy is translated onto these."""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "CalibriskError",
    "InvalidInputError",
    "InvalidParamsError",
    "NotFittedError",
    "ModelFormatError",
    "CalibriskInternalError",
]


class CalibriskError(Exception):
    """Base of every error calibrisk raises."""


class InvalidInputError(CalibriskError, ValueError):
    """The data or arguments are wrong (shapes, labels, weights, values)."""


class InvalidParamsError(InvalidInputError):
    """A hyper-parameter is outside its documented range."""


class NotFittedError(CalibriskError, _SklearnNotFittedError):
    """The estimator was used before ``fit`` (a ``ValueError`` and ``AttributeError``)."""


class ModelFormatError(CalibriskError, ValueError):
    """A model file is truncated, edited, corrupt or from a newer format version."""


class CalibriskInternalError(CalibriskError, RuntimeError):
    """A broken internal invariant: please report it as a bug."""
