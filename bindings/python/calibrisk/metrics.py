# SPDX-License-Identifier: Apache-2.0
"""Discrimination and calibration metrics computed by the C++ core.

Where scikit-learn has the metric the name, arguments and result are scikit-learn's
(``roc_auc_score``, ``average_precision_score``, ``log_loss``, ``brier_score_loss``,
``precision_recall_curve``, ``roc_curve``) and the values agree with ``sklearn.metrics`` to
rounding (1e-12). The calibration metrics (``expected_calibration_error``,
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


def log_loss(y_true, y_proba, *, sample_weight=None):
    """Mean negative log-likelihood; probabilities are clipped to [eps, 1 - eps] with
    eps = np.finfo(float64).eps, exactly as scikit-learn >= 1.5."""
    return _core.metrics_log_loss(y_true, y_proba, sample_weight)


def brier_score_loss(y_true, y_proba, *, sample_weight=None):
    """Mean squared difference between the 0/1 outcome and the probability."""
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
