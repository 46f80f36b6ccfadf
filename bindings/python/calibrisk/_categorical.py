# SPDX-License-Identifier: Apache-2.0
"""Categorical columns of the data a Python user passes: detection (pandas ``category``,
``object`` and ``string`` columns), ``categorical_features=`` by index, name or boolean mask (as
scikit-learn's HistGradientBoosting), and encoding to integer codes through the C++ encoder
(``calibrisk/io/categories.hpp``) that the CSV reader uses, so a model fitted from Python scores a
CSV in C++ identically and vice versa. Reference: docs/categorical.md.

Labels: a string is used as it is (spaces at the ends trimmed, as the CSV reader does); ``None``,
NaN, ``pd.NA``, ``""``, ``"NA"`` and ``"?"`` are missing (the CSV reader's missing markers). A
number in a column declared categorical becomes the shortest text that reads back to it (``7`` ->
"7", ``7.0`` -> "7", ``0.5`` -> "0.5"), so a CSV must hold the same text ("7", not "7.0").
"""
import numbers

import numpy as np

from . import _core
from .exceptions import InvalidInputError, InvalidParamsError

#: Texts that mean "missing", as the CSV reader's default ``na_values``.
NA_TEXTS = frozenset(["", "NA", "?"])


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes")


def _text_dtype(dtype):
    """True for pandas category, object and string dtypes (the columns detected as labels)."""
    kind = getattr(dtype, "kind", None)
    name = str(dtype)
    return name == "category" or name.startswith("string") or kind in ("O", "U", "S")


def _numbers_as_objects(col):
    """True for an object column whose non-missing values are all numbers (numbers stored as
    Python objects are numeric data, not labels)."""
    if str(col.dtype) != "object":
        return False
    values = [v for v in col.to_numpy() if v is not None and not _is_na(v)]
    return all(isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))
               for v in values)


def _n_columns(X):
    if _is_frame(X):
        return X.shape[1]
    shape = np.shape(X)
    return shape[1] if len(shape) == 2 else 0


def resolve_indices(X, categorical_features, where):
    """The column positions of the categorical features of X, ascending.

    ``categorical_features``: None or "auto" (pandas category / object / string columns, none for
    an array), "from_dtype" (the same), an iterable of column positions or column names, or a
    boolean mask of length n_features. Raises InvalidParamsError naming ``where``.
    """
    p = _n_columns(X)
    names = [str(c) for c in X.columns] if _is_frame(X) else None
    spec = categorical_features
    if spec is None or (isinstance(spec, str) and spec in ("auto", "from_dtype")):
        if names is None:
            return []
        return [j for j, dt in enumerate(X.dtypes)
                if _text_dtype(dt) and not _numbers_as_objects(X.iloc[:, j])]
    if isinstance(spec, str):
        spec = [spec]
    values = list(np.asarray(spec, dtype=object).ravel()) if not isinstance(spec, list) else spec
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        if len(values) != p:
            raise InvalidParamsError(
                f"{where}: categorical_features is a boolean mask of length {len(values)} but X "
                f"has {p} columns; give one flag per column."
            )
        return [j for j, v in enumerate(values) if v]
    out = []
    for v in values:
        if isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)):
            j = int(v)
            if not -p <= j < p:
                raise InvalidParamsError(
                    f"{where}: categorical_features lists column {j}, outside [0, {p})."
                )
            out.append(j % p)
        elif isinstance(v, str):
            if names is None:
                raise InvalidParamsError(
                    f"{where}: categorical_features names column {v!r} but X has no column "
                    "names (pass a pandas DataFrame, or column positions)."
                )
            if v not in names:
                raise InvalidParamsError(
                    f"{where}: categorical_features names column {v!r}, which X does not have; "
                    f"its columns are {names[:10]}{'...' if len(names) > 10 else ''}."
                )
            out.append(names.index(v))
        else:
            raise InvalidParamsError(
                f"{where}: categorical_features must hold column positions, column names or "
                f"booleans, got {v!r}."
            )
    return sorted(set(out))


def labels_of(column):
    """The labels of one column (a pandas Series or a 1-D array) as a list of str / None."""
    values = column.to_numpy(dtype=object) if hasattr(column, "to_numpy") else np.asarray(
        column, dtype=object)
    values = np.asarray(values, dtype=object).ravel()
    numeric = [i for i, v in enumerate(values)
               if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))]
    out = [None] * len(values)
    if numeric:
        texts = _core._number_labels(np.asarray([float(values[i]) for i in numeric]))
        for i, t in zip(numeric, texts):
            out[i] = t
    numeric = set(numeric)
    for i, v in enumerate(values):
        if i in numeric or v is None:
            continue
        if isinstance(v, bytes):
            out[i] = v
            continue
        if _is_na(v):
            continue
        s = v if isinstance(v, str) else str(v)
        if s.strip(" \t") in NA_TEXTS:
            continue
        out[i] = s
    return out


def _is_na(v):
    try:
        import pandas as pd
        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is optional
        pass
    return isinstance(v, float) and np.isnan(v)


class CategoricalEncoding:
    """The fitted encoding of the categorical columns of a training table.

    ``indices``: column positions (ascending); ``levels``: one ``_core._CategoryLevels`` per
    index (``.labels`` is the level table: code k stands for ``labels[k]``; ``.counts`` the
    training rows per level; ``.hierarchy`` None or the prefix lengths, [] = dotted).
    """

    def __init__(self, indices, names, levels):
        self.indices = list(indices)
        self.names = list(names)
        self.levels = list(levels)

    # Pickling: the level tables as plain data (the C++ objects are rebuilt on load).
    def __getstate__(self):
        return {"indices": self.indices, "names": self.names,
                "tables": [(l.column, list(l.labels), l.hierarchy, list(l.pooled))
                           for l in self.levels]}

    def __setstate__(self, state):
        self.indices = state["indices"]
        self.names = state["names"]
        self.levels = [_core._category_levels(c, labels, h, pooled)
                       for c, labels, h, pooled in state["tables"]]

    @property
    def tables(self):
        """{column position: (labels, hierarchy, pooled)}: what the model file's schema stores."""
        return {j: (list(l.labels), l.hierarchy, list(l.pooled))
                for j, l in zip(self.indices, self.levels)}

    def transform(self, X, where):
        """X with its categorical columns replaced by codes (NaN = missing or unseen without a
        level ancestor); a DataFrame stays a DataFrame (column names kept)."""
        p = _n_columns(X)
        if p <= max(self.indices, default=-1):
            raise InvalidInputError(
                f"{where}: X has {p} columns but the categorical column {max(self.indices)} was "
                "declared at fit."
            )
        return _replace(X, {j: l.encode(labels_of(_column(X, j)))[0]
                            for j, l in zip(self.indices, self.levels)})


def _column(X, j):
    if _is_frame(X):
        return X.iloc[:, j]
    return np.asarray(X, dtype=object)[:, j]


def _replace(X, codes_by_column):
    """X with columns replaced by float64 codes: a float64 DataFrame or ndarray."""
    if _is_frame(X):
        import pandas as pd
        data = {}
        for j, name in enumerate(X.columns):
            if j in codes_by_column:
                data[name] = codes_by_column[j]
            else:
                col = X.iloc[:, j]
                try:
                    data[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError):
                    data[name] = col  # left for check_X to report by name
        return pd.DataFrame(data, index=X.index, columns=X.columns)
    A = np.array(X, dtype=object if codes_by_column else None, copy=True)
    for j, c in codes_by_column.items():
        A[:, j] = c
    try:
        return A.astype(np.float64)
    except (TypeError, ValueError):
        return A


def _is_numeric_column(X, j):
    """Whether column j holds numbers (not text, not a pandas category)."""
    if _is_frame(X):
        import pandas as pd

        col = X.iloc[:, j]
        return (pd.api.types.is_numeric_dtype(col.dtype)
                and not isinstance(col.dtype, pd.CategoricalDtype)
                and not pd.api.types.is_bool_dtype(col.dtype))
    return np.asarray(X).dtype.kind in "iuf"


def fit_encode(X, categorical_features="auto", code_hierarchy=None,
               min_count=None, where="fit"):
    """Fits the encoding of X's categorical columns; returns (X encoded, CategoricalEncoding or
    None when X has no categorical column).

    ``code_hierarchy``: {column name or position: None / [] (dotted default) or prefix lengths};
    such a column is categorical even when not listed. ``min_count``: pooling threshold of the
    hierarchy (default 10).
    """
    auto = categorical_features is None or (
        isinstance(categorical_features, str) and categorical_features in ("auto", "from_dtype"))
    if auto and not code_hierarchy and not _is_frame(X):
        return X, None  # an array: nothing to detect; X is left to the estimator's validation
    indices = resolve_indices(X, categorical_features, where)
    names = [str(c) for c in X.columns] if _is_frame(X) else None
    hier = {}
    for key, lengths in (code_hierarchy or {}).items():
        j = resolve_indices(X, [key], where)[0]
        hier[j] = [] if lengths is None else [int(n) for n in lengths]
        if j not in indices:
            indices = sorted(set(indices) | {j})
    # A numeric column listed in categorical_features already holds codes (non-negative integers,
    # validated by the model) and is used as is, as scikit-learn's HistGradientBoosting does; only
    # text and pandas category columns (and hierarchy columns) are encoded through labels.
    indices = [j for j in indices if j in hier or not _is_numeric_column(X, j)]
    if not indices:
        return X, None
    levels, codes = [], {}
    for j in indices:
        name = names[j] if names else f"x{j}"
        kwargs = {}
        if min_count is not None:
            kwargs["min_count"] = int(min_count)
        lev, c = _core._category_fit(name, labels_of(_column(X, j)), hier.get(j), **kwargs)
        levels.append(lev)
        codes[j] = c
    enc = CategoricalEncoding(indices, [names[j] if names else f"x{j}" for j in indices], levels)
    return _replace(X, codes), enc


def fit_transform(est, X, where):
    """The estimators' hook at fit: encodes X's categorical columns (``est.categorical_features``,
    default "auto"; ``est.code_hierarchy`` when the estimator has it), stores the encoding in
    ``est.categorical_encoding_`` (None when there is none) and returns the encoded X."""
    X, enc = fit_encode(X, getattr(est, "categorical_features", "auto"),
                        getattr(est, "code_hierarchy", None),
                        getattr(est, "hierarchy_min_count", None), where)
    est.categorical_encoding_ = enc
    return X


def transform(est, X, where):
    """The estimators' hook at prediction: X encoded with the levels of fit (X itself when the
    estimator has no categorical column)."""
    enc = getattr(est, "categorical_encoding_", None)
    if enc is None:
        return X
    return enc.transform(X, where)
