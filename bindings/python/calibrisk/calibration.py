# SPDX-License-Identifier: Apache-2.0
"""Probability calibration: Platt, isotonic, beta and Venn-ABERS calibrators over scores, prior
correction, the multiclass calibrators (temperature scaling, one-vs-rest, Dirichlet) and
``CalibratedClassifier`` (cross-fitted calibration of any binary or multiclass classifier).

Every binary calibrator has one shape: ``fit(scores, y, sample_weight=None)`` then
``predict(scores)`` (alias ``transform``) returning calibrated probabilities of class 1. The
multiclass calibrators take (n, K) scores and return (n, K) probabilities from ``predict_proba``.
The work is done in C++ (``include/calibrisk/calibration/``) with the GIL released.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from . import _core
from ._validation import (
    PyParam,
    group_codes,
    make_params,
    params_from_fields,
    quote,
    sample_weights,
)
from .exceptions import InvalidInputError, InvalidParamsError, ModelFormatError, NotFittedError
from .pipeline import saved_state

# The C++ defaults (declared once in the Params structs); every default below is read from here.
# The calibrators' parameters are the fields of their Params struct (params_from_fields).
_CALIBRATED = _core.CalibratedParams()

__all__ = [
    "PlattCalibrator",
    "IsotonicCalibrator",
    "BetaCalibrator",
    "VennAbersCalibrator",
    "TemperatureScaling",
    "OneVsRestCalibrator",
    "DirichletCalibrator",
    "CalibratedClassifier",
    "prior_correction",
]


def _as_scores(scores, where):
    """1-D float64 scores; an (n, 1) column is accepted as scikit-learn's IsotonicRegression does."""
    a = np.asarray(scores)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise InvalidInputError(
            f"{where}: scores must be 1-D (or one column), got shape {a.shape}; "
            "pass the positive-class score or probability of each sample."
        )
    return a




class _BaseCalibrator(BaseEstimator):
    """fit / predict / transform over the C++ calibrator made by ``_make`` (by default
    ``_CORE(params)``, the params made from the fields of ``_PARAMS``)."""

    def fit(self, scores, y, sample_weight=None):
        """Fits on ``scores`` (n,), labels ``y`` in {0, 1} (n,), optional ``sample_weight`` (n,)."""
        where = f"{type(self).__name__}.fit"
        scores = _as_scores(scores, where)
        cal = self._make()
        cal.fit(scores, np.asarray(y), sample_weights(sample_weight, len(scores), where))
        self._cal = cal
        self._after_fit()
        return self

    def _after_fit(self):
        pass

    def _special(self):
        return {}

    def _make(self):
        """The C++ calibrator built from this estimator's Params (one pass over the fields)."""
        params = make_params(self, self._PARAMS, self._special(), f"{type(self).__name__}: ")
        return self._CORE(params)

    def _fitted(self):
        if getattr(self, "_cal", None) is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(scores, y) first."
            )
        return self._cal

    def predict(self, scores):
        """Calibrated probability of class 1 for each score, shape (n,)."""
        cal = self._fitted()
        return cal.predict(_as_scores(scores, f"{type(self).__name__}.predict"))

    def transform(self, scores):
        """Alias of :meth:`predict`."""
        return self.predict(scores)

    def __sklearn_is_fitted__(self):
        return getattr(self, "_cal", None) is not None

    # Pickling stores the fitted C++ calibrator as its codec bytes (the "calibrator" section of a
    # pipeline file, ``self._cal.to_bytes()``); the other attributes pickle as plain values.
    def __setstate__(self, state):
        if "_cal_state" in state:
            raise ModelFormatError(
                f"{type(self).__name__}: this pickle was written by an earlier calibrisk release "
                "(a state tuple, not the codec bytes this release reads); refit the calibrator."
            )
        self.__dict__.update(state)


@params_from_fields(_core.PlattParams)
class PlattCalibrator(_BaseCalibrator):
    """Platt scaling p = sigmoid(a * s + b) (Platt 2000), fitted by the safeguarded Newton method
    of Lin, Lin & Weng (2007) on Platt's smoothed targets.

    Attributes: ``a_``, ``b_``, ``n_iter_``, ``objective_``.
    """

    _PARAMS = _core.PlattParams
    _CORE = _core._PlattCalibrator

    def _after_fit(self):
        c = self._cal
        self.a_, self.b_ = c.a, c.b
        self.n_iter_ = c.n_iter
        self.objective_ = c.objective
        for note in c.notes:
            warnings.warn(note, RuntimeWarning, stacklevel=3)


@params_from_fields(_core.IsotonicParams, python={
    "y_min": PyParam(None, "float or None, default=None\nLower bound of the fitted values; "
                     "None = unbounded."),
    "y_max": PyParam(None, "float or None, default=None\nUpper bound of the fitted values; "
                     "None = unbounded."),
})
class IsotonicCalibrator(_BaseCalibrator):
    """Isotonic calibration by weighted pool-adjacent-violators (Zadrozny & Elkan 2002), equal to
    scikit-learn's ``IsotonicRegression(out_of_bounds="clip")`` to rounding, fitted after one
    radix sort.

    Attributes: ``X_thresholds_``, ``y_thresholds_`` (the stored knots), ``X_min_``, ``X_max_``.
    """

    _PARAMS = _core.IsotonicParams
    _CORE = _core._IsotonicCalibrator

    def _special(self):
        return {"y_min": lambda: -np.inf if self.y_min is None else float(self.y_min),
                "y_max": lambda: np.inf if self.y_max is None else float(self.y_max)}

    def _after_fit(self):
        state = saved_state(self._cal)
        self.X_thresholds_ = np.asarray(state["x"], dtype=np.float64)
        self.y_thresholds_ = np.asarray(state["y"], dtype=np.float64)
        self.X_min_, self.X_max_ = float(self.X_thresholds_[0]), float(self.X_thresholds_[-1])


@params_from_fields(_core.BetaParams)
class BetaCalibrator(_BaseCalibrator):
    """Beta calibration (Kull, Silva Filho & Flach 2017): p' = sigmoid(a ln p - b ln(1 - p) + c)
    with a, b >= 0, fitted as an unpenalised logistic regression on [ln p, -ln(1 - p)]; a negative
    coefficient's feature is dropped and the model refitted, as in the paper. Scores must be
    probabilities in [0, 1].

    Attributes: ``a_``, ``b_``, ``c_``.
    """

    _PARAMS = _core.BetaParams
    _CORE = _core._BetaCalibrator

    def _after_fit(self):
        state = saved_state(self._cal)
        self.a_, self.b_, self.c_ = float(state["a"]), float(state["b"]), float(state["c"])
        for note in self._cal.notes:
            if "refitted" not in note:
                warnings.warn(note, RuntimeWarning, stacklevel=3)


class VennAbersCalibrator(_BaseCalibrator):
    """Inductive Venn-ABERS predictor (Vovk & Petej 2014) computed for all test scores from the
    calibration set's cumulative sum diagram (Vovk, Petej & Fedorova 2015).

    ``predict`` returns the merged probability p1 / (1 - p0 + p1); ``predict_interval`` returns
    (p0, p1), whose width p1 - p0 flags predictions the calibration set cannot pin down.
    """

    def __init__(self):
        pass

    def _make(self):
        return _core._VennAbersCalibrator()

    def predict_interval(self, scores):
        """(p0, p1): isotonic values at each score with the score added to the calibration set
        with label 0 and with label 1; p0 <= p1."""
        cal = self._fitted()
        p0, p1, _ = cal.predict_interval(_as_scores(scores, "VennAbersCalibrator.predict_interval"))
        return p0, p1


def prior_correction(p, w0, w1):
    """Prior correction (King & Zeng 2001) of probabilities from a model trained with class
    weights w0 (class 0) and w1 (class 1), ``scale_pos_weight = w1 / w0`` or class 1 resampled
    w1/w0 times: the logit is shifted by -ln(w1 / w0), returning the probabilities to the
    population's prevalence without a calibration set.
    """
    return _core._prior_correction(np.asarray(p, dtype=np.float64).ravel(), float(w0), float(w1))


# --------------------------------------------------------------------------- multiclass

_INPUT_DOC = (
    "{'auto', 'margin', 'probability'}, default='auto'\n"
    "What the (n, K) scores are: logits / decision values ('margin') or probabilities whose "
    "rows sum to 1; 'auto' decides as scikit-learn's temperature scaling does (every entry in "
    "[0, 1] and every row summing to 1 means probabilities)."
)


def _looks_like_probabilities(S):
    """scikit-learn's ``_convert_to_logits`` test: entries in [0, 1] and rows summing to 1."""
    return bool(np.all((S >= 0) & (S <= 1)) and np.all(np.isclose(S.sum(axis=1), 1.0)))


def _as_class_scores(scores, where, allow_1d=False):
    """(n, K) float64 scores; with ``allow_1d`` a 1-D binary decision function d becomes the
    two-class logits (-d, d), as scikit-learn's temperature scaling."""
    S = np.asarray(scores, dtype=np.float64) if not hasattr(scores, "dtype") else np.asarray(scores)
    if S.ndim == 1 and allow_1d:
        S = np.column_stack([-S, S]).astype(np.float64)
    if S.ndim != 2:
        raise InvalidInputError(
            f"{where}: scores must be 2-D (n_samples, n_classes), got shape {np.shape(S)}; pass "
            "predict_proba or decision_function output with one column per class."
        )
    return S


def _class_indices(y, n_classes, classes, where):
    """Labels as class indices 0..K-1 (float64) and the classes they index. With ``classes``
    (the model's classes_, sorted), labels are looked up in it; else labels must already be
    integer indices in [0, K)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidInputError(f"{where}: y must be 1-D, got shape {y.shape}.")
    if classes is None:
        if y.dtype.kind not in "iubf" or (y.dtype.kind == "f" and not np.all(y == np.floor(y))):
            raise InvalidInputError(
                f"{where}: y holds labels {quote(_plain(y[0]) if y.size else None)}...; pass "
                "classes=model.classes_ (the column order of the scores) to map labels to columns."
            )
        classes = np.arange(n_classes)
        idx = y.astype(np.float64)
    else:
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.size != n_classes:
            raise InvalidInputError(
                f"{where}: classes has {classes.size} entries but the scores have {n_classes} "
                "columns; pass one class per column."
            )
        pos = np.searchsorted(classes, y)
        pos = np.clip(pos, 0, n_classes - 1)
        bad = np.flatnonzero(classes[pos] != y)
        if bad.size:
            raise InvalidInputError(
                f"{where}: y[{int(bad[0])}] = {quote(_plain(y[bad[0]]))} is not one of classes "
                f"{classes.tolist()[:10]}."
            )
        idx = pos.astype(np.float64)
    return idx, classes


class _MulticlassCalibrator(BaseEstimator):
    """fit(scores (n, K), y) / predict_proba(scores) over the C++ calibrator ``_CORE``."""

    _ALLOW_1D = False

    def _input_kind(self, S, where):
        kind = self.input
        if kind == "auto":
            if getattr(self, "method", None) == "beta":  # beta calibrates probabilities only
                return "probability"
            return "probability" if _looks_like_probabilities(S) else "margin"
        if kind not in ("margin", "probability"):
            raise InvalidParamsError(
                f"{where}: input must be 'auto', 'margin' or 'probability', got {quote(kind)}."
            )
        return kind

    def fit(self, scores, y, sample_weight=None, classes=None):
        """Fits on (n, K) ``scores`` (logits or probabilities; columns in class order), labels
        ``y`` (class indices 0..K-1, or labels of ``classes``) and optional ``sample_weight``."""
        where = f"{type(self).__name__}.fit"
        S = _as_class_scores(scores, where, self._ALLOW_1D)
        idx, self.classes_ = _class_indices(y, S.shape[1], classes, where)
        kind = self._input_kind(S, where)
        params = make_params(self, self._PARAMS, {"input": lambda: kind}, f"{type(self).__name__}: ")
        cal = self._CORE(params)
        cal.fit(S, idx, sample_weights(sample_weight, len(idx), where))
        self._cal = cal
        self.input_ = kind
        self.n_classes_ = S.shape[1]
        for note in cal.notes:
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        self._after_fit()
        return self

    def _after_fit(self):
        pass

    def _fitted(self):
        if getattr(self, "_cal", None) is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(scores, y) first."
            )
        return self._cal

    def predict_proba(self, scores):
        """Calibrated probabilities, shape (n, K), columns in ``classes_`` order."""
        cal = self._fitted()
        where = f"{type(self).__name__}.predict_proba"
        return cal.predict_proba(_as_class_scores(scores, where, self._ALLOW_1D))

    def predict(self, scores):
        """The class of highest calibrated probability."""
        return self.classes_[np.argmax(self.predict_proba(scores), axis=1)]

    def __sklearn_is_fitted__(self):
        return getattr(self, "_cal", None) is not None


@params_from_fields(_core.TemperatureParams, python={"input": PyParam("auto", _INPUT_DOC)})
class TemperatureScaling(_MulticlassCalibrator):
    """Temperature scaling (Guo et al. 2017): softmax(z / T) with one temperature T fitted by
    weighted log loss, exactly scikit-learn >= 1.8's ``CalibratedClassifierCV(method=
    "temperature")``: z are the logits, or log(p + eps) for probabilities; a 1-D binary
    decision function d is taken as the logits (-d, d). Keeps the arg max (accuracy unchanged).

    Attributes: ``temperature_``, ``beta_`` (= 1 / T, scikit-learn's attribute), ``classes_``,
    ``input_``.
    """

    _PARAMS = _core.TemperatureParams
    _CORE = _core._TemperatureScaling
    _ALLOW_1D = True

    def _after_fit(self):
        self.temperature_ = float(self._cal.temperature)
        self.beta_ = float(self._cal.beta)


@params_from_fields(_core.OneVsRestParams, python={"input": PyParam("auto", _INPUT_DOC)})
class OneVsRestCalibrator(_MulticlassCalibrator):
    """One-vs-rest calibration as scikit-learn's multiclass ``CalibratedClassifierCV``: a
    sigmoid (Platt), isotonic or beta calibrator per class on its column against "this class or
    not", then each row divided by its sum (a row of zeros becomes uniform). Every class needs
    calibration rows in and out of it.

    Attributes: ``classes_``, ``input_``, ``calibrators_`` (the saved per-class states).
    """

    _PARAMS = _core.OneVsRestParams
    _CORE = _core._OneVsRestCalibrator

    def _after_fit(self):
        state = saved_state(self._cal)
        self.calibrators_ = state["calibrators"]


@params_from_fields(_core.DirichletParams, python={"input": PyParam("auto", _INPUT_DOC)})
class DirichletCalibrator(_MulticlassCalibrator):
    """Dirichlet calibration (Kull et al. 2019): softmax(W ln p + b), a multinomial logistic
    regression on the log-probabilities with ODIR regularisation (off-diagonal entries of W
    weighted by ``reg_lambda``, intercepts by ``reg_mu``), solved exactly by Newton's method.
    Nests temperature scaling; handles class-specific over- and under-confidence and confusion
    between pairs of classes. K <= 32.

    Attributes: ``coef_`` (K, K), ``intercept_`` (K,), ``classes_``, ``input_``, ``objective_``.
    """

    _PARAMS = _core.DirichletParams
    _CORE = _core._DirichletCalibrator

    def _after_fit(self):
        self.coef_ = np.asarray(self._cal.coef)
        self.intercept_ = np.asarray(self._cal.intercept)
        self.objective_ = float(self._cal.objective)


# --------------------------------------------------------------------------- cross-fitting

_METHODS = {
    "sigmoid": PlattCalibrator,
    "isotonic": IsotonicCalibrator,
    "beta": BetaCalibrator,
    "venn_abers": VennAbersCalibrator,
    "temperature": TemperatureScaling,
    "dirichlet": DirichletCalibrator,
}

# Methods that calibrate all K columns at once (also for two classes); the binary methods
# become one-vs-rest for K >= 3.
_MULTICLASS_ONLY = ("temperature", "dirichlet")


class _CalibratedMember:
    """One fitted (estimator, calibrator) pair of a CalibratedClassifier."""

    def __init__(self, estimator, calibrator, score_kind):
        self.estimator = estimator
        self.calibrator = calibrator
        self.score_kind = score_kind

    def positive_probability(self, X):
        return self.calibrator.predict(_scores(self.estimator, X, self.score_kind))

    def predict_proba(self, X):
        p = self.positive_probability(X)
        return np.column_stack([1.0 - p, p])


class _MulticlassMember:
    """One fitted (estimator, multiclass calibrator) pair of a CalibratedClassifier."""

    def __init__(self, estimator, calibrator, score_kind):
        self.estimator = estimator
        self.calibrator = calibrator
        self.score_kind = score_kind

    def predict_proba(self, X):
        return self.calibrator.predict_proba(_class_scores(self.estimator, X, self.score_kind))


def _multiclass_score_kind(estimator, method):
    """scikit-learn's response order: decision_function, else predict_proba (Dirichlet and beta
    calibrate probabilities, so they take predict_proba)."""
    if method not in ("dirichlet", "beta") and hasattr(estimator, "decision_function"):
        return "margin"
    if hasattr(estimator, "predict_proba"):
        return "probability"
    raise InvalidParamsError(
        f"CalibratedClassifier: the estimator {type(estimator).__name__} has "
        + ("no predict_proba" if method in ("dirichlet", "beta")
           else "neither decision_function nor predict_proba")
        + f" (method {method!r} needs it); pass a classifier that scores samples."
    )


def _class_scores(estimator, X, kind):
    """(n, K) scores; a binary decision function d becomes the logits (-d, d)."""
    if kind == "margin":
        s = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if s.ndim == 1:
            s = np.column_stack([-s, s])
        return s
    return np.asarray(estimator.predict_proba(X), dtype=np.float64)


def _score_kind(estimator, method):
    if method != "beta" and hasattr(estimator, "decision_function"):
        return "margin"
    if hasattr(estimator, "predict_proba"):
        return "probability"
    raise InvalidParamsError(
        f"CalibratedClassifier: the estimator {type(estimator).__name__} has neither "
        "decision_function nor predict_proba"
        + ("" if method != "beta" else " (beta calibration needs predict_proba)")
        + "; pass a classifier that scores samples."
    )


def _scores(estimator, X, kind):
    if kind == "margin":
        s = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if s.ndim == 2:
            s = s[:, -1] if s.shape[1] == 1 else s[:, 1] - s[:, 0]
        return s
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    return proba[:, 1]


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _shape_text(X, n):
    """'n_samples=10, n_features=1' for error messages (the shape when X is not 2-D)."""
    from sklearn.utils.validation import _num_features

    try:
        return f"n_samples={n}, n_features={_num_features(X)}"
    except TypeError:
        return f"shape {np.shape(X)}"


def _fold_indices(part, n, f, name):
    """One side of a (train, test) pair as a 1-D array of row indices in [0, n)."""
    a = np.asarray(part)
    if a.dtype == bool and a.ndim == 1 and a.shape[0] == n:  # a boolean mask, as sklearn allows
        a = np.flatnonzero(a)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"CalibratedClassifier.fit: the {name} part of fold {f} must be a 1-D array of row "
            f"indices, got shape {a.shape} and dtype {a.dtype}."
        )
    if a.size == 0:
        raise InvalidInputError(
            f"CalibratedClassifier.fit: the {name} part of fold {f} is empty; every fold needs "
            "rows to fit on and rows to calibrate on."
        )
    bad = np.flatnonzero((a < 0) | (a >= n))
    if bad.size:
        raise InvalidInputError(
            f"CalibratedClassifier.fit: the {name} part of fold {f} holds row index "
            f"{int(a[bad[0]])}, outside [0, {n}) for X with {n} rows."
        )
    if np.unique(a).size != a.size:
        raise InvalidInputError(
            f"CalibratedClassifier.fit: the {name} part of fold {f} lists a row more than once."
        )
    return a.astype(np.intp)


def _check_folds(folds, y01, n, ensemble, n_classes=2, calibration_needs_all=True):
    """Validated list of (train, test) index arrays: indices in range, disjoint sides, every
    class on the fitting side (and on the calibration side for ensemble=True, unless
    ``calibration_needs_all`` is False: temperature scaling allows an absent class); with ensemble=False the test sides must partition the rows (every row gets one
    out-of-fold score). ``y01`` holds class indices 0..n_classes-1."""
    out = []
    for f, pair in enumerate(folds):
        try:
            tr, ca = pair
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"CalibratedClassifier.fit: fold {f} of cv is {quote(pair)}, not a "
                "(train_indices, test_indices) pair."
            ) from None
        tr, ca = _fold_indices(tr, n, f, "train"), _fold_indices(ca, n, f, "test")
        both = np.intersect1d(tr, ca)
        if both.size:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: row {int(both[0])} is in both the train and the test "
                f"part of fold {f} ({both.size} rows overlap); calibrating on rows the estimator "
                "was fitted on biases the probabilities."
            )
        if n_classes > 2:
            _require_all_classes(y01[tr], n_classes, f, "fitting")
            if ensemble and calibration_needs_all:
                _require_all_classes(y01[ca], n_classes, f, "calibration")
        if np.unique(y01[tr]).size < 2:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: the fitting part of fold {f} has one class "
                "only; use fewer folds or more samples of the rare class."
            )
        if ensemble and np.unique(y01[ca]).size < 2:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: the calibration part of fold {f} has one "
                "class only; use fewer folds or more samples of the rare class."
            )
        out.append((tr, ca))
    if not out:
        raise InvalidInputError(
            "CalibratedClassifier.fit: cv yielded no (train, test) pairs (a generator is used up "
            "by the first fit: pass a list to fit again)."
        )
    if not ensemble:
        seen = np.bincount(np.concatenate([ca for _, ca in out]), minlength=n)
        bad = np.flatnonzero(seen != 1)
        if bad.size:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: with ensemble=False the test parts must cover every "
                f"row exactly once, but row {int(bad[0])} is in {int(seen[bad[0]])} of them; "
                "use a partitioning cv (e.g. KFold) or ensemble=True."
            )
    return out


def _require_all_classes(y_idx, n_classes, f, side):
    missing = np.setdiff1d(np.arange(n_classes), np.unique(y_idx.astype(int)))
    if missing.size:
        extra = ("" if side == "fitting" else
                 " (one-vs-rest and Dirichlet calibration need every class; temperature "
                 "scaling allows an absent class)")
        raise InvalidInputError(
            f"CalibratedClassifier.fit: the {side} part of fold {f} has no row of class index "
            f"{int(missing[0])}{extra}; use fewer folds, stratified folds or more samples of "
            "the rare class."
        )


class CalibratedClassifier(ClassifierMixin, BaseEstimator):
    """Cross-fitted probability calibration of a binary or multiclass classifier.

    Parameters
    ----------
    estimator : unfitted scikit-learn compatible binary classifier (calibrisk's or
        scikit-learn's); with ``cv="prefit"``, an already fitted one. Default:
        ``sklearn.linear_model.LogisticRegression()``.
    method : {"isotonic", "sigmoid", "beta", "venn_abers", "temperature", "dirichlet"}
        With K >= 3 classes "sigmoid", "isotonic" and "beta" are one-vs-rest
        (``OneVsRestCalibrator``, scikit-learn's multiclass behaviour), "temperature" is
        ``TemperatureScaling`` (scikit-learn's ``method="temperature"``) and "dirichlet" is
        ``DirichletCalibrator``; "venn_abers" is binary only. "temperature" and "dirichlet"
        also calibrate two classes, as a (n, 2) problem. One-vs-rest and Dirichlet need every
        class in each calibration part; temperature scaling allows a class absent from one.
    cv : int, "prefit", "time", a scikit-learn splitter or an iterable of (train, test) pairs
        int k: stratified k folds (grouped, a group never on both sides, when ``groups`` is
        passed to fit); an iterable (list or generator, read once per fit) of (train, test)
        row-index arrays, as scikit-learn's ``CalibratedClassifierCV``: indices must lie in
        [0, n_samples), the two sides must not overlap, and with ``ensemble=False`` the test
        sides must cover every row exactly once; "prefit": calibrate the fitted estimator on
        the data given to fit;
        "time": fit the estimator on the earlier rows and the calibrator on the latest
        ``calibration_fraction`` of rows (rows sharing the cut time all go to calibration).
    ensemble : bool
        True: one calibrated estimator per fold, probabilities averaged (as scikit-learn);
        False: out-of-fold scores fit one calibrator, the estimator is refitted on all rows.
        Ignored for "prefit" and "time".
    time_key : column name (DataFrame X) or index of the time column for ``cv="time"`` when
        ``time`` is not passed to fit.
    calibration_fraction : float in (0, 1), share of the latest rows used with ``cv="time"``.
    random_state : None (folds in data order, as scikit-learn) or a seed to shuffle them.
    calibrator_params : dict of extra parameters for the calibrator class.

    Attributes: ``classes_``, ``calibrated_classifiers_`` (members with ``estimator``,
    ``calibrator``, ``predict_proba``), ``n_features_in_``, ``split_`` (per training row: the fold
    that calibrated it, -1 if no fold did, or 0 = fitting part / 1 = calibration part for
    "time"/"prefit").

    Input conventions (every calibrisk estimator): a scalar ``sample_weight`` applies to every
    row; ``groups`` must not hold missing ids (None, NaN, pd.NA); ``predict_proba`` on 0 rows
    returns an empty (0, 2) array.
    """

    def __init__(
        self,
        estimator=None,
        *,
        method="isotonic",
        cv=_CALIBRATED.cv,
        ensemble=_CALIBRATED.ensemble,
        time_key=None,
        calibration_fraction=_CALIBRATED.calibration_fraction,
        random_state=None,
        calibrator_params=None,
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.ensemble = ensemble
        self.time_key = time_key
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state
        self.calibrator_params = calibrator_params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        inner_tags = get_tags(self._base_estimator())
        inner = inner_tags.input_tags
        tags.input_tags.sparse = inner.sparse
        tags.input_tags.allow_nan = inner.allow_nan
        # Multiclass when the wrapped estimator is (temperature / one-vs-rest / Dirichlet).
        if inner_tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = inner_tags.classifier_tags.multi_class
        return tags

    # ------------------------------------------------------------------ helpers
    def _base_estimator(self):
        if self.estimator is None:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression()
        return self.estimator

    def _new_calibrator(self, kind):
        method = "sigmoid" if self.method == "platt" else self.method
        if method not in _METHODS:
            raise InvalidParamsError(
                f"CalibratedClassifier: method must be one of {sorted(_METHODS)}, got {self.method!r}."
            )
        params = dict(self.calibrator_params or {})
        if method == "sigmoid":
            params.setdefault("input", kind)
        return _METHODS[method](**params)

    def _fit_estimator(self, est, X, y, w, g=None):
        """Fits one member; passes the sample weights and the patient groups (codes) on to an
        estimator whose fit takes them (the trees' target statistics fold by patient)."""
        kw = {}
        if w is not None and has_fit_parameter(est, "sample_weight"):
            kw["sample_weight"] = w
        if g is not None and has_fit_parameter(est, "groups"):
            kw["groups"] = g
        est.fit(X, y, **kw)
        return est

    def _member_scores(self, est, X):
        """(score kind, scores) of a fitted estimator: 1-D for a binary method, (n, K) for a
        multiclass one (columns in classes_ order: every class was in the fitting part)."""
        method = "sigmoid" if self.method == "platt" else self.method
        if not self._multiclass:
            kind = _score_kind(est, method)
            return kind, _scores(est, X, kind)
        kind = _multiclass_score_kind(est, method)
        s = _class_scores(est, X, kind)
        if s.ndim != 2 or s.shape[1] != len(self.classes_):
            raise InvalidInputError(
                f"CalibratedClassifier.fit: the estimator {type(est).__name__} scores "
                f"{s.shape[1] if s.ndim == 2 else 1} columns but y has {len(self.classes_)} "
                "classes; every class must be in each fitting part."
            )
        return kind, s

    def _calibrated_member(self, est, kind, s, y_idx, w):
        """Fits the calibrator on scores ``s`` and labels ``y_idx`` (class indices)."""
        if not self._multiclass:
            cal = self._new_calibrator(kind).fit(s, y_idx, w)
            return _CalibratedMember(est, cal, kind)
        method = "sigmoid" if self.method == "platt" else self.method
        params = dict(self.calibrator_params or {})
        params.setdefault("input", kind)
        if method in _MULTICLASS_ONLY:
            cal = _METHODS[method](**params)
        else:
            cal = OneVsRestCalibrator(method=method, **params)
        cal.fit(s, y_idx, w, classes=None)
        cal.classes_ = self.classes_
        return _MulticlassMember(est, cal, kind)

    def _time_values(self, X, time):
        if time is not None:
            t = np.asarray(time, dtype=np.float64).ravel()
        elif self.time_key is not None:
            if hasattr(X, "columns"):
                if self.time_key not in X.columns:
                    raise InvalidInputError(
                        f"CalibratedClassifier.fit: time_key {self.time_key!r} is not a column of X."
                    )
                t = np.asarray(X[self.time_key], dtype=np.float64)
            else:
                t = np.asarray(X, dtype=np.float64)[:, int(self.time_key)]
        else:
            raise InvalidInputError(
                "CalibratedClassifier.fit: cv='time' needs time stamps; pass time=... to fit or "
                "set time_key to the column holding them."
            )
        if np.isnan(t).any():
            raise InvalidInputError(
                f"CalibratedClassifier.fit: time[{int(np.flatnonzero(np.isnan(t))[0])}] is NaN; "
                "every row needs a time stamp."
            )
        return t

    def _time_split(self, t, n):
        f = float(self.calibration_fraction)
        if not 0.0 < f < 1.0:
            raise InvalidParamsError(
                f"CalibratedClassifier: calibration_fraction must be in (0, 1), got {f}."
            )
        if len(t) != n:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: time has {len(t)} values but X has {n} rows; "
                "pass one time per row."
            )
        # The split module's time cut (calibrisk/split/split.hpp), as CalibratedModel's.
        return _core._time_cut(t, f, "CalibratedClassifier.fit")

    def _splits(self, X, y01, groups, n):
        """(train, test) index pairs from cv: an int (stratified, grouped with groups), a
        splitter, or an iterable of pairs (read once, so a generator works); checked by
        _check_folds whatever their source."""
        cv = self.cv
        if hasattr(cv, "split"):
            folds = cv.split(X, y01, groups)
        elif isinstance(cv, (int, np.integer)) and not isinstance(cv, (bool, np.bool_)):
            folds = self._kfold(X, y01, groups, n)
        elif isinstance(cv, (str, bytes, dict)) or not hasattr(cv, "__iter__"):
            raise InvalidParamsError(
                "CalibratedClassifier: cv must be an int >= 2, 'prefit', 'time', a splitter or "
                f"an iterable of (train, test) index arrays, got {quote(cv)}."
            )
        else:
            folds = cv
        return _check_folds(folds, y01, n, self.ensemble, len(self.classes_),
                            self.method != "temperature")

    def _kfold(self, X, y01, groups, n):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        cv = int(self.cv)
        if cv < 2:
            raise InvalidParamsError(f"CalibratedClassifier: cv must be >= 2, got {cv}.")
        shuffle = self.random_state is not None
        seed = self.random_state if shuffle else None
        if groups is not None:
            n_groups = int(groups.max()) + 1 if n else 0
            if n_groups < cv:
                raise InvalidInputError(
                    f"CalibratedClassifier.fit: there are {n_groups} groups but cv={cv}; "
                    "lower cv to at most the number of groups."
                )
            splitter = StratifiedGroupKFold(n_splits=cv, shuffle=shuffle, random_state=seed)
            return splitter.split(np.zeros(n), y01, groups)
        counts = np.bincount(y01.astype(int), minlength=len(self.classes_))
        if counts.min() < cv:
            rare = self.classes_[int(np.argmin(counts))]
            raise InvalidInputError(
                f"CalibratedClassifier.fit: class {quote(_plain(rare))} has {int(counts.min())} "
                f"samples but cv={cv} stratified folds need at least one in each fold (X has "
                f"{_shape_text(X, n)}); lower cv or add data."
            )
        splitter = StratifiedKFold(n_splits=cv, shuffle=shuffle, random_state=seed)
        return splitter.split(np.zeros(n), y01)

    # ------------------------------------------------------------------ API
    def fit(self, X, y, sample_weight=None, groups=None, time=None):
        """Fits the estimator(s) and calibrator(s). ``groups``: one id per row (a group never
        appears on both sides); ``time``: one time stamp per row for ``cv="time"``."""
        from sklearn.utils import check_consistent_length, column_or_1d, indexable
        from sklearn.utils.multiclass import type_of_target

        if self.method == "platt":  # the CLI's old spelling; scikit-learn's name is "sigmoid"
            warnings.warn(
                "CalibratedClassifier: method='platt' is deprecated and will be removed; use "
                "method='sigmoid' (scikit-learn's name, also the CLI's).",
                FutureWarning,
                stacklevel=2,
            )
        elif self.method not in _METHODS:
            raise InvalidParamsError(
                f"CalibratedClassifier: method must be one of {sorted(_METHODS)}, got {self.method!r}."
            )
        if y is None:
            raise InvalidInputError(
                "CalibratedClassifier.fit requires y to be passed, but the target y is None; "
                "pass one label per row."
            )
        try:
            X, y = indexable(X, y)
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            check_classification_targets(y)
            y_type = type_of_target(y, input_name="y")
        except InvalidInputError:
            raise
        except ValueError as e:
            raise InvalidInputError(f"CalibratedClassifier.fit: {e}") from e
        classes = np.unique(y)
        if y_type not in ("binary", "multiclass") or len(classes) < 2:
            raise InvalidInputError(
                "CalibratedClassifier needs at least two classes. The type of the target is "
                f"{y_type} with {len(classes)} class(es) {classes.tolist()[:10]}."
            )
        if len(classes) > _core.MAX_CLASSES:
            raise InvalidInputError(
                f"CalibratedClassifier.fit: y has {len(classes)} classes, more than the "
                f"{_core.MAX_CLASSES} calibrisk accepts (a label with this many values is likely "
                "an identifier, not an outcome)."
            )
        self.classes_ = classes
        method = "sigmoid" if self.method == "platt" else self.method
        self._multiclass = len(classes) > 2 or method in _MULTICLASS_ONLY
        if self._multiclass and method == "venn_abers":
            raise InvalidParamsError(
                f"CalibratedClassifier: method='venn_abers' is binary only, but y has "
                f"{len(classes)} classes; use 'temperature', 'dirichlet', 'sigmoid', 'isotonic' "
                "or 'beta' (one-vs-rest)."
            )
        # Class indices 0..K-1 of the sorted classes (for two classes: 1 = classes_[1]).
        y01 = np.searchsorted(classes, y).astype(np.float64)
        n = len(y)
        w = sample_weights(sample_weight, n, "CalibratedClassifier.fit")
        base = self._base_estimator()
        members = []
        split = np.zeros(n, dtype=int)

        def take(a, idx):
            return None if a is None else _safe_indexing(a, idx)

        if groups is not None:
            groups = group_codes(groups, n, "CalibratedClassifier.fit")
        if isinstance(self.cv, str) and self.cv == "prefit":
            check_is_fitted(base)
            kind, s = self._member_scores(base, X)
            members.append(self._calibrated_member(base, kind, s, y01, w))
            split[:] = 1
        elif isinstance(self.cv, str) and self.cv == "time":
            t = self._time_values(X, time)
            tr, ca = self._time_split(t, n)
            for part, name in ((tr, "earlier (fitting)"), (ca, "later (calibration)")):
                if len(np.unique(y01[part])) < 2:
                    raise InvalidInputError(
                        f"CalibratedClassifier.fit: the {name} part of the time split has one "
                        "class only; change calibration_fraction or add data."
                    )
            if self._multiclass:
                _require_all_classes(y01[tr], len(classes), 0, "fitting")
            est = self._fit_estimator(clone(base), take(X, tr), y[tr], take(w, tr),
                                      take(groups, tr))
            kind, s = self._member_scores(est, take(X, ca))
            members.append(self._calibrated_member(est, kind, s, y01[ca], take(w, ca)))
            split[ca] = 1
        elif isinstance(self.cv, str):
            raise InvalidParamsError(
                "CalibratedClassifier: cv must be an int >= 2, 'prefit', 'time', a splitter or an "
                f"iterable of (train, test) index arrays, got {quote(self.cv)}."
            )
        else:
            folds = self._splits(X, y01, groups, n)
            oof = None
            kind = None
            split[:] = -1  # rows in no test part (possible with a splitter or index pairs)
            for f, (tr, ca) in enumerate(folds):
                split[ca] = f
                est = self._fit_estimator(clone(base), take(X, tr), y[tr], take(w, tr),
                                          take(groups, tr))
                kind, s = self._member_scores(est, take(X, ca))
                if self.ensemble:
                    members.append(self._calibrated_member(est, kind, s, y01[ca], take(w, ca)))
                else:
                    if oof is None:
                        oof = np.empty((n,) + s.shape[1:])
                    oof[ca] = s
            if not self.ensemble:
                est = self._fit_estimator(clone(base), X, y, w, groups)
                members.append(self._calibrated_member(est, kind, oof, y01, w))
        self.calibrated_classifiers_ = members
        self.split_ = split
        first = members[0].estimator
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_
        return self

    def _positive_probability(self, X):
        check_is_fitted(self, "calibrated_classifiers_")
        if _num_rows(X) == 0:  # 0 rows give empty results, whatever the inner estimator does
            _check_width(self, X)
            return np.zeros(0)
        p = np.zeros(_num_rows(X))
        for m in self.calibrated_classifiers_:
            p += m.positive_probability(X)
        return p / len(self.calibrated_classifiers_)

    def _class_probabilities(self, X):
        """Multiclass: the members' (n, K) calibrated probabilities averaged (as scikit-learn)."""
        check_is_fitted(self, "calibrated_classifiers_")
        k = len(self.classes_)
        if _num_rows(X) == 0:
            _check_width(self, X)
            return np.zeros((0, k))
        p = np.zeros((_num_rows(X), k))
        for m in self.calibrated_classifiers_:
            p += m.predict_proba(X)
        return p / len(self.calibrated_classifiers_)

    def predict_proba(self, X):
        """Calibrated class probabilities, shape (n, K), columns in ``classes_`` order."""
        if getattr(self, "_multiclass", False):
            return self._class_probabilities(X)
        p = self._positive_probability(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Binary: ``classes_[1]`` where the calibrated probability is >= 0.5, else
        ``classes_[0]``; multiclass: the class of highest calibrated probability."""
        if getattr(self, "_multiclass", False):
            return self.classes_[np.argmax(self._class_probabilities(X), axis=1)]
        p = self._positive_probability(X)
        return self.classes_[(p >= 0.5).astype(int)]

    def predict_interval(self, X):
        """method="venn_abers" only: (p0, p1) averaged over the members."""
        check_is_fitted(self, "calibrated_classifiers_")
        if self.method != "venn_abers":
            raise InvalidParamsError(
                "CalibratedClassifier.predict_interval needs method='venn_abers', "
                f"got {self.method!r}."
            )
        if _num_rows(X) == 0:
            _check_width(self, X)
            return np.zeros(0), np.zeros(0)
        p0 = np.zeros(_num_rows(X))
        p1 = np.zeros(_num_rows(X))
        for m in self.calibrated_classifiers_:
            a, b = m.calibrator.predict_interval(_scores(m.estimator, X, m.score_kind))
            p0 += a
            p1 += b
        k = len(self.calibrated_classifiers_)
        return p0 / k, p1 / k

    # -- deployable artifact (issue 5; implemented in calibrisk/pipeline.py) --------------------
    def to_pipeline(self, operating_point=None, **kwargs):
        """The deployable ``calibrisk.Pipeline`` of a fitted classifier holding one calibrated
        calibrisk model (``ensemble=False``, ``cv="prefit"`` or ``cv="time"``). ``operating_point``:
        an ``OperatingPoint``, a threshold or None (0.5); other keyword arguments go to
        ``Pipeline.from_estimators`` (``X_train``, ``y_train``, ...).

        Binary: Platt, isotonic or beta. Multiclass (more than two ``classes_``): the K-class
        pipeline (format 1.6) with the classifier's temperature, one-vs-rest (Platt, isotonic,
        beta) or Dirichlet calibrator, the class labels as text and, with ``review=`` (the
        ``ReviewThreshold`` of ``select_review_threshold``), the review queue; its
        ``predict_proba`` equals this classifier's."""
        from .pipeline import _calibrated_to_pipeline

        return _calibrated_to_pipeline(self, operating_point, **kwargs)


def _num_rows(X):
    from sklearn.utils.validation import _num_samples

    return _num_samples(X)


def _check_width(clf, X):
    """For 0-row input: the column count must still match the fitted estimator's."""
    from sklearn.utils.validation import _num_features

    expected = getattr(clf, "n_features_in_", None)
    try:
        got = _num_features(X)
    except TypeError as e:
        raise InvalidInputError(f"{type(clf).__name__}: {e}") from e
    if expected is not None and got != expected:
        raise InvalidInputError(
            f"X has {got} features, but {type(clf).__name__} is expecting {expected} features "
            "as input."
        )
