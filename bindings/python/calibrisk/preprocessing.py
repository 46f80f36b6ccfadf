# SPDX-License-Identifier: Apache-2.0
"""Encodings of categorical columns (advanced tools).

:func:`target_statistics` computes leakage-free target statistics of integer-coded categorical
columns for a binary target: the encoding of the training rows (out-of-fold or CatBoost's ordered
statistics) and the full-data table per code that encodes new rows. It is an experimental tool for
comparing encodings: the trees will consume target statistics internally (issue 12), and a model
trained on the returned numeric columns is not yet a model over the codes. See
docs/categorical_encodings.md for the definitions, the measurements and the recommended default.
"""

from __future__ import annotations

import numpy as np

from . import _core
from .exceptions import InvalidInputError

__all__ = ["TargetStatistics", "target_statistics"]


def _codes_2d(codes, where):
    """codes -> (2-D float64 array, was_1d). pandas categoricals give their codes (-1 -> NaN)."""
    try:  # pandas objects without importing pandas when it is not there
        import pandas as pd

        if isinstance(codes, pd.Series) and isinstance(codes.dtype, pd.CategoricalDtype):
            codes = codes.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
        elif isinstance(codes, pd.DataFrame):
            cols = []
            for name in codes.columns:
                c = codes[name]
                if isinstance(c.dtype, pd.CategoricalDtype):
                    v = c.cat.codes.to_numpy().astype(np.float64)
                    v[v < 0] = np.nan
                else:
                    v = c.to_numpy(dtype=np.float64, na_value=np.nan)
                cols.append(v)
            codes = np.column_stack(cols) if cols else np.empty((len(codes), 0))
    except ImportError:  # pragma: no cover - pandas is optional
        pass
    a = np.asarray(codes)
    if a.dtype.kind in "OUS":
        raise InvalidInputError(
            f"{where}: codes have dtype {a.dtype}; pass integer codes (NaN = missing), e.g. "
            "pandas Categorical codes."
        )
    if a.ndim == 1:
        return a.reshape(-1, 1), True
    return a, False


class TargetStatistics:
    """The result of :func:`target_statistics`.

    Attributes
    ----------
    encoded : ndarray of shape (n_samples, n_columns) (or (n_samples,) for 1-D input)
        The leakage-free encoding of the training rows: no row's value uses its own label (nor,
        with ``groups``, the labels of its group).
    tables : list of calibrisk._core.TargetStatTable
        Per column, the full-data statistic of every code (``value``, ``weight``, ``weighted_y``,
        ``prior``); ``transform`` uses them.
    """

    def __init__(self, encoded, tables, one_d):
        self.encoded = encoded[:, 0] if one_d else encoded
        self.tables = tables
        self._one_d = one_d

    def transform(self, codes, n_threads=0):
        """Encodes new rows with the full-data tables. Missing codes, codes never seen in
        training (or seen with zero weight), negative and non-integer codes give NaN (the
        trees' missing direction)."""
        a, one_d = _codes_2d(codes, "TargetStatistics.transform")
        out = _core.target_stats_apply(self.tables, a, int(n_threads))
        return out[:, 0] if one_d else out


def target_statistics(
    codes,
    y,
    *,
    groups=None,
    sample_weight=None,
    scheme="out_of_fold",
    n_folds=5,
    smoothing=1.0,
    seed=0,
    class_weight=None,
    n_threads=0,
):
    """Leakage-free target statistics of integer-coded categorical columns (advanced).

    For a code k with rows R_k, weights w (``sample_weight`` times the ``class_weight``
    multiplier) and labels y in {0, 1}::

        TS(k) = (sum_{R_k} w y + smoothing * prior) / (sum_{R_k} w + smoothing)

    with ``prior`` the weighted mean of y. The training rows are encoded without their own label:

    - ``scheme="out_of_fold"``: rows are assigned to ``n_folds`` folds by a seeded hash of their
      group (``groups``, e.g. patient ids; no group is split between folds) or of their row
      index; a row uses only the other folds (prior included).
    - ``scheme="ordered"``: CatBoost's ordered statistics; the groups (or rows) in a seeded random
      order, a row uses only the groups before its own, with a running prior.

    Parameters
    ----------
    codes : array-like of shape (n_samples,) or (n_samples, n_columns)
        Integer codes >= 0 (any numeric dtype; NaN = missing), or a pandas categorical
        Series / DataFrame (its category codes are used).
    y : array-like of shape (n_samples,)
        Labels 0 / 1.
    groups : array-like of shape (n_samples,), default=None
        Group (patient) ids: every row of a group shares a fold / a position in the order.
    sample_weight : array-like of shape (n_samples,), default=None
    scheme : {"out_of_fold", "ordered"}, default="out_of_fold"
    n_folds : int, default=5
    smoothing : float, default=1.0
        Weight of the prior pseudo-observation (>= 0).
    seed : int, default=0
    class_weight : None, "balanced" or dict {0: w0, 1: w1}, default=None
    n_threads : int, default=0
        Columns are encoded in parallel; the result is the same for any value.

    Returns
    -------
    TargetStatistics
        ``encoded`` (the training encoding), ``tables`` and ``transform(codes)`` for new rows.

    Examples
    --------
    >>> ts = target_statistics(train_codes, y_train, groups=patient_id)  # doctest: +SKIP
    >>> model.fit(ts.encoded, y_train)                    # doctest: +SKIP
    >>> model.predict_proba(ts.transform(test_codes))     # doctest: +SKIP
    """
    a, one_d = _codes_2d(codes, "target_statistics")
    yv = np.asarray(y, dtype=np.float64).ravel()
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    g = None
    if groups is not None:
        g = np.asarray(groups)
        if g.dtype.kind not in "biuf":  # string ids: any one-to-one numbering will do
            g = np.unique(g, return_inverse=True)[1].ravel()
        g = g.astype(np.float64)
    encoded, tables = _core.target_stats_encode(
        a,
        yv,
        w,
        g,
        str(scheme),
        int(n_folds),
        float(smoothing),
        int(seed),
        class_weight,
        int(n_threads),
    )
    return TargetStatistics(encoded, tables, one_d)
