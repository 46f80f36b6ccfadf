# SPDX-License-Identifier: Apache-2.0
"""The review queue (calibrisk.threshold): thresholds against a brute-force search over every
threshold, Clopper-Pearson bounds against scipy's beta quantiles, conformal sets against an
independent numpy implementation of the published definitions and against the finite-sample
coverage guarantee on data with known class probabilities, the triage band against a brute-force
search over every pair of thresholds, and every bad-input path."""

import math
import pickle

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

from calibrisk.exceptions import InvalidInputError, InvalidParamsError
from calibrisk.threshold import (
    conformal_calibrate,
    risk_coverage_curve,
    select_review_threshold,
    select_triage_band,
)


def cp_lower(x, n, level):
    """Clopper-Pearson lower bound from scipy's beta quantile (statsmodels' method="beta")."""
    return 0.0 if x == 0 else beta_dist.ppf((1 - level) / 2, x, n - x + 1)


def make_multiclass(n, K, seed, coarse=True):
    rng = np.random.default_rng(seed)
    raw = rng.integers(1, 5, size=(n, K)).astype(float) if coarse else rng.gamma(1.0, size=(n, K))
    P = raw / raw.sum(axis=1, keepdims=True)
    y = np.minimum((rng.random(n)[:, None] > P.cumsum(axis=1)).sum(axis=1), K - 1)
    return y, P


def candidates(y, P, w):
    """Every distinct confidence of a positive-weight row, with counts from a full scan."""
    conf, pred = P.max(axis=1), P.argmax(axis=1)
    rows = []
    for t in np.unique(conf[w > 0]):
        a = conf >= t
        n_auto, n_ok = w[a].sum(), w[a & (pred == y)].sum()
        rows.append(dict(t=t, n_auto=n_auto, n_ok=n_ok, acc=n_ok / n_auto,
                         review=(w.sum() - n_auto) / w.sum()))
    return rows


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("floor", [0.4, 0.6, 0.8])
def test_min_accuracy_matches_brute_force(seed, floor):
    y, P = make_multiclass(60, 3, seed)
    w = np.random.default_rng(seed).integers(0, 3, size=60).astype(float)
    w[0] = 1
    rows = candidates(y, P, w)
    feasible = [r for r in rows if r["acc"] >= floor]
    r = select_review_threshold(y, P, min_accuracy=floor, sample_weight=w)
    if feasible:
        want = min(feasible, key=lambda r: r["review"])
        assert r.feasible and r.message == ""
    else:  # best achievable accuracy, ties to the lower review rate
        want = max(rows, key=lambda r: (r["acc"], -r["review"]))
        assert not r.feasible and "no threshold meets min_accuracy" in r.message
    assert r.threshold == want["t"]
    assert r.accuracy == pytest.approx(want["acc"], abs=1e-15)
    assert r.review_rate == pytest.approx(want["review"], abs=1e-15)
    assert r.coverage == pytest.approx(1 - want["review"], abs=1e-15)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("budget", [0.1, 0.3, 0.6])
def test_max_review_rate_matches_brute_force(seed, budget):
    y, P = make_multiclass(50, 4, seed)
    rows = candidates(y, P, np.ones(50))
    want = max((r for r in rows if r["review"] <= budget), key=lambda r: (r["acc"], -r["review"]))
    r = select_review_threshold(y, P, max_review_rate=budget)
    assert r.threshold == want["t"] and r.feasible
    # with a floor too: the lowest review meeting the floor, infeasible when above the budget
    floor = 0.55
    ok = [c for c in rows if c["acc"] >= floor]
    both = select_review_threshold(y, P, min_accuracy=floor, max_review_rate=budget)
    if ok and min(c["review"] for c in ok) <= budget:
        assert both.feasible and both.threshold == min(ok, key=lambda c: c["review"])["t"]
    else:
        assert not both.feasible and both.threshold == want["t"]


@pytest.mark.parametrize("seed", range(5))
def test_conservative_floor_uses_scipy_clopper_pearson(seed):
    y, P = make_multiclass(200, 3, seed, coarse=False)
    P = (P + np.eye(3)[y] * 1.5) / 2.5  # informative: accuracy high among confident items
    rows = candidates(y, P, np.ones(200))
    for r in rows:
        r["lb"] = cp_lower(r["n_ok"], r["n_auto"], 0.95)
    floor = 0.9
    ok = [r for r in rows if r["lb"] >= floor]
    res = select_review_threshold(y, P, min_accuracy=floor, confidence=0.95)
    if ok:
        want = min(ok, key=lambda r: r["review"])
        assert res.feasible
    else:
        want = max(rows, key=lambda r: (r["lb"], -r["review"]))
        assert not res.feasible
    assert res.threshold == want["t"]
    assert res.accuracy_ci[0] == pytest.approx(want["lb"], rel=1e-9)
    assert res.confidence == 0.95
    # reported intervals: Clopper-Pearson of accuracy and review rate, as scipy computes them
    n_rev = 200 - want["n_auto"]
    lo = cp_lower(n_rev, 200, 0.95)
    hi = 1.0 if n_rev == 200 else beta_dist.ppf(0.975, n_rev + 1, 200 - n_rev)
    assert res.review_rate_ci == pytest.approx((lo, hi), rel=1e-9)


def test_per_class_matches_brute_force_per_predicted_class():
    y, P = make_multiclass(120, 3, 4)
    floor = 0.6
    r = select_review_threshold(y, P, min_accuracy=floor, per_class=True, max_review_rate=0.9)
    pred = P.argmax(axis=1)
    n_auto = n_ok = 0.0
    for k in range(3):
        m = pred == k
        rows = candidates(y[m], P[m], np.ones(m.sum()))
        ok = [c for c in rows if c["acc"] >= floor]
        if ok:
            want = min(ok, key=lambda c: c["review"])
            assert r.per_class[k].threshold == want["t"] and r.per_class[k].feasible
            n_auto += want["n_auto"]
            n_ok += want["n_ok"]
        else:
            assert r.per_class[k].threshold == math.inf and not r.per_class[k].feasible
    assert r.threshold.shape == (3,)
    assert r.accuracy == pytest.approx(n_ok / n_auto)
    assert r.review_rate == pytest.approx(1 - n_auto / 120)
    routed = r.route(P)
    assert routed.sum() == n_auto
    assert r.feasible == (all(p.feasible for p in r.per_class) and r.review_rate <= 0.9)
    tight = select_review_threshold(y, P, min_accuracy=floor, per_class=True, max_review_rate=0.0)
    np.testing.assert_array_equal(tight.threshold, r.threshold)  # not re-optimised for the budget
    assert r.review_rate > 0 and not tight.feasible and "joint review rate" in tight.message
    assert ((P.max(axis=1) >= r.threshold[pred]) == routed).all()


def test_string_labels_through_classes_and_the_notebook_attributes():
    y, P = make_multiclass(80, 3, 1)
    names = np.array(["insurance_form", "lab_result", "referral"])
    r = select_review_threshold(names[y], P, min_accuracy=0.7, classes=names)
    r2 = select_review_threshold(y, P, min_accuracy=0.7)
    for attr in ("threshold", "accuracy", "review_rate", "accuracy_ci", "review_rate_ci"):
        assert getattr(r, attr) == getattr(r2, attr)
    assert 0 <= r.accuracy_ci[0] <= r.accuracy <= r.accuracy_ci[1] <= 1
    with pytest.raises(InvalidInputError, match=r"y\[0\] is 'memo'"):
        select_review_threshold(np.r_[["memo"], names[y][1:]], P, min_accuracy=0.7, classes=names)
    with pytest.raises(InvalidInputError, match="pass classes="):
        select_review_threshold(names[y], P, min_accuracy=0.7)
    with pytest.raises(InvalidInputError, match=r"y\[0\] is 7, not a column index 0..2"):
        select_review_threshold(np.r_[7, y[1:]], P, min_accuracy=0.7)
    # binary as a 1-D p equals the (n, 2) matrix
    p = P[:, 0] / (P[:, 0] + P[:, 1])
    yb = (y == 1).astype(float)
    a = select_review_threshold(yb, p, min_accuracy=0.7)
    b = select_review_threshold(yb, np.column_stack([1 - p, p]), min_accuracy=0.7)
    assert a.threshold == b.threshold and a.accuracy == b.accuracy


def test_risk_coverage_curve_against_prefix_errors():
    y, P = make_multiclass(300, 4, 2, coarse=False)
    c = risk_coverage_curve(y, P)
    order = np.argsort(-P.max(axis=1))
    err = (P.argmax(axis=1) != y)[order]
    prefix_risk = np.cumsum(err) / np.arange(1, 301)
    np.testing.assert_allclose(c.risk, prefix_risk, rtol=1e-12)
    np.testing.assert_allclose(c.coverage, np.arange(1, 301) / 300, rtol=1e-12)
    assert c.aurc == pytest.approx(prefix_risk.mean(), rel=1e-12)  # Geifman et al.'s definition
    # a random ranking has AURC near the overall error rate; the confidence ranking does better
    assert c.aurc < err.mean()


def independent_sets(P, q, method, u=None):
    """The published definitions in numpy (not the code under test): LAC C = {k : 1 - P_k <= q}
    (Sadinle et al. 2019); APS C = {k : mass ranked strictly above k + (u or 1) * P_k <= q}
    (Romano et al. 2020), ranks by decreasing P, ties to the lower index."""
    if method == "lac":
        return (1.0 - P) <= q
    order = np.argsort(-P, axis=1, kind="stable")
    sorted_p = np.take_along_axis(P, order, axis=1)
    above = np.cumsum(sorted_p, axis=1) - sorted_p
    scores_sorted = above + (sorted_p if u is None else u[:, None] * sorted_p)
    scores = np.empty_like(P)
    np.put_along_axis(scores, order, scores_sorted, axis=1)
    return scores <= q


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_conformal_sets_match_the_published_definitions(method):
    y, P = make_multiclass(400, 5, 9, coarse=False)
    cs = conformal_calibrate(y[:200], P[:200], 0.1, method)
    s = (1 - P[np.arange(200), y[:200]]) if method == "lac" else None
    if s is not None:
        k = math.ceil(201 * 0.9)
        assert cs.quantile == np.sort(s)[k - 1]
    got = cs.predict_sets(P[200:])
    want = independent_sets(P[200:], cs.quantile, method)
    # equal except where a score is within rounding of the quantile (different summation order)
    assert (got != want).mean() < 0.002
    assert got.dtype == bool and got.shape == (200, 5)
    np.testing.assert_array_equal(cs.needs_review(P[200:]), got.sum(axis=1) != 1)


@pytest.mark.parametrize("method", ["lac", "aps", "aps_randomized"])
def test_conformal_coverage_on_exchangeable_data(method):
    """Known class probabilities (y drawn from P itself): for continuous scores the coverage of
    split conformal averaged over calibration draws is exactly k / (n + 1) with
    k = ceil((n + 1)(1 - alpha)) (here 46/51 = 0.902 for n = 50, alpha = 0.1), so the mean over
    300 seeds must be within 0.008 (about 3.5 standard errors) of it; using ceil(n(1 - alpha))
    (45/51 = 0.882) or the plain empirical quantile would fail."""
    n_cal, n_test, alpha, K = 50, 1000, 0.1, 4
    cover, sizes = [], []
    for seed in range(300):
        y, P = make_multiclass(n_cal + n_test, K, 1000 + seed, coarse=False)
        cs = conformal_calibrate(y[:n_cal], P[:n_cal], alpha, method, random_state=seed)
        m = cs.predict_sets(P[n_cal:])
        cover.append(m[np.arange(n_test), y[n_cal:]].mean())
        sizes.append(m.sum(axis=1).mean())
    assert abs(np.mean(cover) - 46 / 51) < 0.008
    assert np.mean(cover) >= 1 - alpha - 0.008
    assert 1 < np.mean(sizes) < K


def test_randomized_aps_is_deterministic_and_pickles():
    y, P = make_multiclass(300, 4, 5, coarse=False)
    a = conformal_calibrate(y, P, 0.2, "aps_randomized", random_state=3)
    b = conformal_calibrate(y, P, 0.2, "aps_randomized", random_state=3)
    assert a.quantile == b.quantile
    np.testing.assert_array_equal(a.predict_sets(P), b.predict_sets(P))
    c = pickle.loads(pickle.dumps(a))
    assert (c.method, c.alpha, c.quantile, c.n_calibration) == (a.method, a.alpha, a.quantile, 300)
    np.testing.assert_array_equal(c.predict_sets(P), a.predict_sets(P))
    assert a.quantile != conformal_calibrate(y, P, 0.2, "aps_randomized", random_state=4).quantile


def triage_brute(y, p, floor, budget, level=None):
    vals = list(np.unique(p)) + [math.inf]
    P, W = y.sum(), len(y)
    best = None
    for lo in vals:
        for hi in vals:
            if hi < lo:
                continue
            neg, pos = p < lo, p >= hi
            fn, fp = (y[neg] == 1).sum(), (y[pos] == 0).sum()
            rev = (~neg & ~pos).sum()
            caught = P - fn
            rec = caught / P if level is None else cp_lower(caught, P, level)
            if rec < floor or rev / W > budget:
                continue
            key = (fn + fp, rev, -lo)
            if best is None or key < best[0]:
                best = (key, lo, hi)
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("floor,budget,level", [(0.8, 0.1, None), (0.95, 0.3, None),
                                                (0.7, 0.2, 0.95), (0.5, 0.0, None)])
def test_triage_band_matches_brute_force(seed, floor, budget, level):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(80) * 20) / 20
    y = (rng.random(80) < p).astype(float)
    y[0], y[1] = 1, 0
    want = triage_brute(y, p, floor, budget, level)
    t = select_triage_band(y, p, min_recall=floor, max_review_rate=budget, confidence=level)
    assert want is not None and t.feasible
    assert (t.t_low, t.t_high) == (want[1], want[2])
    assert t.auto_error_rate == pytest.approx(want[0][0] / 80)
    route = t.route(p)
    assert (route == 0).mean() == pytest.approx(t.review_rate)
    assert ((route == -1) & (y == 1)).sum() == t.fn
    P = y.sum()
    assert t.recall_ci[0] == pytest.approx(cp_lower(P - t.fn, P, 0.95 if level is None else level))


def test_triage_band_infeasible_is_flagged_with_the_best_band():
    y = np.array([0, 0, 1, 1, 1, 0], float)
    p = np.array([0.1, 0.2, 0.6, 0.7, 0.9, 0.5])
    t = select_triage_band(y, p, min_recall=0.9, max_review_rate=0.2, confidence=0.95)
    assert not t.feasible and "min_recall=0.9" in t.message
    assert t.recall == 1.0  # the highest-recall band: no positive is auto-negative
    assert t.recall_ci[0] == pytest.approx(0.025 ** (1 / 3))


def test_bad_input_gets_clear_errors():
    y, P = make_multiclass(20, 3, 0)
    with pytest.raises(InvalidInputError, match=r"y\[0\] is 3"):
        select_review_threshold(np.r_[3, y[1:]], P, min_accuracy=0.9)
    bad = P.copy()
    bad[2, 1] = np.nan
    with pytest.raises(InvalidInputError, match=r"P\[2, 1\] is nan"):
        select_review_threshold(y, bad, min_accuracy=0.9)
    bad = P.copy()
    bad[3] = [-0.1, 0.6, 0.5]
    with pytest.raises(InvalidInputError, match=r"P\[3, 0\] is -0.1"):
        conformal_calibrate(y, bad, 0.1)
    with pytest.raises(InvalidInputError, match="row 0 of P sums to"):
        risk_coverage_curve(y, P * 1.01)
    select_review_threshold(y, (P * (1 + 1e-7)).astype(np.float32), min_accuracy=0.5)  # tolerance
    for a in (0.0, 1.0, 1.5, -0.1, float("nan")):
        with pytest.raises(InvalidParamsError, match=r"alpha must be in \(0, 1\)"):
            conformal_calibrate(y, P, a)
    with pytest.raises(InvalidParamsError, match="aps_randomized"):
        conformal_calibrate(y, P, 0.1, "raps")
    with pytest.raises(InvalidInputError, match="P has 0 rows"):
        select_review_threshold(np.zeros(0), np.zeros((0, 3)), min_accuracy=0.9)
    with pytest.raises(InvalidInputError, match="between 2 and 1000"):
        select_review_threshold(np.zeros(1), np.full((1, 1001), 1 / 1001), min_accuracy=0.9)
    with pytest.raises(InvalidParamsError, match="no policy"):
        select_review_threshold(y, P)
    with pytest.raises(InvalidParamsError, match="min_accuracy must be in"):
        select_review_threshold(y, P, min_accuracy=98)
    with pytest.raises(InvalidParamsError, match="need min_accuracy"):
        select_review_threshold(y, P, max_review_rate=0.2, per_class=True)
    with pytest.raises(InvalidInputError, match="calibrated for 3 classes"):
        conformal_calibrate(y, P, 0.1).predict_sets(np.full((2, 2), 0.5))
    with pytest.raises(InvalidInputError, match="must be 2-D"):
        risk_coverage_curve(y, np.zeros((2, 2, 2)))
    with pytest.raises(InvalidInputError, match=r"p\[1\] is nan"):
        select_triage_band([0, 1], [0.2, np.nan], min_recall=0.9, max_review_rate=0.1)
    with pytest.raises(InvalidInputError, match="y contains only class 0"):
        select_triage_band([0, 0], [0.2, 0.3], min_recall=0.9, max_review_rate=0.1)


def test_plot_risk_coverage_draws_the_curve_and_the_policy():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from calibrisk.plotting import plot_risk_coverage

    y, P = make_multiclass(200, 3, 0, coarse=False)
    r = select_review_threshold(y, P, max_review_rate=0.3)
    fig, ax = plt.subplots()
    assert plot_risk_coverage(y, P, review=r, ax=ax) is ax
    rc = risk_coverage_curve(y, P)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"AURC {rc.aurc:.3f}" in t for t in texts)
    np.testing.assert_allclose(ax.lines[0].get_xdata()[1:], rc.coverage)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1 - r.accuracy])
    plt.close(fig)
