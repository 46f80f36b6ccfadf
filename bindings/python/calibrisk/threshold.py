# SPDX-License-Identifier: Apache-2.0
"""Operating-point selection under a clinical policy, with Wilson and Clopper-Pearson intervals.

    op = calibrisk.select_threshold(y_val, p_val, min_recall=0.80)
    op.threshold, op.precision, op.precision_ci

A case is flagged when p >= threshold. Candidate thresholds are the distinct scores; tied scores
are flagged together; among equally good candidates the highest threshold (fewest alerts) wins.
"""

import math

from . import _core
from .exceptions import InvalidParamsError

__all__ = ["select_threshold", "operating_point_at", "OperatingPoint"]

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
