# SPDX-License-Identifier: Apache-2.0
"""Logistic regression with scikit-learn conventions, backed by the C++ Newton solvers (binary and
multinomial; dense arrays and scipy.sparse matrices)."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import type_of_target

from . import _categorical, _core
from ._validation import (
    PyParam,
    check_fit_data,
    check_X,
    class_weight_value,
    make_params,
    params_from_fields,
    sample_weights,
)
from .exceptions import InvalidInputError, InvalidParamsError, NotFittedError
from .pipeline import restore_n_threads, saved_state

__all__ = ["LogisticRegression"]

# The C++ defaults: every default below is read from here, never written a second time.
_D = _core.LogisticRegressionParams()
_MAX_CLASSES = 1000  # kMaxClasses (include/calibrisk/core/dataset.hpp); the C++ fit checks it too
_MISSING = ("mean", "mean_with_indicator")  # the spellings of the CLI and the model file
_MISSING_DEPRECATED = {"mean_indicator": "mean_with_indicator"}  # old Python spelling


_PYTHON_SPELLED = {
    "class_weight": PyParam(None, 'None, "balanced" or dict {class: weight}, default=None\n'
                            "As in scikit-learn; dict keys are the labels as passed to ``fit`` "
                            "(or 0/1 for two classes); classes missing from the dict get 1. "
                            '"balanced" gives class c the weight n / (K * n_c) (sample-weight '
                            "totals, as scikit-learn >= 1.8)."),
    "missing": PyParam(_D.missing, '{"mean", "mean_with_indicator"}, default="mean"\n'
                       "NaN handling learned at fit time: replace by the (sample-weighted) "
                       'training mean of the column; "mean_with_indicator" (the CLI\'s and the '
                       'model file\'s spelling; the old "mean_indicator" still works with a '
                       "FutureWarning) also adds a 0/1 indicator feature for every column that "
                       "had missing values during fit (their coefficients follow the inputs in "
                       "``coef_``)."),
    "categorical_features": PyParam(
        None, "None, array of int, array of bool or array of str, default=None\n"
        "Columns holding integer category codes (k >= 0 as numbers, NaN = missing), given as "
        "indices, a boolean mask of length n_features or column names (with a DataFrame), as "
        "scikit-learn's HistGradientBoostingClassifier. Each is expanded internally into one "
        "indicator per level against its most frequent level (the reference); levels with fewer "
        "than ``min_category_count`` rows are pooled into one 'other' level and NaN is its own "
        "level. ``coef_`` and ``get_feature_names_out()`` then describe the expanded design "
        "(``name=code``, ``name=other``, ``name=missing``). Codes unseen in training score as "
        "the reference. See docs/linear.md, 'Categorical features'."),
}


@params_from_fields(_core.LogisticRegressionParams, python=_PYTHON_SPELLED)
class LogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression, binary or multinomial (scikit-learn's objective, fast
    Newton solvers, dense or scipy.sparse input).

    With more than two classes the model is the multinomial (softmax) one, scikit-learn's
    ``LogisticRegression`` default: ``coef_`` has shape (K, n_features), ``intercept_`` (K,)
    (centred to sum to 0), ``predict_proba`` (n, K) in ``classes_`` order. Multinomial models and
    sparse input take ``missing="mean"`` and no ``categorical_features``. scipy.sparse CSR/CSC
    matrices are used without densifying (an explicitly stored NaN/inf is an error: sparse input
    has no missing values).

    Minimises ``sum_i w_i * logloss(y_i, p_i) + ||coef||^2 / (2 C)`` (the default
    ``penalty_scale="raw"``) with an unpenalised
    intercept, exactly as ``sklearn.linear_model.LogisticRegression(penalty="l2")`` does, where
    ``w_i = sample_weight_i * class_weight[y_i]``. The solver is Newton's method with a line
    search on the exact Hessian (built in parallel, deterministic for any ``n_threads``); it stops
    when ``max|gradient| / sum(w) <= tol``.

    The parameters are the fields of ``calibrisk._core.LogisticRegressionParams`` (C++ defaults
    and docs); ``class_weight`` and ``missing`` take their Python spellings. The penalty stays on
    the raw-scale coefficients whether or not ``standardize`` is on, so the solution is the same
    either way; ``penalty_scale="standardized"`` penalises standardised coefficients instead
    (coefficient j's penalty times the training variance of column j: the fit of scikit-learn's
    ``LogisticRegression`` on ``StandardScaler`` output, mapped back to the raw scale; categorical
    levels keep the raw penalty; docs/linear.md, "Penalty scale"). ``calibrisk.train`` uses
    ``"standardized"`` by default.
    ``newton_max_columns`` and ``n_threads`` are not stored in model files.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features_out)
        Coefficients of the expanded design, aligned with ``feature_names_out_``: the numeric
        inputs, the missing indicators, then one per categorical level (without categorical
        features: ``n_features_in_ + n_indicators`` values, the inputs' in column order).
    feature_names_out_ : ndarray of str, the names of the design's terms
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str (when fitted on a DataFrame with string column names)
    n_iter_ : ndarray of shape (1,)
    missing_indicator_features_ : ndarray of int, input columns with an indicator feature

    Notes
    -----
    float32 and float64 arrays in C or Fortran order are read in place (no copy); other inputs
    are converted to float64 once. The GIL is released during fit and predict.
    """

    # -- scikit-learn protocol -------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN means missing and is imputed (dense input)
        tags.input_tags.sparse = True  # scipy.sparse CSR/CSC, not densified
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_model")

    # -- fitting ---------------------------------------------------------------------------------

    def _core_params(self, classes):
        """The C++ LogisticRegressionParams: one pass over the declared fields; class_weight
        (keyed by label) and missing (old spelling) are converted first."""
        special = {"class_weight": lambda: self._class_weight(classes),
                   "missing": self._missing,
                   "categorical_features": self._model_categorical}
        p = make_params(self, _core.LogisticRegressionParams, special, "LogisticRegression: ")
        p.validate()
        return p

    def _model_categorical(self):
        """The model's categorical columns: those of categorical_features and the label columns
        encoded at fit (pandas category / text columns)."""
        enc = getattr(self, "categorical_encoding_", None)
        return sorted(set(self._categorical_indices()) | set(enc.indices if enc else []))

    def _categorical_indices(self):
        """categorical_features as sorted column indices (indices, bool mask or names)."""
        cats = getattr(self, "categorical_features", None)
        where = "LogisticRegression: categorical_features"
        if cats is None:
            return []
        n = self.n_features_in_
        arr = np.asarray(cats)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.size == 0:
            return []
        if arr.ndim != 1:
            raise InvalidParamsError(f"{where} must be 1-D, got shape {arr.shape}.")
        if arr.dtype.kind == "b":
            if arr.size != n:
                raise InvalidParamsError(
                    f"{where} is a boolean mask of length {arr.size} but X has {n} features; "
                    "pass one flag per column."
                )
            return [int(i) for i in np.flatnonzero(arr)]
        if arr.dtype.kind in "iu":
            out = []
            for i in arr.tolist():
                if not -n <= i < n:
                    raise InvalidParamsError(
                        f"{where} lists column {i} but X has {n} features; pass 0-based indices."
                    )
                out.append(i % n)
            if len(set(out)) != len(out):
                raise InvalidParamsError(f"{where} lists a column twice; list each column once.")
            return sorted(out)
        if arr.dtype.kind in "UO":
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise InvalidParamsError(
                    f"{where} names columns but X has no feature names; fit on a DataFrame or "
                    "pass column indices."
                )
            index = {str(v): k for k, v in enumerate(names)}
            out = []
            for name in arr.tolist():
                if str(name) not in index:
                    raise InvalidParamsError(f"{where} names {name!r}, which is not a column of X.")
                out.append(index[str(name)])
            if len(set(out)) != len(out):
                raise InvalidParamsError(f"{where} lists a column twice; list each column once.")
            return sorted(out)
        raise InvalidParamsError(
            f"{where} must be None, column indices, a boolean mask or column names, got "
            f"{cats!r}."
        )

    def _missing(self):
        missing = self.missing
        if isinstance(missing, str) and missing in _MISSING_DEPRECATED:
            missing = _MISSING_DEPRECATED[missing]
            warnings.warn(
                f"LogisticRegression: missing={self.missing!r} is deprecated and will be removed; "
                f"use missing={missing!r} (the same spelling as the CLI and the model file).",
                FutureWarning,
                stacklevel=5,
            )
        if missing not in _MISSING:
            raise InvalidParamsError(
                f"LogisticRegression: missing must be one of {_MISSING}, got {self.missing!r}."
            )
        return missing

    def _class_weight(self, classes):
        cw = self.class_weight
        if isinstance(cw, dict) and classes.size > 2:
            return None  # multinomial: one weight per class, passed separately (_per_class_weights)
        if isinstance(cw, dict):
            # Keys may be the original labels; map them onto 0 (classes_[0]) and 1 (classes_[1]).
            mapped = {}
            for key, val in cw.items():
                if key in (0, 1) and key not in classes:
                    idx = int(key)
                else:
                    hits = np.flatnonzero(classes == key)
                    if hits.size == 0:
                        raise InvalidParamsError(
                            f"LogisticRegression: class_weight has key {key!r}, which is not one "
                            f"of the classes {classes.tolist()}; use the labels as keys."
                        )
                    idx = int(hits[0])
                mapped[idx] = val
            cw = mapped
        return class_weight_value(cw)

    def fit(self, X, y, sample_weight=None):
        """Fits on X (n_samples, n_features), dense or scipy.sparse, and labels y (two or more
        classes: any sortable labels, ``classes_`` = their sorted unique values); returns self."""
        where = "LogisticRegression.fit"
        sparse = _is_sparse(X)
        if sparse:
            X, y = self._check_sparse(X, y, reset=True)
            self.categorical_encoding_ = None
        else:
            X = _categorical.fit_transform(self, X, where)
            X, y = check_fit_data(self, X, y, where=where)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type not in ("binary", "multiclass", "unknown"):
            raise InvalidInputError(f"{where}: y is {y_type}; pass one class label per row.")
        # The sorted labels, then each row's by binary search: the same codes as
        # np.unique(return_inverse=True), whose argsort of 100k int64 labels costs ~12 ms.
        classes = np.unique(y)
        if classes.size < 2:
            raise InvalidInputError(
                f"{where}: y contains only one class ({classes[0]!r}); at least two classes are "
                "needed to train."
            )
        if classes.size > _MAX_CLASSES:
            raise InvalidInputError(
                f"{where}: y has {classes.size} classes, more than the limit of 1000; a label "
                "with that many values is likely an identifier, not an outcome."
            )
        K = int(classes.size)
        y_idx = np.searchsorted(classes, y).astype(np.float64)
        sample_weight = sample_weights(sample_weight, X.shape[0], where)
        per_class = self._per_class_weights(classes) if K > 2 else []
        model = _core.LogisticRegressionModel(self._core_params(classes))
        if sparse:
            model.fit_sparse(_sparse_tuple(X), y_idx, sample_weight, K, per_class)
        else:
            model.fit(X, y_idx, sample_weight, K, per_class)

        self._model = model
        self.classes_ = classes
        if K == 2:
            self.coef_ = np.asarray(model.design_coef, dtype=np.float64).reshape(1, -1)
            self.intercept_ = np.array([model.intercept], dtype=np.float64)
        else:
            self.coef_ = np.asarray(model.class_coef, dtype=np.float64)
            self.intercept_ = np.asarray(model.class_intercept, dtype=np.float64)
        self.feature_names_out_ = np.asarray(
            model.design_names(self._input_names(), self._category_labels()), dtype=object)
        self.n_iter_ = np.array([model.n_iter], dtype=np.int32)
        # Indicators exist only with missing="mean_with_indicator" on dense input; reading them
        # from the codec serialises the whole model (0.1 s at 50k coefficients), so only then.
        self.missing_indicator_features_ = (
            np.asarray(saved_state(model)["indicator_features"], dtype=np.intp)
            if not sparse and self.missing in ("mean_with_indicator", "mean_indicator")
            else np.zeros(0, dtype=np.intp)
        )
        for note in model.notes:
            if note.startswith("did not converge") or "separable" in note:
                warnings.warn(f"LogisticRegression: {note}", ConvergenceWarning, stacklevel=2)
            elif not note.startswith("standard errors are not computed for sparse"):
                warnings.warn(f"LogisticRegression: {note}", UserWarning, stacklevel=2)
        return self

    def _per_class_weights(self, classes):
        """class_weight as one multiplier per class (K > 2; empty unless it is a dict)."""
        cw = self.class_weight
        if not isinstance(cw, dict):
            return []
        out = [1.0] * classes.size
        for key, val in cw.items():
            hits = np.flatnonzero(classes == key)
            if hits.size == 0:
                raise InvalidParamsError(
                    f"LogisticRegression: class_weight has key {key!r}, which is not one of the "
                    f"classes {classes.tolist()}; use the labels as keys."
                )
            out[int(hits[0])] = float(val)
        return out

    def _check_sparse(self, X, y="no_validation", *, reset):
        """scikit-learn's validate_data for a scipy.sparse X (CSR/CSC kept, other formats made
        CSR, never densified; values float64; NaN/inf left to the C++ check naming the entry)."""
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        where = "LogisticRegression.fit" if reset else "LogisticRegression"
        try:
            out = validate_data(self, X, y, reset=reset, accept_sparse=("csr", "csc"),
                                dtype=np.float64, ensure_all_finite=False,
                                ensure_min_samples=1 if reset else 0)
            if reset:
                check_classification_targets(out[1])
            return out
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"{where}: {e}") from e

    def _category_labels(self):
        """Per input column, the labels of its codes (label k of code k) when the estimator
        encoded text/category columns at fit (or the data carries FeatureInfo labels); [] when
        none, so level names fall back to the codes."""
        enc = getattr(self, "categorical_encoding_", None)
        if enc is None or not enc.indices:
            return []
        tables = enc.tables
        return [[str(v) for v in tables[j][0]] if j in tables else []
                for j in range(self.n_features_in_)]

    # -- prediction ------------------------------------------------------------------------------

    def _input_names(self):
        names = getattr(self, "feature_names_in_", None)
        return [] if names is None else [str(n) for n in names]

    def get_feature_names_out(self, input_features=None):
        """Names of the expanded design's terms, aligned with ``coef_[0]``: the numeric inputs,
        ``missing(<name>)`` indicators, then ``<name>=<code>``, ``<name>=other`` and
        ``<name>=missing`` for the categorical levels (names ``x0, x1, ...`` without
        ``feature_names_in_``; ``input_features`` overrides them)."""
        self._check_fitted()
        if input_features is None:
            return self.feature_names_out_.copy()
        names = [str(n) for n in input_features]
        if len(names) != self.n_features_in_:
            raise InvalidInputError(
                f"LogisticRegression.get_feature_names_out: input_features has {len(names)} "
                f"names but the model has {self.n_features_in_} features."
            )
        return np.asarray(self._model.design_names(names), dtype=object)

    def _check_X(self, X):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                "This LogisticRegression instance is not fitted yet; call 'fit' with appropriate "
                "arguments before using this estimator."
            )
        if _is_sparse(X):
            return _sparse_tuple(self._check_sparse(X, reset=False))
        X = _categorical.transform(self, X, "LogisticRegression")
        return check_X(self, X, reset=False, where="LogisticRegression")

    def decision_function(self, X):
        """Log odds of ``classes_[1]`` per row, shape (n_samples,), for two classes; the K class
        margins, shape (n_samples, K), for a multinomial model."""
        X = self._check_X(X)
        if isinstance(X, tuple) or self.classes_.size > 2:
            z = self._model.decision_matrix(X)
            return z[:, 0] if self.classes_.size == 2 else z
        return self._model.decision_function(X)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, K), columns in ``classes_`` order."""
        X = self._check_X(X)
        if isinstance(X, tuple) or self.classes_.size > 2:
            return self._model.predict_proba_matrix(X)
        return self._model.predict_proba_2col(X)

    def predict_log_proba(self, X):
        """Log of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class: ``classes_[1]`` where the log odds are > 0 (else
        ``classes_[0]``) for two classes, the arg-max of the margins for K classes."""
        z = self.decision_function(X)
        if z.ndim == 2:
            return self.classes_[np.argmax(z, axis=1)]
        return self.classes_[(z > 0).astype(np.intp)]

    # -- statistics ------------------------------------------------------------------------------

    @property
    def converged_(self):
        """Whether the last fit met ``tol`` within ``max_iter``."""
        self._check_fitted()
        return bool(self._model.converged)

    @property
    def objective_(self):
        """Value of the objective reached by the last fit."""
        self._check_fitted()
        return float(self._model.objective)

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("This LogisticRegression instance is not fitted yet; call 'fit' first.")

    def summary(self, confidence=0.95, as_frame=None):
        """Wald coefficient table: estimate, standard error, z, p-value, confidence interval and
        odds ratio with its interval, intercept first.

        Exact (asymptotically) when ``C=inf``; with a finite C the intervals use the penalised
        Hessian and are approximate (the returned table's ``attrs["approximate"]`` / key says so).
        Returns a pandas DataFrame when pandas is installed (``as_frame=None``/True), else a dict.
        """
        self._check_fitted()
        if not (isinstance(confidence, numbers.Real) and 0.0 < confidence < 1.0):
            raise InvalidInputError(
                f"LogisticRegression.summary: confidence must be in (0, 1), got {confidence!r}."
            )
        table = self._model.coefficient_table(float(confidence), self._input_names(),
                                              self._category_labels())
        approximate = table.pop("approximate")
        conf = table.pop("confidence")
        if as_frame is False:
            table["approximate"] = approximate
            table["confidence"] = conf
            return table
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
            table["approximate"] = approximate
            table["confidence"] = conf
            return table
        df = pd.DataFrame(table).set_index("term")
        df.attrs["approximate"] = approximate
        df.attrs["confidence"] = conf
        return df

    # -- state -----------------------------------------------------------------------------------
    # Pickling stores the C++ model as its codec bytes (the "model" section of a pipeline file,
    # ``self._model.to_bytes()``); the other attributes pickle as plain Python values.

    def get_state(self):
        """The complete prediction-time state of the C++ model: the ``state`` object of its
        section in a pipeline file (docs/artifact.md), decoded from the codec bytes (non-finite
        numbers appear as the strings "NaN", "Infinity", "-Infinity")."""
        self._check_fitted()
        return saved_state(self._model)

    def __setstate__(self, state):
        self.__dict__.update(state)
        restore_n_threads(self)


def _is_sparse(X):
    try:
        import scipy.sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return scipy.sparse.issparse(X)


def _sparse_tuple(X):
    """(indptr, indices, data, rows, cols, is_csr) of a CSR/CSC matrix, int64/float64 contiguous
    (copies only the index arrays when they are int32; never densifies)."""
    import scipy.sparse

    if X.format not in ("csr", "csc"):
        X = scipy.sparse.csr_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
        X.sort_indices()
    return (np.ascontiguousarray(X.indptr, dtype=np.int64),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.data, dtype=np.float64),
            int(X.shape[0]), int(X.shape[1]), X.format == "csr")
