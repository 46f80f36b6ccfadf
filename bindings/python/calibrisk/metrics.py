# SPDX-License-Identifier: Apache-2.0
"""Discrimination and calibration metrics computed by the C++ core.

Where scikit-learn has the metric the name, arguments and result are scikit-learn's
(``roc_auc_score``, ``average_precision_score``, ``log_loss``, ``brier_score_loss``,
``precision_recall_curve``, ``roc_curve``; for K classes ``log_loss`` and ``brier_score_loss``
with (n, K) probabilities, ``confusion_matrix``, ``precision_recall_fscore_support``) and the
values agree with ``sklearn.metrics`` to rounding (1e-12). The calibration metrics (``expected_calibration_error``,
``max_calibration_error``, ``reliability_curve``, ``calibration_intercept_slope``,
``spiegelhalter_test``), decision curves (``net_benefit``) and ``bootstrap`` confidence intervals
are calibrisk's own. Labels are 0/1 (bool or int arrays are fine); every function accepts
``sample_weight``. Each call sorts the scores once (an O(n) radix sort) and then makes O(n) passes.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import _core
from ._validation import group_codes, int_param

__all__ = [
    "roc_auc_score",
    "average_precision_score",
    "log_loss",
    "brier_score_loss",
    "precision_recall_curve",
    "roc_curve",
    "expected_calibration_error",
    "max_calibration_error",
    "reliability_curve",
    "calibration_intercept_slope",
    "spiegelhalter_test",
    "net_benefit",
    "bootstrap",
    "smoothed_calibration",
    "SmoothedCalibration",
    "ReliabilityCurve",
    "CalibrationFit",
    "SpiegelhalterResult",
    "DecisionCurve",
    "BootstrapResult",
    "BOOTSTRAP_METRICS",
    "top_label_ece",
    "classwise_ece",
    "classwise_reliability_curves",
    "confusion_matrix",
    "precision_recall_fscore_support",
    "per_class_scores",
    "PerClassScores",
    "multiclass_bootstrap",
    "MULTICLASS_BOOTSTRAP_METRICS",
]

#: Names accepted by :func:`bootstrap` (aliases with scikit-learn's names are accepted too).
BOOTSTRAP_METRICS = tuple(_core.BOOTSTRAP_METRICS)

_ALIASES = {
    "roc_auc_score": "roc_auc",
    "auc": "roc_auc",
    "average_precision_score": "average_precision",
    "brier_score_loss": "brier_score",
    "brier": "brier_score",
    "expected_calibration_error": "ece",
    "max_calibration_error": "mce",
    "spiegelhalter": "spiegelhalter_z",
}


def roc_auc_score(y_true, y_score, *, sample_weight=None):
    """Area under the ROC curve; ties count one half (as scikit-learn). Raises
    InvalidInputError when y_true has a single class."""
    return _core.metrics_roc_auc(y_true, y_score, sample_weight)


def average_precision_score(y_true, y_score, *, sample_weight=None):
    """Average precision, sum_k (R_k - R_{k-1}) P_k over distinct thresholds (scikit-learn's
    definition, no interpolation)."""
    return _core.metrics_average_precision(y_true, y_score, sample_weight)


def log_loss(y_true, y_proba, *, sample_weight=None, labels=None):
    """Mean negative log-likelihood; probabilities are clipped to [eps, 1 - eps] with
    eps = np.finfo(float64).eps, exactly as scikit-learn >= 1.5. ``y_proba`` is P(y = 1) (n,)
    for 0/1 labels, or (n, K) class probabilities with columns in the order of ``labels``
    (default: the sorted labels of ``y_true``, which must then hold all K classes)."""
    if _is_multiclass_proba(y_proba):
        y, P = _multiclass_inputs(y_true, y_proba, labels, "log_loss")
        return _core.metrics_multiclass("log_loss", y, P, sample_weight)
    return _core.metrics_log_loss(y_true, y_proba, sample_weight)


def brier_score_loss(y_true, y_proba, *, sample_weight=None, labels=None):
    """Mean squared difference between the 0/1 outcome and the probability. With (n, K)
    probabilities, scikit-learn's multiclass definition (>= 1.7): the mean over rows of
    sum_k (p_k - [y = k])^2, in [0, 2], halved when K = 2 (its ``scale_by_half="auto"``)."""
    if _is_multiclass_proba(y_proba):
        y, P = _multiclass_inputs(y_true, y_proba, labels, "brier_score_loss")
        return _core.metrics_multiclass("brier_score_loss", y, P, sample_weight)
    return _core.metrics_brier(y_true, y_proba, sample_weight)


def roc_curve(y_true, y_score, *, sample_weight=None, drop_intermediate=True):
    """(fpr, tpr, thresholds) as ``sklearn.metrics.roc_curve``: thresholds[0] is +inf and
    collinear points are dropped when ``drop_intermediate`` (they change neither the plot nor
    the area)."""
    return _core.metrics_roc_curve(y_true, y_score, sample_weight, bool(drop_intermediate))


def precision_recall_curve(y_true, y_score, *, sample_weight=None, drop_intermediate=False):
    """(precision, recall, thresholds) as ``sklearn.metrics.precision_recall_curve``: increasing
    thresholds, and a final point (precision 1, recall 0) without a threshold."""
    return _core.metrics_pr_curve(y_true, y_score, sample_weight, bool(drop_intermediate))


def expected_calibration_error(y_true, y_prob, *, n_bins=10, strategy="uniform",
                               sample_weight=None):
    """Weighted mean over bins of |observed rate - mean prediction| (Naeini et al. 2015).

    Bins as ``sklearn.calibration.calibration_curve``: ``"uniform"`` (equal width on [0, 1]) or
    ``"quantile"`` (equal frequency, numpy's percentile); p on an edge goes to the lower bin.
    """
    return _core.metrics_calibration_error(y_true, y_prob, sample_weight,
                                           int_param("n_bins", n_bins, "expected_calibration_error"),
                                           str(strategy), False)


def max_calibration_error(y_true, y_prob, *, n_bins=10, strategy="uniform", sample_weight=None):
    """Largest |observed rate - mean prediction| over the non-empty bins."""
    return _core.metrics_calibration_error(y_true, y_prob, sample_weight,
                                           int_param("n_bins", n_bins, "max_calibration_error"),
                                           str(strategy), True)


@dataclass
class ReliabilityCurve:
    """Per non-empty bin: edges, row count, weight, mean prediction, observed rate and its
    Wilson interval (on Kish's effective sample size when weighted)."""

    bin_lower: np.ndarray
    bin_upper: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    mean_predicted: np.ndarray
    observed_rate: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    effective_n: np.ndarray
    edges: np.ndarray
    confidence: float

    def to_dict(self):
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def reliability_curve(y_true, y_prob, *, n_bins=10, strategy="uniform", confidence=0.95,
                      sample_weight=None):
    """The reliability diagram's data (see :class:`ReliabilityCurve`). Unweighted,
    ``observed_rate`` and ``mean_predicted`` equal ``calibration_curve``'s prob_true/prob_pred."""
    d = _core.metrics_reliability_curve(y_true, y_prob, sample_weight,
                                        int_param("n_bins", n_bins, "reliability_curve"), str(strategy),
                                        float(confidence))
    return ReliabilityCurve(**d)


class CalibrationFit(NamedTuple):
    """Calibration-in-the-large (``intercept``: logit P = a + logit p) and calibration slope
    (``slope``: logit P = c + b logit p), weighted maximum likelihood, with standard errors."""

    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    slope_intercept: float
    converged: bool
    n_iter: int


def calibration_intercept_slope(y_true, y_prob, *, sample_weight=None, max_iter=100, tol=1e-10):
    """Logistic recalibration of the logit (Cox 1958; Van Calster et al. 2016). Probabilities
    are clipped to [1e-15, 1 - 1e-15] before the logit."""
    d = _core.metrics_intercept_slope(y_true, y_prob, sample_weight,
                                      int_param("max_iter", max_iter, "calibration_intercept_slope"),
                                      float(tol))
    return CalibrationFit(d["intercept"], d["slope"], d["intercept_se"], d["slope_se"],
                          d["slope_intercept"], d["converged"], d["n_iter"])


class SpiegelhalterResult(NamedTuple):
    z: float
    p_value: float


def spiegelhalter_test(y_true, y_prob, *, sample_weight=None):
    """Spiegelhalter's (1986) z-test of calibration; two-sided p-value from the normal."""
    z, p = _core.metrics_spiegelhalter(y_true, y_prob, sample_weight)
    return SpiegelhalterResult(z, p)


@dataclass
class DecisionCurve:
    """Net benefit per threshold probability (Vickers & Elkin 2006)."""

    thresholds: np.ndarray
    net_benefit: np.ndarray
    treat_all: np.ndarray
    treat_none: np.ndarray
    alert_rate: np.ndarray

    def to_dict(self):
        return {k: v.tolist() for k, v in self.__dict__.items()}


def net_benefit(y_true, y_prob, thresholds=None, *, sample_weight=None):
    """Decision curve: NB(t) = TP/n - FP/n * t / (1 - t) for the model (treat when p >= t),
    treat-all and treat-none. ``thresholds`` defaults to 0.01, 0.02, ..., 0.99."""
    if thresholds is None:
        thresholds = np.round(np.arange(1, 100) / 100.0, 2)
    d = _core.metrics_net_benefit(y_true, y_prob, np.asarray(thresholds, dtype=np.float64),
                                  sample_weight)
    return DecisionCurve(**d)


@dataclass
class BootstrapResult:
    """The bootstrap distribution of one metric: point estimate on the full data, percentile
    interval [lower, upper], replicate values (NaN where the metric was undefined)."""

    metric: str
    point: float
    lower: float
    upper: float
    std_error: float
    replicates: np.ndarray = field(repr=False)
    n_invalid: int = 0

    def to_dict(self):
        d = dict(self.__dict__)
        d["replicates"] = self.replicates.tolist()
        return d


def bootstrap(y_true, y_score, metric="roc_auc", *, n_replicates=1000, confidence=0.95,
              stratified=True, groups=None, random_state=0, n_threads=0, sample_weight=None,
              n_bins=10, strategy="uniform"):
    """Percentile bootstrap confidence intervals, seeded and deterministic for any n_threads.

    ``metric`` is a name from :data:`BOOTSTRAP_METRICS` (or scikit-learn's name) or a list of
    them; one :class:`BootstrapResult` is returned for a name, a dict name -> result for a list.
    ``stratified`` keeps the class counts of every replicate; ``groups`` (any hashable keys, one
    per row, none missing: None/NaN/pd.NA is an error) resamples whole groups (patients), stratified by whether a group has a positive.
    The scores are sorted once; replicates are multiplicities over the sorted order.
    """
    from .exceptions import InvalidParamsError

    single = isinstance(metric, str)
    names = [metric] if single else list(metric)
    canon = [_ALIASES.get(m, m) for m in names]
    if random_state is None:
        random_state = 0
    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise InvalidParamsError(
            f"bootstrap: random_state must be a non-negative int, got {random_state!r}."
        )
    y = np.asarray(y_true)
    res = _core.metrics_bootstrap(y_true, y_score, sample_weight, canon,
                                  int_param("n_replicates", n_replicates, "bootstrap"),
                                  float(confidence), bool(stratified),
                                  None if groups is None else
                                  group_codes(groups, y.shape[0] if y.ndim else 0, "bootstrap"),
                                  int(random_state), int_param("n_threads", n_threads, "bootstrap"),
                                  int_param("n_bins", n_bins, "bootstrap"), str(strategy))
    out = {}
    for name, d in zip(names, res):
        out[name] = BootstrapResult(**d)
    return out[names[0]] if single else out


@dataclass
class SmoothedCalibration:
    """Result of :func:`smoothed_calibration` (see docs/metrics.md, "Smoothed calibration").

    ``fitted`` is the lowess estimate of P(y = 1 | p) for every input row; ``grid`` / ``curve``
    the curve on equally spaced points over [min p, max p] with its pointwise bootstrap band
    ``band_lower`` / ``band_upper`` (empty without bootstrap) and the simultaneous band
    ``simultaneous_lower`` / ``simultaneous_upper`` that decides "moderate". ``ici``, ``e50``, ``e90`` and
    ``emax`` summarise |fitted - p|; ``intervals`` maps "ici", "e50", "e90", "emax" and
    "calibration_in_the_large" to dicts with point / lower / upper / std_error. ``verdict`` is
    Van Calster's hierarchy ("insufficient data", "none", "mean", "weak", "moderate") and
    ``hierarchy`` holds each level's ``assessed`` / ``met`` / ``evidence``.
    """

    fitted: np.ndarray
    grid: np.ndarray
    curve: np.ndarray
    band_lower: np.ndarray
    band_upper: np.ndarray
    simultaneous_lower: np.ndarray
    simultaneous_upper: np.ndarray
    ici: float
    e50: float
    e90: float
    emax: float
    calibration_in_the_large: float
    calibration_intercept: float
    calibration_slope: float
    n_events: int
    n_nonevents: int
    binned: bool
    verdict: str
    hierarchy: dict
    intervals: dict
    warnings: list
    confidence: float = 0.95


def smoothed_calibration(y_true, y_prob, *, frac=2.0 / 3.0, max_points=1000, grid_points=50,
                         min_events=100, n_bootstrap=0, confidence=0.95, groups=None,
                         random_state=0, n_threads=0, sample_weight=None):
    """Smoothed calibration curve (lowess of y on p), ICI / E50 / E90 / Emax and Van Calster's
    hierarchy, with bootstrap intervals and a pointwise band when ``n_bootstrap`` > 0.

    The lowess equals ``statsmodels.nonparametric.lowess(y, p, frac=frac, it=0, delta=0)`` when
    unweighted and the predictions have at most ``max_points`` distinct values (above that, equal-
    count bins; see docs/metrics.md). Sample weights multiply the tricube weights. Fewer than
    ``min_events`` events or non-events emit a ``UserWarning`` with the count and make the verdict
    "insufficient data".
    """
    import warnings as _warnings

    prm = _core.SmoothCalibrationParams()
    prm.frac = float(frac)
    prm.max_points = int_param("max_points", max_points, "smoothed_calibration")
    prm.grid_points = int_param("grid_points", grid_points, "smoothed_calibration")
    prm.min_events = int_param("min_events", min_events, "smoothed_calibration")
    prm.validate()
    nb = int_param("n_bootstrap", n_bootstrap, "smoothed_calibration")
    y = np.asarray(y_true)
    d = _core.metrics_smoothed_calibration(
        y_true, y_prob, sample_weight, prm, nb, float(confidence),
        None if groups is None else
        group_codes(groups, y.shape[0] if y.ndim else 0, "smoothed_calibration"),
        int(random_state), int_param("n_threads", n_threads, "smoothed_calibration"))
    for w in d["warnings"]:
        _warnings.warn(w, UserWarning, stacklevel=2)
    return SmoothedCalibration(
        fitted=d["fitted"], grid=d["grid"], curve=d["curve"], band_lower=d["band_lower"],
        band_upper=d["band_upper"], simultaneous_lower=d["simultaneous_lower"],
        simultaneous_upper=d["simultaneous_upper"], ici=d["ici"], e50=d["e50"], e90=d["e90"], emax=d["emax"],
        calibration_in_the_large=d["calibration_in_the_large"],
        calibration_intercept=d["calibration_intercept"],
        calibration_slope=d["calibration_slope"], n_events=d["n_events"],
        n_nonevents=d["n_nonevents"], binned=d["binned"], verdict=d["verdict"],
        hierarchy={k: d[k] for k in ("mean", "weak", "moderate")}, intervals=d["intervals"],
        warnings=list(d["warnings"]), confidence=d["confidence"])


# --------------------------------------------------------------------------- multiclass

#: Names accepted by :func:`multiclass_bootstrap` (``f1_<k>``, ``precision_<k>`` and
#: ``recall_<k>`` take a class index k).
MULTICLASS_BOOTSTRAP_METRICS = ("log_loss", "brier_score", "top_label_ece", "classwise_ece",
                                "accuracy", "macro_f1", "f1_<k>", "precision_<k>", "recall_<k>",
                                "auto_accuracy", "review_rate")


def _is_multiclass_proba(y_proba):
    a = np.asarray(y_proba) if not hasattr(y_proba, "shape") else y_proba
    return getattr(a, "ndim", 0) == 2 and a.shape[1] >= 2


def _label_indices(y, classes, where, name="y_true"):
    """Indices of the labels ``y`` in the sorted ``classes``; an unknown label is an error."""
    from .exceptions import InvalidInputError

    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidInputError(f"{where}: {name} must be 1-D, got shape {y.shape}.")
    pos = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    bad = np.flatnonzero(classes[pos] != y)
    if bad.size:
        raise InvalidInputError(
            f"{where}: {name}[{int(bad[0])}] = {y[bad[0]]!r} is not one of the labels "
            f"{classes.tolist()[:10]}; pass labels= listing every class."
        )
    return pos.astype(np.float64)


def _multiclass_inputs(y_true, y_proba, labels, where):
    """(class indices, (n, K) probabilities): columns follow the sorted ``labels`` (default: the
    labels of ``y_true``, as scikit-learn's LabelBinarizer), whose count must equal K."""
    from .exceptions import InvalidInputError

    P = np.asarray(y_proba)
    classes = np.unique(np.asarray(y_true) if labels is None else np.asarray(labels))
    if len(classes) != P.shape[1]:
        hint = ("pass labels= listing the classes of the columns" if labels is None
                else "labels must list one class per column")
        raise InvalidInputError(
            f"{where}: y_true and y_proba contain different numbers of classes: "
            f"{len(classes)} vs {P.shape[1]} (classes {classes.tolist()[:10]}); {hint}."
        )
    return _label_indices(y_true, classes, where), P


def top_label_ece(y_true, y_proba, *, n_bins=10, strategy="uniform", sample_weight=None,
                  labels=None):
    """Top-label (confidence) ECE (Guo et al. 2017): the binary ECE of max_k p_k against "the arg
    max class is the true class", with the bins of :func:`expected_calibration_error`."""
    y, P = _multiclass_inputs(y_true, y_proba, labels, "top_label_ece")
    return _core.metrics_multiclass("top_label_ece", y, P, sample_weight,
                                    int_param("n_bins", n_bins, "top_label_ece"), str(strategy))


def classwise_ece(y_true, y_proba, *, n_bins=10, strategy="uniform", sample_weight=None,
                  labels=None):
    """Classwise ECE (Kull et al. 2019): the mean over the K classes of the binary ECE of column
    k against [y = k]."""
    y, P = _multiclass_inputs(y_true, y_proba, labels, "classwise_ece")
    return _core.metrics_multiclass("classwise_ece", y, P, sample_weight,
                                    int_param("n_bins", n_bins, "classwise_ece"), str(strategy))


def classwise_reliability_curves(y_true, y_proba, *, n_bins=10, strategy="uniform",
                                 confidence=0.95, sample_weight=None, labels=None):
    """One :class:`ReliabilityCurve` per class (column k against [y = k]), in column order."""
    y, P = _multiclass_inputs(y_true, y_proba, labels, "classwise_reliability_curves")
    curves = _core.metrics_classwise_reliability(
        y, P, sample_weight, int_param("n_bins", n_bins, "classwise_reliability_curves"),
        str(strategy), float(confidence))
    return [ReliabilityCurve(**d) for d in curves]


def _prediction_classes(y_true, y_pred, labels):
    if labels is not None:
        return np.asarray(labels)
    return np.unique(np.concatenate([np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()]))


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """scikit-learn's ``confusion_matrix``: C[i, j] = (weighted) number of rows of true class
    labels[i] predicted as labels[j]; ``labels`` defaults to the sorted union of both label sets.
    ``normalize``: None, "true" (rows sum to 1), "pred" (columns) or "all"."""
    from .exceptions import InvalidParamsError

    classes = _prediction_classes(y_true, y_pred, labels)
    if labels is not None:
        # scikit-learn ignores rows whose labels are not listed.
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        keep = np.isin(yt, classes) & np.isin(yp, classes)
        y_true, y_pred = yt[keep], yp[keep]
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[keep]
        order = np.argsort(classes, kind="stable")
        sorted_classes = classes[order]
    else:
        order, sorted_classes = None, classes
    t = _label_indices(y_true, sorted_classes, "confusion_matrix")
    p = _label_indices(y_pred, sorted_classes, "confusion_matrix", "y_pred")
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cm = np.asarray(_core.metrics_confusion_matrix(t, p, len(sorted_classes), sw))
    if order is not None:  # back to the caller's label order
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        cm = cm[np.ix_(inv, inv)]
    if sample_weight is None or np.asarray(sample_weight).dtype.kind in "iub":
        cm = cm.astype(np.int64)
    if normalize is None:
        return cm
    with np.errstate(all="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        else:
            raise InvalidParamsError(
                f"confusion_matrix: normalize must be None, 'true', 'pred' or 'all', got "
                f"{normalize!r}."
            )
    return np.nan_to_num(cm)


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, average=None,
                                    sample_weight=None, zero_division=0.0):
    """scikit-learn's ``precision_recall_fscore_support`` for multiclass labels (``average``:
    None, "micro", "macro" or "weighted"; ``zero_division`` a number), from the confusion matrix.
    With ``average`` the support is None, as scikit-learn."""
    from .exceptions import InvalidParamsError

    cm = np.asarray(confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight),
                    dtype=np.float64)
    tp = np.diag(cm)
    pred, true = cm.sum(axis=0), cm.sum(axis=1)
    b2 = float(beta) ** 2
    zd = float(zero_division)

    def ratio(a, b):
        with np.errstate(all="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1.0), zd)

    if average == "micro":
        tp, pred, true = tp.sum(), pred.sum(), true.sum()
    precision, recall = ratio(tp, pred), ratio(tp, true)
    # scikit-learn's F-beta: (1 + b^2) tp / (b^2 (tp + fn) + tp + fp), zero_division when 0 / 0.
    f = ratio((1 + b2) * tp, b2 * true + pred)
    if average is None:
        return precision, recall, f, cm.sum(axis=1).astype(np.int64) if sample_weight is None \
            else cm.sum(axis=1)
    if average == "micro":
        return float(precision), float(recall), float(f), None
    if average == "macro":
        return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f)), None
    if average == "weighted":
        w = cm.sum(axis=1)
        if w.sum() == 0:
            return zd, zd, zd, None
        return (float(np.average(precision, weights=w)), float(np.average(recall, weights=w)),
                float(np.average(f, weights=w)), None)
    raise InvalidParamsError(
        f"precision_recall_fscore_support: average must be None, 'micro', 'macro' or "
        f"'weighted', got {average!r}."
    )


@dataclass
class PerClassScores:
    """Per class (in ``classes`` order): precision, recall, F1, support and the Wilson intervals
    of precision and recall (on Kish's effective sample size when weighted)."""

    classes: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    precision_lower: np.ndarray
    precision_upper: np.ndarray
    recall_lower: np.ndarray
    recall_upper: np.ndarray
    confidence: float = 0.95

    def to_dict(self):
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def per_class_scores(y_true, y_pred, *, labels=None, sample_weight=None, confidence=0.95):
    """Precision, recall and F1 per class with Wilson intervals (equal to
    :func:`precision_recall_fscore_support` with ``zero_division=0``). For an interval of F1 use
    :func:`multiclass_bootstrap` with ``"f1_<k>"``."""
    classes = np.unique(_prediction_classes(y_true, y_pred, labels))
    t = _label_indices(y_true, classes, "per_class_scores")
    p = _label_indices(y_pred, classes, "per_class_scores", "y_pred")
    d = _core.metrics_per_class_scores(t, p, len(classes), sample_weight, float(confidence))
    return PerClassScores(classes=classes, confidence=float(confidence), **d)


def multiclass_bootstrap(y_true, y_proba, metric="classwise_ece", *, n_replicates=1000,
                         confidence=0.95, stratified=True, random_state=0, n_threads=0,
                         sample_weight=None, labels=None, n_bins=10, strategy="uniform",
                         groups=None, routed=None):
    """Percentile bootstrap intervals of multiclass metrics (names in
    :data:`MULTICLASS_BOOTSTRAP_METRICS`), seeded and deterministic for any n_threads; with
    ``stratified`` each replicate keeps every class's row count. Predictions for accuracy / F1 /
    precision / recall are the arg max of ``y_proba``. ``groups`` (any hashable keys, one per
    row, none missing) resamples whole groups (patients), stratified by each group's most
    frequent class. ``routed`` (1 = auto-routed, 0 = review, one per row: a review queue fixed
    beforehand) is needed by ``auto_accuracy`` (accuracy of the auto-routed rows) and
    ``review_rate``. Unstratified (``stratified=False``, what ``evaluate_multiclass`` and
    ``validate`` use) the class mix varies between replicates, so accuracy and Brier intervals
    have the binomial width; a replicate lacking a class of the data leaves that class's
    ``f1_<k>`` and ``macro_f1`` undefined (excluded, counted in ``n_invalid``). One
    :class:`BootstrapResult` for a name, a dict name -> result for a list."""
    single = isinstance(metric, str)
    names = [metric] if single else list(metric)
    y, P = _multiclass_inputs(y_true, y_proba, labels, "multiclass_bootstrap")
    res = _core.metrics_multiclass_bootstrap(
        y, P, sample_weight, names, int_param("n_replicates", n_replicates, "multiclass_bootstrap"),
        float(confidence), bool(stratified), int(random_state),
        int_param("n_threads", n_threads, "multiclass_bootstrap"),
        int_param("n_bins", n_bins, "multiclass_bootstrap"), str(strategy),
        None if groups is None else group_codes(groups, y.shape[0], "multiclass_bootstrap"),
        None if routed is None else np.asarray(routed, dtype=np.float64))
    out = {name: BootstrapResult(**d) for name, d in zip(names, res)}
    return out[names[0]] if single else out
