# SPDX-License-Identifier: Apache-2.0
"""calibrisk.select_threshold against a brute-force search over every distinct threshold, and its
intervals against statsmodels."""

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

import calibrisk
from calibrisk import OperatingPoint, operating_point_at, select_threshold
from calibrisk.exceptions import InvalidInputError, InvalidParamsError


def make_data(n, seed, weights):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n) * 25) / 25  # many ties
    y = (rng.random(n) < 0.1 + 0.7 * p).astype(float)
    w = np.round(rng.random(n) * 4) if weights else None  # includes zero weights
    return y, p, w


def brute_force(y, p, w):
    """Every distinct score of a positive-weight row, with counts from a full scan."""
    w1 = np.ones_like(p) if w is None else w
    P, N = w1[y == 1].sum(), w1[y == 0].sum()
    rows = []
    for t in np.unique(p[w1 > 0]):
        f = p >= t
        tp, fp = w1[f & (y == 1)].sum(), w1[f & (y == 0)].sum()
        rows.append(dict(t=t, tp=tp, fp=fp, P=P, N=N, prec=tp / (tp + fp), rec=tp / P,
                         alert=(tp + fp) / (P + N)))
    return rows


def best(rows, feasible, objective):
    """Maximal objective among feasible rows; ties -> the highest threshold. (None, None) when
    nothing is feasible."""
    cand = [r for r in rows if feasible(r)]
    if not cand:
        return None, None
    top = max(objective(r) for r in cand)
    return max(r["t"] for r in cand if objective(r) >= top - 1e-12), top


SEEDS = [(0, False), (1, True), (2, True), (3, False), (4, True)]


@pytest.mark.parametrize("seed,weights", SEEDS)
def test_policies_equal_brute_force(seed, weights):
    y, p, w = make_data(400, seed, weights)
    rows = brute_force(y, p, w)
    every = lambda r: True  # noqa: E731

    def f_beta(b):
        return lambda r: (1 + b * b) * r["tp"] / ((1 + b * b) * r["tp"] + b * b * (r["P"] - r["tp"]) + r["fp"])

    for b in (1.0, 0.5, 2.0):
        t, v = best(rows, every, f_beta(b))
        op = select_threshold(y, p, fbeta=b, sample_weight=w) if b != 1.0 else select_threshold(y, p, sample_weight=w)
        assert op.threshold == t
        assert op.fbeta == pytest.approx(v, abs=1e-12)
    for r_floor in (0.5, 0.8, 0.95):
        t, v = best(rows, lambda r: r["rec"] >= r_floor, lambda r: r["prec"])
        assert t is not None  # recall 1 is always reachable
        op = select_threshold(y, p, min_recall=r_floor, sample_weight=w)
        assert op.threshold == t and op.precision == pytest.approx(v, abs=1e-12)
        assert op.recall >= r_floor
    for q in (0.5, 0.7, 0.85, 0.99):
        t, v = best(rows, lambda r: r["prec"] >= q, lambda r: r["rec"])
        if t is None:
            top = max(r["prec"] for r in rows)
            with pytest.raises(InvalidInputError, match="best precision achievable is") as info:
                select_threshold(y, p, min_precision=q, sample_weight=w)
            stated = float(str(info.value).split("achievable is ")[1].split(" ")[0])
            assert stated == pytest.approx(top, rel=1e-5)
            continue
        op = select_threshold(y, p, min_precision=q, sample_weight=w)
        assert op.threshold == t and op.recall == pytest.approx(v, abs=1e-12)
    for a in (0.01, 0.1, 0.3, 0.6):
        t, v = best(rows, lambda r: r["alert"] <= a + 1e-15, lambda r: r["rec"])
        if t is None:
            with pytest.raises(InvalidInputError, match="best alert rate achievable"):
                select_threshold(y, p, max_alert_rate=a, sample_weight=w)
            continue
        op = select_threshold(y, p, max_alert_rate=a, sample_weight=w)
        assert op.threshold == t and op.alert_rate <= a
    for cfp, cfn in ((1, 1), (1, 5), (3, 1)):
        t, v = best(rows, every, lambda r: -(cfp * r["fp"] + cfn * (r["P"] - r["tp"])))
        op = select_threshold(y, p, cost_fp=cfp, cost_fn=cfn, sample_weight=w)
        assert op.threshold == t
        W = rows[0]["P"] + rows[0]["N"]
        assert op.expected_cost == pytest.approx(-v / W, abs=1e-12)
        assert op.bayes_threshold == pytest.approx(cfp / (cfp + cfn))
        bayes = [r for r in rows if r["t"] >= op.bayes_threshold]
        tpb = max((r["tp"] for r in bayes), default=0.0)
        fpb = max((r["fp"] for r in bayes), default=0.0)
        assert op.bayes_expected_cost == pytest.approx((cfp * fpb + cfn * (rows[0]["P"] - tpb)) / W)
        assert op.expected_cost <= op.bayes_expected_cost + 1e-12  # empirical optimum


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("interval", ["wilson", "beta"])
def test_conservative_policies_equal_brute_force(seed, interval):
    y, p, _ = make_data(300, seed, False)
    rows = brute_force(y, p, None)
    for r in rows:
        n_flag = round(r["tp"] + r["fp"])
        r["prec_lo"] = proportion_confint(round(r["tp"]), n_flag, alpha=0.05, method=interval)[0]
        r["rec_lo"] = proportion_confint(round(r["tp"]), round(r["P"]), alpha=0.05, method=interval)[0]
        n_all = round(r["P"] + r["N"])
        r["alert_hi"] = proportion_confint(n_flag, n_all, alpha=0.05, method=interval)[1]
    name = "wilson" if interval == "wilson" else "clopper-pearson"
    checked = 0
    for floor in (0.5, 0.7, 0.8, 0.9):
        for key, feas, obj in (
            ("min_recall", lambda r: r["rec_lo"] >= floor, lambda r: r["prec"]),
            ("min_precision", lambda r: r["prec_lo"] >= floor, lambda r: r["rec"]),
            ("max_alert_rate", lambda r: r["alert_hi"] <= 1 - floor, lambda r: r["rec"]),
        ):
            value = 1 - floor if key == "max_alert_rate" else floor
            t, _ = best(rows, feas, obj)
            if t is None:
                with pytest.raises(InvalidInputError, match="achievable"):
                    select_threshold(y, p, conservative=True, interval=name, **{key: value})
            else:
                checked += 1
                op = select_threshold(y, p, conservative=True, interval=name, **{key: value})
                assert op.threshold == t, (key, value)
    assert checked >= 6


def test_intervals_equal_statsmodels():
    y, p, _ = make_data(500, 6, False)
    op = select_threshold(y, p, min_recall=0.75, confidence=0.9)
    tp, fp, fn = round(op.tp), round(op.fp), round(op.fn)
    assert op.precision_ci == pytest.approx(proportion_confint(tp, tp + fp, alpha=0.1, method="wilson"), abs=1e-12)
    assert op.recall_ci == pytest.approx(proportion_confint(tp, tp + fn, alpha=0.1, method="wilson"), abs=1e-12)
    assert op.precision_ci_clopper_pearson == pytest.approx(
        proportion_confint(tp, tp + fp, alpha=0.1, method="beta"), abs=1e-10)
    assert op.recall_ci_clopper_pearson == pytest.approx(
        proportion_confint(tp, tp + fn, alpha=0.1, method="beta"), abs=1e-10)
    assert op.confidence == 0.9


def test_operating_point_fields_and_to_dict():
    y, p, w = make_data(300, 2, True)
    op = select_threshold(y, p, min_recall=0.8, sample_weight=w)
    w1 = w
    flag = p >= op.threshold
    tp = w1[flag & (y == 1)].sum()
    fp = w1[flag & (y == 0)].sum()
    fn = w1[~flag & (y == 1)].sum()
    tn = w1[~flag & (y == 0)].sum()
    assert (op.tp, op.fp, op.tn, op.fn) == pytest.approx((tp, fp, tn, fn))
    assert op.specificity == pytest.approx(tn / (tn + fp))
    assert op.npv == pytest.approx(tn / (tn + fn))
    assert op.alert_rate == pytest.approx((tp + fp) / w1.sum())
    assert op.fbeta == pytest.approx(2 * tp / (2 * tp + fn + fp))
    assert op.expected_cost == pytest.approx((fp + fn) / w1.sum())
    assert math.isnan(op.bayes_threshold)
    d = op.to_dict()
    for k in ("threshold", "tp", "fp", "tn", "fn", "precision", "recall", "specificity", "npv",
              "alert_rate", "fbeta", "expected_cost", "precision_ci", "recall_ci", "policy",
              "precision_ci_clopper_pearson", "recall_ci_clopper_pearson"):
        assert k in d
    assert isinstance(d["precision_ci"], list)
    assert "min_recall=0.8" in op.policy
    assert isinstance(op, OperatingPoint)
    again = operating_point_at(y, p, op.threshold, sample_weight=w)
    assert again.tp == op.tp and again.recall_ci == op.recall_ci
    assert "threshold" in repr(op)


def test_top_level_exports():
    assert calibrisk.select_threshold is select_threshold
    assert "select_threshold" in calibrisk.threshold.__all__
    assert "OperatingPoint" in calibrisk.threshold.__all__


def test_error_paths():
    y, p, _ = make_data(100, 1, False)
    with pytest.raises(InvalidParamsError, match="exactly one policy"):
        select_threshold(y, p, min_recall=0.8, min_precision=0.5)
    with pytest.raises(InvalidParamsError, match="both cost_fp and cost_fn"):
        select_threshold(y, p, cost_fp=1)
    with pytest.raises(InvalidParamsError, match="min_recall must be in"):
        select_threshold(y, p, min_recall=1.5)
    with pytest.raises(InvalidParamsError, match="conservative mode applies"):
        select_threshold(y, p, conservative=True)
    with pytest.raises(InvalidParamsError, match="interval"):
        select_threshold(y, p, min_recall=0.5, conservative=True, interval="agresti")
    with pytest.raises(InvalidInputError, match="one score per label"):
        select_threshold(y, p[:-1])
    with pytest.raises(InvalidInputError, match="is nan"):
        select_threshold(y, np.where(np.arange(100) == 3, np.nan, p))
    with pytest.raises(InvalidInputError, match="only class 0"):
        select_threshold(np.zeros(10), np.linspace(0, 1, 10))
    # no feasible threshold: the message gives the best achievable value
    yy = np.array([0, 1, 0, 1.0])
    pp = np.array([0.9, 0.8, 0.7, 0.6])
    with pytest.raises(InvalidInputError, match=r"best precision achievable is 0.5 \(at threshold 0.8\)"):
        select_threshold(yy, pp, min_precision=0.9)
    with pytest.raises(InvalidInputError, match="best recall .* achievable is"):
        select_threshold(yy, pp, min_recall=0.9, conservative=True)
    with pytest.raises(InvalidInputError, match="best alert rate achievable is 1"):
        select_threshold(yy, np.full(4, 0.5), max_alert_rate=0.5)


@pytest.mark.parametrize("interval", ["wilson", "beta"])
def test_conservative_with_weights_uses_kish_effective_size(interval):
    rng = np.random.default_rng(21)
    n = 300
    p = np.round(rng.random(n) * 25) / 25
    y = (rng.random(n) < 0.1 + 0.7 * p).astype(float)
    w = 0.5 + rng.random(n) * 2
    alpha = 0.05

    def lower(num_w, den_w, den_w2):
        neff = den_w**2 / den_w2
        return proportion_confint(num_w / den_w * neff, neff, alpha=alpha, method=interval)[0]

    rows = []
    P, P2 = w[y == 1].sum(), (w[y == 1] ** 2).sum()
    for t in np.unique(p):
        f = p >= t
        tp, fp = w[f & (y == 1)].sum(), w[f & (y == 0)].sum()
        s2 = (w[f] ** 2).sum()
        rows.append(dict(t=t, tp=tp, fp=fp, prec=tp / (tp + fp), rec=tp / P,
                         prec_lo=lower(tp, tp + fp, s2), rec_lo=lower(tp, P, P2)))
    name = "wilson" if interval == "wilson" else "clopper-pearson"
    for floor in (0.5, 0.6, 0.75):
        t, _ = best(rows, lambda r: r["prec_lo"] >= floor, lambda r: r["rec"])
        if t is None:
            top = max(r["prec_lo"] for r in rows)
            with pytest.raises(InvalidInputError, match="achievable is") as info:
                select_threshold(y, p, min_precision=floor, conservative=True, interval=name,
                                 sample_weight=w)
            stated = float(str(info.value).split("achievable is ")[1].split(" ")[0])
            assert stated == pytest.approx(top, rel=1e-5)
        else:
            op = select_threshold(y, p, min_precision=floor, conservative=True, interval=name,
                                  sample_weight=w)
            assert op.threshold == t
        t, _ = best(rows, lambda r: r["rec_lo"] >= floor, lambda r: r["prec"])
        op = select_threshold(y, p, min_recall=floor, conservative=True, interval=name,
                              sample_weight=w)
        assert op.threshold == t
