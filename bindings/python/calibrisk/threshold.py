# SPDX-License-Identifier: Apache-2.0
"""Operating-point selection under a clinical policy, with Wilson and Clopper-Pearson intervals.

    op = calibrisk.select_threshold(y_val, p_val, min_recall=0.80)
    op.threshold, op.precision, op.precision_ci

A case is flagged when p >= threshold. Candidate thresholds are the distinct scores; tied scores
are flagged together; among equally good candidates the highest threshold (fewest alerts) wins.
"""

import math

import numpy as np

from . import _core
from .exceptions import InvalidInputError, InvalidParamsError

__all__ = [
    "select_threshold", "operating_point_at", "OperatingPoint",
    "select_review_threshold", "ReviewThreshold", "ReviewPoint", "risk_coverage_curve",
    "RiskCoverage", "conformal_calibrate", "ConformalSets", "select_triage_band", "TriageBand",
]

_FIELDS = (
    "threshold", "policy", "tp", "fp", "tn", "fn", "precision", "recall", "specificity", "npv",
    "alert_rate", "beta", "fbeta", "expected_cost", "confidence", "precision_ci", "recall_ci",
    "precision_ci_clopper_pearson", "recall_ci_clopper_pearson", "bayes_threshold",
    "bayes_expected_cost", "bayes_recall", "bayes_alert_rate",
)


class OperatingPoint:
    """A chosen threshold and what it achieves on the data it was chosen on.

    Attributes: ``threshold``, ``policy`` (description), confusion counts ``tp, fp, tn, fn``
    (weighted when sample weights were given), ``precision`` (PPV), ``recall`` (sensitivity),
    ``specificity``, ``npv`` (NaN when every case is flagged), ``alert_rate``, ``fbeta`` (with
    ``beta``), ``expected_cost`` (per case), ``precision_ci`` / ``recall_ci`` (Wilson),
    ``precision_ci_clopper_pearson`` / ``recall_ci_clopper_pearson``, ``confidence``, and for the
    cost policy ``bayes_threshold`` = cost_fp / (cost_fp + cost_fn) with ``bayes_expected_cost``,
    ``bayes_recall``, ``bayes_alert_rate`` at it (NaN for other policies).
    """

    __slots__ = _FIELDS

    def __init__(self, **kwargs):
        for k in _FIELDS:
            v = kwargs[k]
            setattr(self, k, tuple(v) if isinstance(v, (list, tuple)) else v)

    @property
    def bayes_threshold_gap(self):
        """threshold - bayes_threshold (NaN unless the cost policy was used)."""
        return self.threshold - self.bayes_threshold

    def to_dict(self):
        """Plain dict (JSON-friendly: intervals as lists)."""
        return {k: (list(getattr(self, k)) if isinstance(getattr(self, k), tuple)
                    else getattr(self, k)) for k in _FIELDS}

    def __repr__(self):
        def f(v):
            return "nan" if isinstance(v, float) and math.isnan(v) else f"{v:.4g}"

        return (f"OperatingPoint(threshold={f(self.threshold)}, precision={f(self.precision)}, "
                f"recall={f(self.recall)}, alert_rate={f(self.alert_rate)}, policy={self.policy!r})")

    def __eq__(self, other):
        return isinstance(other, OperatingPoint) and self.to_dict() == other.to_dict()


def select_threshold(y, p, *, min_recall=None, min_precision=None, max_alert_rate=None,
                     cost_fp=None, cost_fn=None, fbeta=None, confidence=0.95, conservative=False,
                     interval="wilson", sample_weight=None):
    """Chooses the threshold under exactly one policy (F1 when none is given).

    - ``fbeta=b``: maximise F-beta;
    - ``min_recall=r``: the highest precision with recall >= r;
    - ``min_precision=q``: the highest recall with precision >= q;
    - ``max_alert_rate=a``: the highest recall flagging at most a fraction a of the cases;
    - ``cost_fp=c1, cost_fn=c2`` (both): the minimal expected cost; the result also carries the
      Bayes threshold c1 / (c1 + c2) that calibrated probabilities imply and its cost.

    ``conservative=True`` makes the confidence bound (``interval``: "wilson" or
    "clopper-pearson"), not the point estimate, meet the floor / budget. Raises
    InvalidInputError stating the best achievable value when no threshold satisfies the policy.
    """
    given = {k: v for k, v in (("min_recall", min_recall), ("min_precision", min_precision),
                               ("max_alert_rate", max_alert_rate), ("fbeta", fbeta)) if v is not None}
    cost_given = cost_fp is not None or cost_fn is not None
    if cost_given and (cost_fp is None or cost_fn is None):
        raise InvalidParamsError(
            "select_threshold: the cost policy needs both cost_fp and cost_fn "
            f"(got cost_fp={cost_fp!r}, cost_fn={cost_fn!r})."
        )
    n_policies = len(given) + (1 if cost_given else 0)
    if n_policies > 1:
        names = sorted(given) + (["cost_fp/cost_fn"] if cost_given else [])
        raise InvalidParamsError(
            f"select_threshold: pass exactly one policy, got {', '.join(names)}; "
            "e.g. select_threshold(y, p, min_recall=0.8)."
        )
    if cost_given:
        kind, value = "cost", 0.0
    elif given:
        kind, value = next(iter(given.items()))
        kind = {"fbeta": "fbeta"}.get(kind, kind)
    else:
        kind, value = "fbeta", 1.0
    beta = float(value) if kind == "fbeta" else 1.0
    d = _core.select_threshold(y, p, sample_weight, kind, float(value),
                               float(cost_fp) if cost_given else 1.0,
                               float(cost_fn) if cost_given else 1.0, float(confidence),
                               bool(conservative), str(interval), beta)
    return OperatingPoint(**d)


def operating_point_at(y, p, threshold, *, confidence=0.95, beta=1.0, cost_fp=1.0, cost_fn=1.0,
                       sample_weight=None):
    """The :class:`OperatingPoint` of a given threshold (flag p >= threshold), e.g. to evaluate
    a threshold chosen on validation data on a test set."""
    d = _core.operating_point_at(y, p, sample_weight, float(threshold), float(confidence),
                                 float(beta), float(cost_fp), float(cost_fn))
    return OperatingPoint(**d)


# ---- review queue (selective classification) ----------------------------------------------------

def _class_indices(y, n_classes, classes, where):
    """Maps labels to column indices: through ``classes`` (column k holds the probability of
    ``classes[k]``, as scikit-learn's ``classes_``) or, without it, y must hold the indices."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidInputError(f"{where}: y must be 1-D, got shape {y.shape}.")
    if classes is None:
        if y.dtype.kind in "OUSb":
            raise InvalidInputError(
                f"{where}: y holds labels of dtype {y.dtype}; pass classes= (the label of each "
                "column of P, e.g. clf.classes_) or integer class indices.")
        yf = y.astype(np.float64)
        bad = ~((yf >= 0) & (yf < n_classes) & (yf == np.floor(yf)))
        if n_classes >= 2 and bad.any():
            i = int(np.argmax(bad))
            raise InvalidInputError(
                f"{where}: y[{i}] is {y[i].item()!r}, not a column index 0..{n_classes - 1} of "
                "P; pass classes= (the label of each column of P, e.g. clf.classes_) to map "
                "labels.")
        return yf
    classes = list(np.asarray(classes).tolist())
    if len(classes) != n_classes:
        raise InvalidInputError(
            f"{where}: classes has {len(classes)} labels but P has {n_classes} columns; pass the "
            "label of each column of P (e.g. clf.classes_).")
    index = {c: k for k, c in enumerate(classes)}
    if len(index) != len(classes):
        raise InvalidInputError(f"{where}: classes has duplicate labels.")
    out = np.empty(len(y), dtype=np.float64)
    for i, v in enumerate(y.tolist()):
        k = index.get(v)
        if k is None:
            raise InvalidInputError(
                f"{where}: y[{i}] is {v!r}, which is not a column of P (classes are "
                f"{classes[:10]}{' ...' if len(classes) > 10 else ''}).")
        out[i] = k
    return out


def _proba_matrix(P, where):
    """(n, K) float64; a 1-D binary p becomes [1 - p, p]."""
    P = np.asarray(P)
    if P.dtype.kind in "OUS":
        raise InvalidInputError(f"{where}: P has dtype {P.dtype}; pass probabilities.")
    if P.ndim == 1:
        P = P.astype(np.float64)
        P = np.column_stack([1.0 - P, P])
    return P


def _opt(v):
    return None if v is None else float(v)


class ReviewPoint:
    """One operating point of the review queue (overall, or one class for ``per_class``).

    ``threshold`` (auto-route when max_k P >= threshold; inf routes nothing), ``accuracy`` of the
    auto-routed items (NaN when none), ``review_rate``, ``coverage`` = 1 - review_rate,
    ``n_total``, ``n_auto``, ``n_correct`` (weighted), ``accuracy_ci`` / ``review_rate_ci``
    (Clopper-Pearson) and ``accuracy_ci_wilson`` / ``review_rate_ci_wilson`` at ``confidence``,
    ``feasible`` and ``message``.
    """

    _FIELDS = ("threshold", "n_total", "n_auto", "n_correct", "accuracy", "review_rate",
               "coverage", "confidence", "accuracy_ci", "accuracy_ci_wilson", "review_rate_ci",
               "review_rate_ci_wilson", "feasible", "message")
    __slots__ = _FIELDS

    def __init__(self, **kw):
        for k in self._FIELDS:
            setattr(self, k, tuple(kw[k]) if isinstance(kw[k], (list, tuple)) else kw[k])

    def to_dict(self):
        return {k: (list(getattr(self, k)) if isinstance(getattr(self, k), tuple)
                    else getattr(self, k)) for k in self._FIELDS}

    def __repr__(self):
        return (f"ReviewPoint(threshold={self.threshold:.4g}, accuracy={self.accuracy:.4g}, "
                f"review_rate={self.review_rate:.4g}, feasible={self.feasible})")


class ReviewThreshold(ReviewPoint):
    """Result of :func:`select_review_threshold`: the attributes of :class:`ReviewPoint` for all
    items, plus ``policy``, ``per_class`` (None, or one :class:`ReviewPoint` per class) and
    ``classes`` (the labels given, or None). With ``per_class``, ``threshold`` is the array of
    the K thresholds and the other figures are joint: accuracy over the union of auto-routed
    items, review rate over all items."""

    __slots__ = ("policy", "per_class", "classes")

    def __init__(self, d, classes):
        super().__init__(**d["overall"])
        self.policy = d["policy"]
        self.per_class = [ReviewPoint(**p) for p in d["per_class"]] or None
        self.classes = None if classes is None else np.asarray(classes)
        self.feasible = d["feasible"]
        self.message = d["message"]
        if self.per_class is not None:
            self.threshold = np.array([p.threshold for p in self.per_class])

    def route(self, P):
        """Boolean mask: True = auto-routed (with its argmax label), False = review."""
        P = _proba_matrix(P, "ReviewThreshold.route")
        pred = np.argmax(P, axis=1)
        conf = P[np.arange(len(P)), pred]
        t = self.threshold[pred] if self.per_class is not None else self.threshold
        return conf >= t

    def __repr__(self):
        t = (np.array2string(self.threshold, precision=4) if self.per_class is not None
             else f"{self.threshold:.4g}")
        return (f"ReviewThreshold(threshold={t}, accuracy={self.accuracy:.4g}, "
                f"review_rate={self.review_rate:.4g}, feasible={self.feasible}, "
                f"policy={self.policy!r})")


def select_review_threshold(y, P, *, min_accuracy=None, max_review_rate=None, confidence=None,
                            per_class=False, sample_weight=None, classes=None,
                            interval_confidence=0.95):
    """Confidence threshold(s) of the review queue, chosen on calibration data.

    Confidence = max_k P[i, k]; items with confidence >= threshold are auto-routed with their
    argmax label (ties to the lowest column), the rest go to review. ``P``: (n, K)
    probabilities (rows summing to 1 within 1e-6 * K; a 1-D binary p is taken as [1 - p, p]).
    ``y``: the label of each item, mapped through ``classes`` (the label of each column of P,
    e.g. ``clf.classes_``), or without ``classes`` the column indices 0..K-1.

    - ``min_accuracy=a``: the smallest review rate whose auto-routed accuracy is >= a;
    - ``max_review_rate=r``: the highest auto-routed accuracy reviewing at most a fraction r;
    - both: the smallest review rate meeting the floor, which must be within the budget.

    ``confidence=0.95``: the floor (and the budget objective) uses the lower Clopper-Pearson bound
    of the accuracy instead of the point estimate. ``per_class=True``: one threshold per predicted
    class, each meeting ``min_accuracy`` within the items predicted as that class; a class that
    cannot meet it routes none of its items (threshold inf, flagged); the joint review rate is
    compared with ``max_review_rate``. When the policy cannot be met the best achievable point is
    returned with ``feasible=False`` and a ``message`` (no exception).
    """
    where = "select_review_threshold"
    P = _proba_matrix(P, where)
    yi = _class_indices(y, P.shape[1] if P.ndim == 2 else 0, classes, where)
    d = _core.select_review_threshold(yi, P, sample_weight, _opt(min_accuracy),
                                      _opt(max_review_rate), _opt(confidence), bool(per_class),
                                      float(interval_confidence))
    return ReviewThreshold(d, classes)


class RiskCoverage:
    """``threshold``, ``coverage`` (share auto-routed) and ``risk`` (error rate of the auto-routed
    items) arrays, one point per distinct confidence (coverage increasing), and ``aurc`` =
    sum_j (coverage_j - coverage_{j-1}) * risk_j."""

    __slots__ = ("threshold", "coverage", "risk", "aurc")

    def __init__(self, d):
        for k in self.__slots__:
            setattr(self, k, d[k])

    def __repr__(self):
        return f"RiskCoverage(n_points={len(self.coverage)}, aurc={self.aurc:.4g})"


def risk_coverage_curve(y, P, *, sample_weight=None, classes=None):
    """Risk-coverage curve of max-probability confidence and its AURC (see :class:`RiskCoverage`;
    with distinct confidences and no weights, AURC = mean over i of the error rate of the i most
    confident items, Geifman et al. 2019)."""
    where = "risk_coverage_curve"
    P = _proba_matrix(P, where)
    yi = _class_indices(y, P.shape[1] if P.ndim == 2 else 0, classes, where)
    return RiskCoverage(_core.risk_coverage_curve(yi, P, sample_weight))


class ConformalSets:
    """Calibrated split-conformal prediction sets (from :func:`conformal_calibrate`).

    ``predict_sets(P)`` returns the boolean (n, K) mask of C(x) = {k : s(x, k) <= quantile};
    ``needs_review(P)`` is True where a set does not hold exactly one label; ``predict(P)``
    returns the single label (via ``classes``) or None. Attributes: ``method``, ``alpha``,
    ``quantile`` (inf when n < 1/alpha - 1), ``n_classes``, ``n_calibration``,
    ``random_state``, ``classes``.
    """

    def __init__(self, core, classes=None):
        self._core = core
        self.classes = None if classes is None else np.asarray(classes)

    method = property(lambda self: self._core.method)
    alpha = property(lambda self: self._core.alpha)
    quantile = property(lambda self: self._core.quantile)
    n_classes = property(lambda self: self._core.n_classes)
    n_calibration = property(lambda self: self._core.n_calibration)
    random_state = property(lambda self: self._core.random_state)

    def predict_sets(self, P):
        return self._core.predict_sets(_proba_matrix(P, "ConformalSets.predict_sets"))

    def needs_review(self, P):
        return self.predict_sets(P).sum(axis=1) != 1

    def predict(self, P):
        """The label of each singleton set (through ``classes`` when given), None otherwise."""
        m = self.predict_sets(P)
        labels = self.classes if self.classes is not None else np.arange(m.shape[1])
        one = m.sum(axis=1) == 1
        idx = np.argmax(m, axis=1)
        return np.array([labels[k] if o else None for k, o in zip(idx, one)], dtype=object)

    def __reduce__(self):
        c = self._core
        return (_rebuild_conformal, (c.method, c.alpha, c.quantile, c.n_classes, c.n_calibration,
                                     c.random_state, self.classes))

    def __repr__(self):
        return (f"ConformalSets(method={self.method!r}, alpha={self.alpha}, "
                f"quantile={self.quantile:.6g}, n_calibration={self.n_calibration})")


def _rebuild_conformal(method, alpha, quantile, n_classes, n_calibration, random_state, classes):
    return ConformalSets(_core._ConformalSets(method, alpha, quantile, n_classes, n_calibration,
                                              random_state), classes)


def conformal_calibrate(y_cal, P_cal, alpha, method="lac", *, random_state=0, classes=None):
    """Split-conformal calibration at miscoverage ``alpha`` in (0, 1) (coverage 1 - alpha).

    ``method``: "lac" (score 1 - P[y], Sadinle et al. 2019), "aps" (probability mass ranked at or
    above y, Romano et al. 2020) or "aps_randomized" (mass strictly above y plus u * P[y], u
    uniform, drawn deterministically from ``random_state``). The quantile is the
    ceil((n + 1)(1 - alpha))-th smallest calibration score. On exchangeable data
    P(y in set) >= 1 - alpha. Labels as in :func:`select_review_threshold`.
    """
    where = "conformal_calibrate"
    P = _proba_matrix(P_cal, where)
    yi = _class_indices(y_cal, P.shape[1] if P.ndim == 2 else 0, classes, where)
    core = _core.conformal_calibrate(yi, P, float(alpha), str(method), int(random_state))
    return ConformalSets(core, classes)


class TriageBand:
    """Result of :func:`select_triage_band`: p < ``t_low`` auto-negative, ``t_low`` <= p <
    ``t_high`` review, p >= ``t_high`` auto-positive. Attributes: ``recall`` (positives not
    auto-negative), ``review_rate``, ``auto_error_rate`` ((fp + fn) / n: the objective),
    ``auto_accuracy``, counts ``tp, fp, tn, fn`` of the automatic decisions,
    ``positives_in_review``, ``n_total``, ``n_review``, intervals ``recall_ci``,
    ``review_rate_ci``, ``auto_accuracy_ci`` (Clopper-Pearson) and ``*_ci_wilson``,
    ``confidence``, ``feasible``, ``message``, ``policy``."""

    _FIELDS = ("policy", "t_low", "t_high", "n_total", "n_review", "tp", "fp", "tn", "fn",
               "positives_in_review", "recall", "review_rate", "auto_error_rate",
               "auto_accuracy", "confidence", "recall_ci", "recall_ci_wilson", "review_rate_ci",
               "review_rate_ci_wilson", "auto_accuracy_ci", "auto_accuracy_ci_wilson",
               "feasible", "message")
    __slots__ = _FIELDS

    def __init__(self, **kw):
        for k in self._FIELDS:
            setattr(self, k, tuple(kw[k]) if isinstance(kw[k], (list, tuple)) else kw[k])

    def route(self, p):
        """-1 auto-negative, 0 review, 1 auto-positive."""
        p = np.asarray(p, dtype=np.float64)
        return np.where(p >= self.t_high, 1, np.where(p < self.t_low, -1, 0))

    def to_dict(self):
        return {k: (list(getattr(self, k)) if isinstance(getattr(self, k), tuple)
                    else getattr(self, k)) for k in self._FIELDS}

    def __repr__(self):
        return (f"TriageBand(t_low={self.t_low:.4g}, t_high={self.t_high:.4g}, "
                f"recall={self.recall:.4g}, review_rate={self.review_rate:.4g}, "
                f"auto_error_rate={self.auto_error_rate:.4g}, feasible={self.feasible})")


def select_triage_band(y, p, *, min_recall, max_review_rate, confidence=None, sample_weight=None,
                       interval_confidence=0.95):
    """Binary triage band under a recall floor and a review budget.

    Minimises the automatic errors per item, (FP among auto-positive + FN among auto-negative) / n,
    subject to recall = share of positives that are not auto-negative >= ``min_recall`` (its lower
    Clopper-Pearson bound with ``confidence``) and review rate <= ``max_review_rate``; ties: the
    lower review rate, then the higher t_low. ``y`` in {0, 1}; ``p`` = P(y = 1) (a (n, 2) matrix
    gives its second column).
    """
    p = np.asarray(p)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    d = _core.select_triage_band(y, p, sample_weight, float(min_recall), float(max_review_rate),
                                 _opt(confidence), float(interval_confidence))
    return TriageBand(**d)
