# SPDX-License-Identifier: Apache-2.0
"""Multiclass metrics: log loss, Brier, confusion matrix and precision / recall / F-beta against
sklearn.metrics (1e-12); top-label and classwise ECE on hand-computed cases and against the
binary ECE; classwise reliability curves against sklearn's calibration_curve; Wilson intervals
against statsmodels; bootstrap determinism and a known standard error."""

import numpy as np
import pytest
import sklearn.metrics as skm
from scipy.special import softmax
from sklearn.calibration import calibration_curve
from statsmodels.stats.proportion import proportion_confint

import calibrisk as cr
from calibrisk import metrics as M
from calibrisk.exceptions import InvalidInputError, InvalidParamsError


def _problem(n=500, k=4, seed=0):
    rng = np.random.default_rng(seed)
    P = softmax(rng.normal(size=(n, k)) * 2.0, axis=1)
    y = np.array([rng.choice(k, p=p) for p in softmax(rng.normal(size=(n, k)), axis=1)])
    y[:k] = np.arange(k)  # every class present
    w = rng.exponential(size=n)
    return y, P, w


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [2, 3, 6])
def test_log_loss_and_brier_equal_sklearn(weighted, k):
    y, P, w = _problem(k=k, seed=k)
    w = w if weighted else None
    labels = np.array(["a", "b", "c", "d", "e", "f"])[:k]
    ys = labels[y]
    assert M.log_loss(ys, P, sample_weight=w) == pytest.approx(
        skm.log_loss(ys, P, sample_weight=w), rel=1e-12)
    assert M.brier_score_loss(ys, P, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(ys, P, sample_weight=w), rel=1e-12)


def test_log_loss_with_labels_when_a_class_is_absent():
    y, P, _ = _problem(k=3, seed=1)
    keep = y != 1
    got = M.log_loss(y[keep], P[keep], labels=[0, 1, 2])
    assert got == pytest.approx(skm.log_loss(y[keep], P[keep], labels=[0, 1, 2]), rel=1e-12)
    with pytest.raises(InvalidInputError, match="different numbers of classes: 2 vs 3"):
        M.log_loss(y[keep], P[keep])


def test_bad_probabilities_are_rejected():
    y, P, _ = _problem(k=3, seed=2)
    P[4] = [0.5, 0.5, 0.5]
    with pytest.raises(InvalidInputError, match="row 4 of P sums to 1.5"):
        M.log_loss(y, P)
    P[4] = [np.nan, 0.5, 0.5]
    with pytest.raises(InvalidInputError, match=r"P\[4, 0\] is nan"):
        M.classwise_ece(y, P)


# ----------------------------------------------------------------------------- ECE variants
def test_top_label_ece_hand_computed():
    # Confidences 0.7 (right), 0.6 (wrong), 0.9 (right), 0.4 (right), 10 uniform bins:
    # bins (0.3,0.4]: conf 0.4 acc 1 -> 0.6; (0.5,0.6]: 0.6 vs 0 -> 0.6; (0.6,0.7]: 0.7 vs 1
    # -> 0.3; (0.8,0.9]: 0.9 vs 1 -> 0.1. ECE = (0.6 + 0.6 + 0.3 + 0.1) / 4 = 0.4.
    P = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]])
    y = np.array([0, 1, 1, 2])
    assert M.top_label_ece(y, P) == pytest.approx(0.4, abs=1e-12)


def test_classwise_ece_hand_computed():
    # Two classes is the binary case for column 1 and its mirror for column 0.
    # Column 1: p = 0.2, 0.8, 0.8, 0.4 with y1 = 0, 1, 0, 1, 5 bins:
    # (0.0,0.2]: 0.2 vs 0 -> 0.2 (w 1/4); (0.2,0.4]: 0.4 vs 1 -> 0.6 (1/4);
    # (0.6,0.8]: 0.8 vs 0.5 -> 0.3 (2/4) => 0.05 + 0.15 + 0.15 = 0.35.
    # Column 0: p = 0.8, 0.2, 0.2, 0.6 with y0 = 1, 0, 1, 0:
    # (0.0,0.2]: 0.2 vs 0.5 -> 0.3 (2/4); (0.4,0.6]: 0.6 vs 0 -> 0.6; (0.6,0.8]: 0.8 vs 1 -> 0.2
    # => 0.15 + 0.15 + 0.05 = 0.35. Mean 0.35.
    P = np.array([[0.8, 0.2], [0.2, 0.8], [0.2, 0.8], [0.6, 0.4]])
    y = np.array([0, 1, 0, 1])
    assert M.classwise_ece(y, P, n_bins=5) == pytest.approx(0.35, abs=1e-12)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_classwise_ece_is_the_mean_of_binary_eces(strategy):
    y, P, w = _problem(k=4, seed=3)
    expect = np.mean([M.expected_calibration_error((y == k).astype(float), P[:, k],
                                                   strategy=strategy, sample_weight=w)
                      for k in range(4)])
    assert M.classwise_ece(y, P, strategy=strategy, sample_weight=w) == pytest.approx(
        expect, rel=1e-12)
    conf = P.max(axis=1)
    correct = (P.argmax(axis=1) == y).astype(float)
    assert M.top_label_ece(y, P, strategy=strategy, sample_weight=w) == pytest.approx(
        M.expected_calibration_error(correct, conf, strategy=strategy, sample_weight=w),
        rel=1e-12)


def test_classwise_reliability_curves_equal_sklearn_calibration_curve():
    y, P, _ = _problem(k=3, seed=4)
    curves = M.classwise_reliability_curves(y, P, n_bins=8)
    assert len(curves) == 3
    for k, c in enumerate(curves):
        prob_true, prob_pred = calibration_curve(y == k, P[:, k], n_bins=8)
        np.testing.assert_allclose(c.observed_rate, prob_true, rtol=1e-12)
        np.testing.assert_allclose(c.mean_predicted, prob_pred, rtol=1e-12)


# ----------------------------------------------------------------------------- labels
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_matrix_equals_sklearn(weighted):
    rng = np.random.default_rng(5)
    labels = np.array(["x", "y", "z", "w"])
    yt, yp = labels[rng.integers(0, 4, 300)], labels[rng.integers(0, 3, 300)]
    w = rng.exponential(size=300) if weighted else None
    np.testing.assert_allclose(M.confusion_matrix(yt, yp, sample_weight=w),
                               skm.confusion_matrix(yt, yp, sample_weight=w), rtol=1e-12)
    order = ["z", "x", "w"]
    for normalize in (None, "true", "pred", "all"):
        np.testing.assert_allclose(
            M.confusion_matrix(yt, yp, labels=order, sample_weight=w, normalize=normalize),
            skm.confusion_matrix(yt, yp, labels=order, sample_weight=w, normalize=normalize),
            rtol=1e-12)
    assert M.confusion_matrix(yt, yp).dtype == np.int64


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_precision_recall_fscore_support_equals_sklearn(average, beta):
    rng = np.random.default_rng(6)
    yt, yp = rng.integers(0, 5, 400), rng.integers(0, 4, 400)  # class 4 is never predicted
    w = rng.exponential(size=400)
    ours = M.precision_recall_fscore_support(yt, yp, beta=beta, average=average, sample_weight=w,
                                             zero_division=0.0)
    ref = skm.precision_recall_fscore_support(yt, yp, beta=beta, average=average,
                                              sample_weight=w, zero_division=0.0)
    for a, b in zip(ours, ref):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_per_class_scores_have_statsmodels_wilson_intervals():
    rng = np.random.default_rng(7)
    yt, yp = rng.integers(0, 3, 250), rng.integers(0, 3, 250)
    s = M.per_class_scores(yt, yp, confidence=0.9)
    cm = skm.confusion_matrix(yt, yp)
    p, r, f, sup = skm.precision_recall_fscore_support(yt, yp, zero_division=0.0)
    np.testing.assert_allclose(s.precision, p, rtol=1e-12)
    np.testing.assert_allclose(s.recall, r, rtol=1e-12)
    np.testing.assert_allclose(s.f1, f, rtol=1e-12)
    np.testing.assert_array_equal(s.support, sup)
    for k in range(3):
        lo, hi = proportion_confint(cm[k, k], cm[:, k].sum(), alpha=0.1, method="wilson")
        assert (s.precision_lower[k], s.precision_upper[k]) == pytest.approx((lo, hi), rel=1e-9)
        lo, hi = proportion_confint(cm[k, k], cm[k, :].sum(), alpha=0.1, method="wilson")
        assert (s.recall_lower[k], s.recall_upper[k]) == pytest.approx((lo, hi), rel=1e-9)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_is_deterministic_across_threads_and_matches_the_point_estimates():
    y, P, _ = _problem(n=400, k=3, seed=8)
    names = ["log_loss", "brier_score", "top_label_ece", "classwise_ece", "accuracy", "macro_f1",
             "f1_1", "recall_2"]
    a = M.multiclass_bootstrap(y, P, names, n_replicates=200, n_threads=1, random_state=3)
    b = M.multiclass_bootstrap(y, P, names, n_replicates=200, n_threads=2, random_state=3)
    for n in names:
        np.testing.assert_array_equal(a[n].replicates, b[n].replicates)
        assert a[n].lower <= a[n].point <= a[n].upper
    assert a["log_loss"].point == pytest.approx(M.log_loss(y, P), rel=1e-12)
    assert a["classwise_ece"].point == pytest.approx(M.classwise_ece(y, P), rel=1e-12)
    assert a["top_label_ece"].point == pytest.approx(M.top_label_ece(y, P), rel=1e-12)
    assert a["accuracy"].point == pytest.approx(np.mean(P.argmax(1) == y), rel=1e-12)
    assert a["macro_f1"].point == pytest.approx(
        skm.f1_score(y, P.argmax(1), average="macro", labels=[0, 1, 2]), rel=1e-12)


def test_bootstrap_standard_error_of_accuracy_is_binomial():
    # Unstratified, the accuracy of n rows has standard error sqrt(a (1 - a) / n).
    y, P, _ = _problem(n=2000, k=3, seed=9)
    r = M.multiclass_bootstrap(y, P, "accuracy", n_replicates=2000, stratified=False)
    a = np.mean(P.argmax(1) == y)
    assert r.std_error == pytest.approx(np.sqrt(a * (1 - a) / len(y)), rel=0.1)


def test_bootstrap_unknown_metric_lists_the_known_ones():
    y, P, _ = _problem(n=50, k=3, seed=10)
    with pytest.raises(InvalidParamsError, match="unknown metric \"f1_7\""):
        M.multiclass_bootstrap(y, P, "f1_7", n_replicates=10)


def test_metrics_accept_calibrisk_calibrator_output():
    rng = np.random.default_rng(11)
    P = softmax(rng.normal(size=(600, 3)) * 2.0, axis=1)
    y = np.array([rng.choice(3, p=softmax(np.log(p) / 2.0)) for p in P])  # over-confident P
    q = cr.TemperatureScaling().fit(P, y).predict_proba(P)
    assert M.log_loss(y, q) <= M.log_loss(y, P) + 1e-12  # the fit minimises it
