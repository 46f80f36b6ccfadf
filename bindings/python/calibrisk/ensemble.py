# SPDX-License-Identifier: Apache-2.0
"""calibrisk.ensemble: histogram gradient-boosted trees for binary and multiclass risk models,
with scikit-learn conventions (fit / predict_proba / get_params, pipelines, pickling)."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target

from . import _categorical, _core
from ._validation import (
    PyParam,
    check_fit_data,
    check_X,
    class_weight_args,
    make_params,
    params_from_fields,
    sample_weights,
)
from .exceptions import InvalidInputError, InvalidParamsError, ModelFormatError, NotFittedError
from .pipeline import restore_n_threads

__all__ = ["GradientBoostingClassifier"]

_FLOAT_DTYPES = (np.float64, np.float32)
# The C++ defaults: every default below is read from here, never written a second time.
_D = _core.GBDTParams()


def _check_fitted(est):
    if not hasattr(est, "_model"):
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet; call 'fit' with appropriate "
            "arguments before using this estimator."
        )


def _seed(random_state):
    """scikit-learn's random_state (None, int, RandomState, Generator) -> a uint64 seed. None
    means the fixed seed 0, so refits are reproducible (the C++ default)."""
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParamsError(
                f"random_state must be None, a non-negative int or a RandomState, got {random_state}."
            )
        return int(random_state) % (2**64)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise InvalidParamsError(
        f"random_state must be None, a non-negative int or a RandomState, got {random_state!r}."
    )


_PYTHON_SPELLED = {
    "max_depth": PyParam(None, "int or None, default=None\n"
                         "Depth limit of each tree, >= 1; None = unlimited."),
    "class_weight": PyParam(None, 'None, "balanced" or dict {label: weight}, default=None\n'
                            "Weight of each class; dict keys are the labels in ``classes_``."),
    "monotonic_cst": PyParam(None, "None, array of {-1, 0, 1} per feature or dict {name: cst}, "
                             "default=None\n"
                             "Monotonic constraint per feature (0 = none)."),
    "early_stopping": PyParam(_D.early_stopping, 'bool or "auto", default=False\n'
                              "Stop when the validation loss stops improving (``\"auto\"``: on "
                              "when n_samples > 10000, as scikit-learn). Uses ``eval_set`` when "
                              "given to ``fit``, else a stratified ``validation_fraction`` of the "
                              "training data."),
    "categorical_features": PyParam(None, "None, array of int, array of bool or array of str, "
                                    "default=None\n"
                                    "Columns split by category sets (scikit-learn "
                                    "HistGradientBoosting convention): indices, a boolean mask "
                                    "of length n_features, or feature names (X with named "
                                    "columns). Their values are integer codes 0..K-1, NaN = "
                                    "missing; codes unseen in training route as missing."),
    "code_hierarchy": PyParam(None, "None or dict {column name or position: None, [] or prefix "
                              "lengths}, default=None\n"
                              "Code hierarchies of label columns (None or [] = dotted codes, "
                              "250.01 -> 250.0 -> 250; else prefix lengths): such a column is "
                              "categorical, labels with fewer than ``hierarchy_min_count`` rows "
                              "are pooled into an ancestor, and target statistics "
                              "(``cat_encoding``) also use each ancestor level."),
    "hierarchy_min_count": PyParam(10, "int, default=10\n"
                                   "With ``code_hierarchy``: a label with fewer training rows is "
                                   "pooled into its nearest ancestor."),
    "random_state": PyParam(None, "None, int, RandomState or Generator, default=None\n"
                            "Seed of the row/feature sampling and the validation split; None = "
                            "seed 0 (reproducible)."),
}


def _groups(groups, n):
    """Group ids as float64 (any hashable labels: numbered by first appearance), or None."""
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise InvalidInputError(
            f"GradientBoostingClassifier.fit: groups has shape {g.shape} but X has {n} rows; pass "
            "one group (patient) id per row."
        )
    if g.dtype.kind in "fiub":
        return np.ascontiguousarray(g, dtype=np.float64)
    _, inverse = np.unique(g.astype(str), return_inverse=True)
    return inverse.astype(np.float64)


@params_from_fields(_core.GBDTParams, python=_PYTHON_SPELLED)
class GradientBoostingClassifier(ClassifierMixin, BaseEstimator):
    """Classifier by histogram gradient boosting of regression trees: binary (log-loss) or
    multiclass (softmax loss, one tree per class per round, as scikit-learn's
    HistGradientBoostingClassifier).

    Features are quantile-binned (at most ``max_bins`` value bins plus one missing bin); trees
    grow leaf-wise up to ``max_leaf_nodes`` from gradient histograms (LightGBM-style), missing
    values (NaN) go to the side each split learned. The fitted trees score raw rows directly
    (thresholds are feature values), in C++ with the GIL released; float32 and float64 arrays of
    any memory order are used without copying. Training is deterministic: same data, parameters
    and ``random_state`` give the same model whatever ``n_threads`` is.

    The parameters are the fields of ``calibrisk._core.GBDTParams`` (scikit-learn / LightGBM
    names, C++ defaults and docs), plus the Python spellings of ``max_depth``, ``class_weight``,
    ``monotonic_cst``, ``categorical_features``, ``early_stopping`` and ``random_state``.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (when X has string column names),
    n_iter_ (rounds run), best_iteration_ (trees kept), feature_importances_ (total split gain
    per feature, normalised to sum to 1), validation_loss_ (per round, with a validation set),
    fit_notes_ (non-fatal remarks of the fit; all but early-stopping notes are also warned).
    """

    # ------------------------------------------------------------------ parameters
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    @staticmethod
    def _int_param(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidParamsError(f"{name} must be an int, got {value!r}.")
        return int(value)

    def _monotonic_list(self, n_features):
        cst = self.monotonic_cst
        if cst is None:
            return []
        if isinstance(cst, dict):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise InvalidParamsError(
                    "monotonic_cst is a dict but X has no feature names; pass a list with one "
                    "value per feature, or fit on a DataFrame with named columns."
                )
            index = {name: i for i, name in enumerate(names)}
            out = [0] * n_features
            for key, value in cst.items():
                if key not in index:
                    raise InvalidParamsError(
                        f"monotonic_cst names feature {key!r}, which is not a column of X."
                    )
                out[index[key]] = value
            cst = out
        arr = np.asarray(cst)
        if arr.ndim != 1 or arr.shape[0] != n_features:
            raise InvalidParamsError(
                f"monotonic_cst has shape {arr.shape} but X has {n_features} features; pass one "
                "value in {-1, 0, 1} per feature."
            )
        if not np.all(np.isin(arr, [-1, 0, 1])):
            raise InvalidParamsError(
                f"monotonic_cst values must be -1, 0 or 1, got {sorted(set(arr.tolist()))}."
            )
        return [int(v) for v in arr]

    def _model_categorical(self, n_features):
        """The model's categorical columns: those of categorical_features and the label columns
        encoded at fit (pandas category / text columns)."""
        enc = getattr(self, "categorical_encoding_", None)
        return sorted(set(self._categorical_list(n_features)) | set(enc.indices if enc else []))

    def _categorical_list(self, n_features):
        """categorical_features as column indices (None -> [])."""
        cat = self.categorical_features
        if cat is None:
            return []
        if isinstance(cat, str):
            cat = [cat]
        arr = np.asarray(list(cat) if not isinstance(cat, np.ndarray) else cat)
        if arr.size == 0:
            return []
        if arr.ndim != 1:
            raise InvalidParamsError(
                f"categorical_features must be 1-D (indices, a boolean mask or names), got shape "
                f"{arr.shape}."
            )
        if arr.dtype == bool:
            if arr.shape[0] != n_features:
                raise InvalidParamsError(
                    f"categorical_features is a boolean mask of length {arr.shape[0]} but X has "
                    f"{n_features} features; pass one flag per feature."
                )
            return [int(i) for i in np.flatnonzero(arr)]
        if arr.dtype.kind in "OUS":
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise InvalidParamsError(
                    "categorical_features holds names but X has no feature names; pass column "
                    "indices, or fit on a DataFrame with named columns."
                )
            index = {name: i for i, name in enumerate(names)}
            out = []
            for name in arr.tolist():
                if name not in index:
                    raise InvalidParamsError(
                        f"categorical_features names feature {name!r}, which is not a column of X."
                    )
                out.append(index[name])
            return out
        if arr.dtype.kind not in "iu":
            raise InvalidParamsError(
                f"categorical_features must hold column indices, a boolean mask or names, got "
                f"{arr.dtype} values."
            )
        out = []
        for i in arr.tolist():
            if i < -n_features or i >= n_features:
                raise InvalidParamsError(
                    f"categorical_features lists column {i} but X has {n_features} features."
                )
            out.append(int(i) % n_features)
        return out

    def _early_stopping(self, n_samples):
        es = self.early_stopping
        if isinstance(es, str):
            if es != "auto":
                raise InvalidParamsError(
                    f"early_stopping must be True, False or 'auto', got {es!r}."
                )
            return n_samples > 10000
        if not isinstance(es, (bool, np.bool_)):
            raise InvalidParamsError(f"early_stopping must be True, False or 'auto', got {es!r}.")
        return bool(es)

    def _make_params(self, n_features, n_samples=0, seed=None):
        """The C++ GBDTParams of this estimator: one pass over the declared fields
        (``_core.GBDTParams.fields``); the fields with a scikit-learn spelling (None for
        "unlimited", dicts, "auto", RandomState) are converted first."""
        special = {
            "max_depth": lambda: self._max_depth(),
            "class_weight": None,  # set below through set_class_weight
            "monotonic_cst": lambda: self._monotonic_list(n_features),
            "categorical_features": lambda: self._model_categorical(n_features),
            "early_stopping": lambda: self._early_stopping(n_samples),
            "random_state": lambda: _seed(self.random_state) if seed is None else seed,
        }
        p = make_params(self, _core.GBDTParams, special)
        n_classes = len(getattr(self, "classes_", ()))
        if n_classes > 2 and isinstance(self.class_weight, dict):
            # One multiplier per class index (classes missing from the dict get 1).
            by_index = self._class_weight_by_index()
            p.set_class_weight_per_class(
                [float(by_index.get(k, 1.0)) for k in range(n_classes)])
        elif n_classes > 2 and self.class_weight not in (None, "balanced"):
            raise InvalidParamsError(
                f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got "
                f"{self.class_weight!r}."
            )
        else:
            kind, w0, w1 = class_weight_args(self._class_weight_by_index())
            p.set_class_weight(kind, w0, w1)
        p.validate()
        return p

    def _max_depth(self):
        if self.max_depth is None:
            return -1
        depth = self._int_param("max_depth", self.max_depth)
        if depth < 1:
            raise InvalidParamsError(
                f"max_depth must be None (unlimited) or >= 1, got {self.max_depth}."
            )
        return depth

    def _class_weight_by_index(self):
        """class_weight keyed by the original labels -> keyed by 0 / 1 (index in classes_)."""
        cw = self.class_weight
        if not isinstance(cw, dict) or not hasattr(self, "classes_"):
            return cw
        out = {}
        for key, value in cw.items():
            hits = np.flatnonzero(self.classes_ == key) if self.classes_.dtype != object else [
                i for i, c in enumerate(self.classes_) if c == key]
            if len(hits) == 0:
                raise InvalidParamsError(
                    f"class_weight has key {key!r} which is not a class; the classes are "
                    f"{list(self.classes_)}."
                )
            out[int(hits[0])] = value
        return out

    # ------------------------------------------------------------------ data
    def _encode_y(self, y, where):
        y = np.asarray(y)
        if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
            raise InvalidInputError(f"{where}: y contains NaN or infinity; pass finite labels.")
        if y.ndim != 1:
            y = np.ravel(y)
        pos = np.searchsorted(self.classes_, y)
        pos_c = np.clip(pos, 0, len(self.classes_) - 1)
        unknown = self.classes_[pos_c] != y
        if np.any(unknown):
            bad = y[np.flatnonzero(unknown)[0]]
            raise InvalidInputError(
                f"{where}: label {bad!r} is not one of the training classes {list(self.classes_)}."
            )
        return pos_c.astype(np.float64)

    def _validate_X(self, X, reset):
        # Fast path for the common deployment call (a float ndarray with the fitted width and no
        # column names to check): scikit-learn's validation would only re-check dtype and shape,
        # and costs ~60 us, twenty times the prediction of one row.
        if not reset:
            X = _categorical.transform(self, X, "GradientBoostingClassifier")
        if (
            not reset
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in _FLOAT_DTYPES
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            return X
        return check_X(self, X, reset=reset, where="GradientBoostingClassifier")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, eval_set=None, groups=None):
        """Fits the trees.

        X : (n_samples, n_features) array-like; float32/float64 arrays are used in place. NaN
            means missing; infinity is rejected.
        y : two or more distinct labels (any type), sorted into ``classes_``; with two,
            ``classes_[1]`` is the positive class; with K > 2, softmax boosting grows K trees per
            round.
        sample_weight : None or (n_samples,) non-negative weights.
        eval_set : None, (X_val, y_val), (X_val, y_val, w_val) or a list with one such tuple —
            a validation set for the per-round loss and early stopping.
        groups : None or (n_samples,) group (patient) ids: the target-statistic folds of
            high-cardinality categorical columns are grouped, so a patient's other rows never
            inform its own rows' statistics.
        """
        X = _categorical.fit_transform(self, X, "GradientBoostingClassifier.fit")
        X, y = check_fit_data(self, X, y, where="GradientBoostingClassifier.fit")
        classes = np.unique(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise InvalidInputError(
                f"GradientBoostingClassifier.fit: y is {type_of_target(y)!r}; pass one class "
                "label per row (binary or multiclass)."
            )
        if len(classes) < 2:
            raise InvalidInputError(
                f"GradientBoostingClassifier.fit: y contains only one class "
                f"({classes[0].item() if hasattr(classes[0], 'item') else classes[0]!r}); both "
                "classes are needed to train."
            )
        self.classes_ = classes
        y01 = self._encode_y(y, "GradientBoostingClassifier.fit")
        sample_weight = sample_weights(sample_weight, X.shape[0], "GradientBoostingClassifier.fit")
        params = self._make_params(X.shape[1], X.shape[0])
        model = _core.GradientBoostedTrees(params)
        side = {"groups": _groups(groups, X.shape[0]), "code_ancestry": self._code_ancestry(),
                "n_classes": len(classes)}
        if eval_set is None:
            model.fit(X, y01, sample_weight, **side)
        else:
            Xv, yv, wv = self._eval_set(eval_set)
            model.fit(X, y01, sample_weight, Xv, yv, wv, **side)
        self._model = model
        self._explainer = None
        self._explainers = None
        self.n_iter_ = int(model.n_iter)
        self.best_iteration_ = int(model.best_iteration)
        self.validation_loss_ = np.asarray(model.validation_loss)
        self.fit_notes_ = list(model.fit_notes)
        for note in self.fit_notes_:
            # Stopping early is the requested behaviour, not something to warn about.
            if not note.startswith("early stopping"):
                warnings.warn(f"GradientBoostingClassifier.fit: {note}", UserWarning, stacklevel=2)
        return self

    def _code_ancestry(self):
        """{column: ancestor groups per hierarchy level} of the label columns with a declared
        code hierarchy, or (``cat_ts_infer_hierarchy``) labels that are mostly dotted codes:
        their target statistics also use each level. None when there is none."""
        enc = getattr(self, "categorical_encoding_", None)
        out = {}
        infer = getattr(self, "cat_ts_infer_hierarchy", True)
        for j, lev in zip(enc.indices if enc else [], enc.levels if enc else []):
            labels = list(lev.labels)
            hierarchy = lev.hierarchy
            if hierarchy is None and infer:
                hierarchy = _core.inferred_code_hierarchy(labels)
            if hierarchy is not None:
                levels = _core.code_ancestor_levels(labels, hierarchy)
                if levels:
                    out[int(j)] = levels
        return out or None

    def _eval_set(self, eval_set):
        if isinstance(eval_set, list):
            if len(eval_set) != 1:
                raise InvalidInputError(
                    f"eval_set is a list of {len(eval_set)} sets; pass exactly one "
                    "(X_val, y_val[, sample_weight_val])."
                )
            eval_set = eval_set[0]
        if not isinstance(eval_set, tuple) or len(eval_set) not in (2, 3):
            raise InvalidInputError(
                "eval_set must be (X_val, y_val) or (X_val, y_val, sample_weight_val)."
            )
        Xv = self._validate_X(eval_set[0], reset=False)
        yv = self._encode_y(eval_set[1], "GradientBoostingClassifier.fit: eval_set")
        wv = None
        if len(eval_set) == 3 and eval_set[2] is not None:
            wv = sample_weights(eval_set[2], Xv.shape[0], "GradientBoostingClassifier.fit: eval_set")
        return Xv, yv, wv

    # ------------------------------------------------------------------ predict
    def decision_function(self, X):
        """Raw scores: binary, the margin (log-odds of ``classes_[1]``) per row, shape
        (n_samples,); multiclass, one raw score per class, shape (n_samples, n_classes)
        (the softmax of a row gives ``predict_proba``)."""
        _check_fitted(self)
        X = self._validate_X(X, reset=False)
        if len(self.classes_) > 2:
            return self._model.decision_matrix(X)
        return self._model.decision_function(X)

    def predict_proba(self, X):
        """(n_samples, n_classes): the probability of each class of ``classes_``; rows sum to
        1."""
        _check_fitted(self)
        X = self._validate_X(X, reset=False)
        if len(self.classes_) > 2:
            return self._model.predict_proba_matrix(X)
        p = self._model.predict_proba(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Class labels: binary, ``classes_[1]`` where P(classes_[1]) > 0.5, else
        ``classes_[0]``; multiclass, the most probable class (the first on ties)."""
        P = self.predict_proba(X)
        if P.shape[1] > 2:
            return self.classes_[np.argmax(P, axis=1)]
        return self.classes_[(P[:, 1] > 0.5).astype(np.intp)]

    def contributions(self, X):
        """Exact path-dependent TreeSHAP contributions (Lundberg et al. 2018) to the raw scores.

        Binary: shape (n_samples, n_features + 1), the bias (expected margin) last; each row sums
        to ``decision_function(X)`` for that row. Multiclass: shape (n_samples, n_classes,
        n_features + 1); ``[:, k, :]`` explains class k's raw score from class k's trees (bias =
        class k's expected raw score) and sums to ``decision_function(X)[:, k]``."""
        _check_fitted(self)
        X = self._validate_X(X, reset=False)
        n_threads = self._int_param("n_threads", self.n_threads)
        if len(self.classes_) > 2:
            if getattr(self, "_explainers", None) is None:
                self._explainers = [_core.TreeExplainer(self._model, k)
                                    for k in range(len(self.classes_))]
            return np.stack([e.contributions(X, n_threads) for e in self._explainers], axis=1)
        if getattr(self, "_explainer", None) is None:
            self._explainer = _core.TreeExplainer(self._model)
        return self._explainer.contributions(X, n_threads)

    @property
    def feature_importances_(self):
        """Total split gain per feature, normalised to sum to 1 (all zeros for a model without
        splits)."""
        _check_fitted(self)
        gain = np.asarray(self._model.feature_importance("gain"), dtype=np.float64)
        total = gain.sum()
        return gain / total if total > 0 else gain

    def feature_importance(self, importance_type="gain"):
        """Unnormalised importance per feature: "gain" (total split gain) or "split" (count)."""
        _check_fitted(self)
        return np.asarray(self._model.feature_importance(importance_type), dtype=np.float64)

    # ------------------------------------------------------------------ pickling
    # The fitted C++ model pickles as its codec bytes (the "model" section of a pipeline file);
    # the TreeSHAP explainer is rebuilt on demand.
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_explainer", None)
        state.pop("_explainers", None)
        return state

    def __setstate__(self, state):
        if "_model_state" in state:
            raise ModelFormatError(
                "GradientBoostingClassifier: this pickle was written by an earlier calibrisk "
                "release (a state dict, not the codec bytes this release reads); refit the model, "
                "or keep models as pipeline files (Pipeline.save), which later releases load."
            )
        self.__dict__.update(state)
        self._explainer = None
        self._explainers = None
        restore_n_threads(self)
