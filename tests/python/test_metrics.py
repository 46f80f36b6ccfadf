# SPDX-License-Identifier: Apache-2.0
"""calibrisk.metrics against scikit-learn, scipy and statsmodels (oracles computed here)."""

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve

import calibrisk
from calibrisk import metrics as cm
from calibrisk.exceptions import InvalidInputError, InvalidParamsError

TOL = 1e-12


def make_data(n, seed, ties=True, weights=False, zero_weights=False):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    if ties:
        p = np.round(p * 20) / 20  # many ties, values on bin edges
    y = (rng.random(n) < 0.2 + 0.6 * p).astype(float)
    w = None
    if weights:
        w = rng.random(n) * 3
        if zero_weights:
            w[rng.random(n) < 0.1] = 0.0
    return y, p, w


CASES = [
    dict(n=500, seed=0, ties=True, weights=False),
    dict(n=500, seed=1, ties=False, weights=False),
    dict(n=700, seed=2, ties=True, weights=True),
    dict(n=700, seed=3, ties=True, weights=True, zero_weights=True),
    dict(n=50, seed=4, ties=False, weights=True),
    dict(n=8, seed=5, ties=False, weights=False),
]


def _ok(y, w):
    wy = np.ones_like(y) if w is None else w
    return wy[y == 1].sum() > 0 and wy[y == 0].sum() > 0


@pytest.mark.parametrize("case", CASES)
def test_scalar_metrics_equal_sklearn(case):
    y, p, w = make_data(**case)
    if not _ok(y, w):
        raise AssertionError("test data must have both classes; change the seed")
    assert cm.roc_auc_score(y, p, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(y, p, sample_weight=w), abs=TOL)
    assert cm.average_precision_score(y, p, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, p, sample_weight=w), abs=TOL)
    assert cm.log_loss(y, p, sample_weight=w) == pytest.approx(
        skm.log_loss(y, p, sample_weight=w), abs=TOL)
    assert cm.brier_score_loss(y, p, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(y, p, sample_weight=w), abs=TOL)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("drop", [True, False])
def test_curves_equal_sklearn(case, drop):
    y, p, w = make_data(**case)
    ours = cm.roc_curve(y, p, sample_weight=w, drop_intermediate=drop)
    ref = skm.roc_curve(y, p, sample_weight=w, drop_intermediate=drop)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    ours = cm.precision_recall_curve(y, p, sample_weight=w, drop_intermediate=drop)
    ref = skm.precision_recall_curve(y, p, sample_weight=w, drop_intermediate=drop)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


def test_raw_scores_and_dtypes():
    rng = np.random.default_rng(9)
    s = rng.normal(size=400) * 5
    y = rng.random(400) < 0.3
    assert cm.roc_auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert cm.roc_auc_score(y.astype(int), s.astype(np.float32)) == pytest.approx(
        skm.roc_auc_score(y, s.astype(np.float32)), abs=TOL)
    # strided view (no copy path)
    big = np.repeat(s, 2)
    assert cm.roc_auc_score(np.repeat(y, 2)[::2], big[::2]) == pytest.approx(
        skm.roc_auc_score(y, s), abs=TOL)
    # log loss clipping of 0 and 1 as scikit-learn
    yy = np.array([0, 1, 0, 1.0])
    pp = np.array([1.0, 0.0, 0.0, 1.0])
    assert cm.log_loss(yy, pp) == pytest.approx(skm.log_loss(yy, pp), rel=1e-14)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("seed,ties", [(0, True), (1, False), (2, True)])
def test_reliability_curve_equals_calibration_curve(strategy, seed, ties):
    y, p, _ = make_data(600, seed, ties=ties)
    for n_bins in (1, 5, 10, 13):
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
        rc = cm.reliability_curve(y, p, n_bins=n_bins, strategy=strategy)
        np.testing.assert_allclose(rc.observed_rate, prob_true, rtol=0, atol=TOL)
        np.testing.assert_allclose(rc.mean_predicted, prob_pred, rtol=0, atol=TOL)
        # ECE / MCE from the same bins, by hand
        if strategy == "uniform":
            edges = np.linspace(0, 1, n_bins + 1)
        else:
            edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
        ids = np.searchsorted(edges[1:-1], p)
        cnt = np.bincount(ids, minlength=n_bins)
        nz = cnt > 0
        gap = np.abs(np.bincount(ids, y, n_bins)[nz] / cnt[nz] - np.bincount(ids, p, n_bins)[nz] / cnt[nz])
        assert cm.expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy) == pytest.approx(
            np.sum(cnt[nz] / len(p) * gap), abs=TOL)
        assert cm.max_calibration_error(y, p, n_bins=n_bins, strategy=strategy) == pytest.approx(
            gap.max(), abs=TOL)
        np.testing.assert_array_equal(rc.count, cnt[nz])


def test_reliability_intervals_equal_statsmodels_wilson():
    from statsmodels.stats.proportion import proportion_confint

    y, p, _ = make_data(800, 7)
    rc = cm.reliability_curve(y, p, n_bins=8, confidence=0.9)
    for j in range(len(rc.count)):
        k = rc.observed_rate[j] * rc.count[j]
        lo, hi = proportion_confint(round(k), rc.count[j], alpha=0.1, method="wilson")
        assert rc.ci_lower[j] == pytest.approx(lo, abs=1e-12)
        assert rc.ci_upper[j] == pytest.approx(hi, abs=1e-12)


def test_weighted_quantile_bins_with_integer_weights_equal_repetition():
    y, p, _ = make_data(300, 11)
    w = np.random.default_rng(1).integers(0, 4, size=300).astype(float)
    yr, pr = np.repeat(y, w.astype(int)), np.repeat(p, w.astype(int))
    a = cm.expected_calibration_error(y, p, n_bins=7, strategy="quantile", sample_weight=w)
    b = cm.expected_calibration_error(yr, pr, n_bins=7, strategy="quantile")
    assert a == pytest.approx(b, abs=TOL)


def test_intervals_equal_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from calibrisk import _core

    for x, n in [(0, 10), (1, 10), (8, 10), (10, 10), (37, 211), (500, 1000)]:
        for conf in (0.8, 0.95, 0.99):
            lo, hi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
            assert _core.wilson_interval(x, n, conf) == pytest.approx((lo, hi), abs=1e-12)
            lo, hi = proportion_confint(x, n, alpha=1 - conf, method="beta")
            assert _core.clopper_pearson_interval(x, n, conf) == pytest.approx((lo, hi), abs=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_calibration_intercept_slope_equal_statsmodels_glm(weighted):
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 4000
    lp = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.7 * lp)))).astype(float)
    p = 1 / (1 + np.exp(-lp))
    p[:3] = [0.0, 1.0, 1e-20]  # clipped before the logit
    w = rng.random(n) * 2 if weighted else None
    fit = cm.calibration_intercept_slope(y, p, sample_weight=w)
    q = np.clip(p, 1e-15, 1 - 1e-15)
    x = np.log(q / (1 - q))
    kw = {} if w is None else {"freq_weights": w}
    glm_int = sm.GLM(y, np.ones((n, 1)), family=sm.families.Binomial(), offset=x, **kw).fit(tol=1e-13)
    glm_slope = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial(), **kw).fit(tol=1e-13)
    assert fit.converged
    assert fit.intercept == pytest.approx(glm_int.params[0], abs=1e-8)
    assert fit.slope_intercept == pytest.approx(glm_slope.params[0], abs=1e-8)
    assert fit.slope == pytest.approx(glm_slope.params[1], abs=1e-8)
    assert fit.intercept_se == pytest.approx(glm_int.bse[0], rel=1e-6)
    assert fit.slope_se == pytest.approx(glm_slope.bse[1], rel=1e-6)


def test_degenerate_calibration_fit_and_spiegelhalter():
    """Issue 11 §2: constant predictions leave the slope undefined (NaN, not the start value 1);
    the intercept is the closed form logit(mean y) - logit(p), as statsmodels' offset GLM."""
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0])
    fit = cm.calibration_intercept_slope(y, np.full(8, 0.3))
    assert np.isnan(fit.slope) and np.isnan(fit.slope_se) and not fit.converged
    assert fit.intercept == pytest.approx(np.log(0.25 / 0.75) - np.log(0.3 / 0.7), abs=1e-9)
    from calibrisk import _core

    d = _core.metrics_intercept_slope(y, np.full(8, 0.3), None, 100, 1e-10)
    assert d["intercept_converged"] and not d["slope_identifiable"]
    # Spiegelhalter's z is 0/0 when every prediction is 0, 0.5 or 1: a documented InvalidInput
    # for a direct call (evaluate reports it as undefined instead).
    with pytest.raises(calibrisk.InvalidInputError, match="variance"):
        cm.spiegelhalter_test(y, np.where(y == 1, 1.0, 0.5))


@pytest.mark.parametrize("weighted", [False, True])
def test_spiegelhalter_equals_formula_with_scipy(weighted):
    y, p, w = make_data(900, 5, ties=False, weights=weighted)
    w1 = np.ones_like(p) if w is None else w
    z = np.sum(w1 * (y - p) * (1 - 2 * p)) / np.sqrt(np.sum(w1**2 * (1 - 2 * p) ** 2 * p * (1 - p)))
    r = cm.spiegelhalter_test(y, p, sample_weight=w)
    assert r.z == pytest.approx(z, abs=1e-12)
    assert r.p_value == pytest.approx(2 * scipy.stats.norm.sf(abs(z)), rel=1e-12)
    # miscalibrated predictions give a tiny p-value
    assert cm.spiegelhalter_test(y, p**3).p_value < 1e-6


def test_net_benefit_equals_direct_formula():
    y, p, w = make_data(500, 8, weights=True)
    grid = np.array([0.05, 0.5, 0.1, 0.3, 0.0, 0.95])
    dc = cm.net_benefit(y, p, grid, sample_weight=w)
    W = w.sum()
    for k, t in enumerate(grid):
        flag = p >= t
        tp = w[flag & (y == 1)].sum()
        fp = w[flag & (y == 0)].sum()
        assert dc.net_benefit[k] == pytest.approx(tp / W - fp / W * t / (1 - t), abs=1e-12)
        prev = w[y == 1].sum() / W
        assert dc.treat_all[k] == pytest.approx(prev - (1 - prev) * t / (1 - t), abs=1e-12)
    assert np.all(dc.treat_none == 0)
    assert len(cm.net_benefit(y, p).thresholds) == 99


def test_bootstrap_deterministic_across_threads_and_seeded():
    y, p, _ = make_data(2000, 12, ties=False)
    a = cm.bootstrap(y, p, ["roc_auc", "ece", "brier_score_loss"], n_replicates=300, random_state=7,
                     n_threads=1)
    b = cm.bootstrap(y, p, ["roc_auc", "ece", "brier_score_loss"], n_replicates=300, random_state=7,
                     n_threads=2)
    c = cm.bootstrap(y, p, ["roc_auc", "ece", "brier_score_loss"], n_replicates=300, random_state=8,
                     n_threads=2)
    for k in a:
        np.testing.assert_array_equal(a[k].replicates, b[k].replicates)
        assert not np.array_equal(a[k].replicates, c[k].replicates)
        assert a[k].lower <= a[k].point <= a[k].upper
    assert a["roc_auc"].point == cm.roc_auc_score(y, p)
    assert a["ece"].point == cm.expected_calibration_error(y, p)
    # percentile interval as numpy computes it from the replicates
    r = a["roc_auc"].replicates
    assert a["roc_auc"].lower == pytest.approx(np.percentile(r, 2.5), abs=1e-15)
    assert a["roc_auc"].upper == pytest.approx(np.percentile(r, 97.5), abs=1e-15)
    # single metric returns one result
    one = cm.bootstrap(y, p, "average_precision", n_replicates=50)
    assert isinstance(one, cm.BootstrapResult) and one.replicates.shape == (50,)


def test_bootstrap_stratified_keeps_class_counts_and_replicates_are_resamples():
    y, p, _ = make_data(400, 13, ties=False)
    res = cm.bootstrap(y, p, "log_loss", n_replicates=200, random_state=1)
    # each replicate's log loss is a mean over a resample: it lies within the range of row losses
    ll = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert np.all(res.replicates >= ll.min() - 1e-12) and np.all(res.replicates <= ll.max() + 1e-12)
    # the bootstrap standard error of a mean is close to the analytic one
    se = ll.std(ddof=1) / np.sqrt(len(ll))
    assert res.std_error == pytest.approx(se, rel=0.25)


def test_bootstrap_coverage_sanity():
    # AUC of a known model: intervals from many independent samples cover the truth ~95 %.
    rng = np.random.default_rng(0)
    n, trials, covered = 300, 60, 0
    big_y = rng.random(200000) < 0.3
    big_s = rng.normal(size=200000) + big_y * 1.0
    truth = skm.roc_auc_score(big_y, big_s)
    for t in range(trials):
        yy = rng.random(n) < 0.3
        ss = rng.normal(size=n) + yy * 1.0
        r = cm.bootstrap(yy, ss, "roc_auc", n_replicates=300, random_state=t)
        covered += r.lower <= truth <= r.upper
    assert 0.82 <= covered / trials <= 1.0


def test_grouped_bootstrap_resamples_whole_groups():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(100), 5)
    # every row of a group has the same score and label: a grouped replicate then consists of
    # whole groups, so each replicate AUC equals the AUC of group-level data with multiplicities
    s_g = rng.random(100)
    y_g = (rng.random(100) < s_g).astype(float)
    s, y = s_g[g], y_g[g]
    labels = np.array([f"patient-{k:03d}" for k in g])  # any sortable key (same order as g)
    a = cm.bootstrap(y, s, "roc_auc", groups=labels, n_replicates=200, random_state=3)
    b = cm.bootstrap(y, s, "roc_auc", groups=g, n_replicates=200, random_state=3, n_threads=1)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    u = cm.bootstrap(y, s, "roc_auc", n_replicates=200, random_state=3)
    # grouped intervals are wider than the (wrong) row-level ones on clustered data
    assert (a.upper - a.lower) > (u.upper - u.lower)


def test_bootstrap_errors():
    y, p, _ = make_data(100, 1)
    with pytest.raises(InvalidParamsError, match="unknown metric"):
        cm.bootstrap(y, p, "accuracy")
    with pytest.raises(InvalidParamsError, match="n_replicates"):
        cm.bootstrap(y, p, "roc_auc", n_replicates=0)
    with pytest.raises(InvalidParamsError, match="confidence"):
        cm.bootstrap(y, p, "roc_auc", confidence=1.0)
    with pytest.raises(InvalidInputError, match="one group key per row"):
        cm.bootstrap(y, p, "roc_auc", groups=np.arange(5))
    with pytest.raises(InvalidParamsError, match="random_state"):
        cm.bootstrap(y, p, "roc_auc", random_state=-1)


def test_error_paths():
    with pytest.raises(InvalidInputError, match="one score per label"):
        cm.roc_auc_score([0, 1, 1], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match="is nan"):
        cm.roc_auc_score([0, 1], [0.1, np.nan])
    with pytest.raises(InvalidInputError, match="p\\[1\\] is nan"):
        cm.log_loss([0, 1], [0.1, np.nan])
    with pytest.raises(InvalidInputError, match="only class 1"):
        cm.roc_auc_score([1, 1], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match="no positive"):
        cm.average_precision_score([0, 0], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match="only class 0"):
        cm.roc_curve([0, 0], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        cm.brier_score_loss([0, 1], [0.1, 1.2])
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        cm.expected_calibration_error([0, 1], [-0.1, 0.2])
    with pytest.raises(InvalidInputError, match="labels must be 0 or 1"):
        cm.roc_auc_score([0, 2], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match="must be 1-D"):
        cm.roc_auc_score([[0, 1]], [[0.1, 0.2]])
    with pytest.raises(InvalidParamsError, match="strategy"):
        cm.reliability_curve([0, 1], [0.1, 0.2], strategy="kmeans")
    with pytest.raises(InvalidParamsError, match="n_bins"):
        cm.expected_calibration_error([0, 1], [0.1, 0.2], n_bins=0)
    with pytest.raises(InvalidInputError, match="variance"):
        cm.spiegelhalter_test([0, 1], [0.5, 0.5])
    with pytest.raises(InvalidInputError, match="one weight per row"):
        cm.log_loss([0, 1], [0.1, 0.2], sample_weight=[1.0])
    # errors are ValueErrors, as scikit-learn's
    with pytest.raises(ValueError):
        cm.roc_auc_score([1, 1], [0.1, 0.2])


def test_public_names():
    for name in cm.__all__:
        assert hasattr(cm, name)
    assert calibrisk.metrics is cm


EDGE_CASES = [
    ("all scores tied", [0, 1, 0, 1, 1], [0.3] * 5, None),
    ("one positive", [0, 0, 0, 1, 0], [0.1, 0.4, 0.2, 0.3, 0.9], None),
    ("perfect separation", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], None),
    ("inverted ranking", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], None),
    ("two rows", [0, 1], [0.4, 0.6], None),
    ("zero weights drop thresholds", [0, 1, 0, 1, 1, 0], [0.1, 0.5, 0.5, 0.7, 0.9, 0.95],
     [1.0, 2.0, 0.0, 1.0, 0.5, 0.0]),
    ("probabilities 0 and 1", [0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 2.0, 0.5]),
]


@pytest.mark.parametrize("name,y,p,w", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_edge_cases_equal_sklearn(name, y, p, w):
    y, p = np.asarray(y, float), np.asarray(p, float)
    assert cm.roc_auc_score(y, p, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(y, p, sample_weight=w), abs=TOL)
    assert cm.average_precision_score(y, p, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, p, sample_weight=w), abs=TOL)
    assert cm.log_loss(y, p, sample_weight=w) == pytest.approx(
        skm.log_loss(y, p, sample_weight=w), abs=TOL)
    assert cm.brier_score_loss(y, p, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(y, p, sample_weight=w), abs=TOL)
    for drop in (True, False):
        for ours, ref in ((cm.roc_curve(y, p, sample_weight=w, drop_intermediate=drop),
                           skm.roc_curve(y, p, sample_weight=w, drop_intermediate=drop)),
                          (cm.precision_recall_curve(y, p, sample_weight=w, drop_intermediate=drop),
                           skm.precision_recall_curve(y, p, sample_weight=w, drop_intermediate=drop))):
            for a, b in zip(ours, ref):
                np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
