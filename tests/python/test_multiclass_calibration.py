# SPDX-License-Identifier: Apache-2.0
"""Multiclass calibration: temperature scaling and one-vs-rest against scikit-learn's
CalibratedClassifierCV (same folds, 1e-6), Dirichlet calibration against an independent scipy
solve of the ODIR objective and against unpenalised multinomial logistic regression on log p,
known truths of synthetic data, weights as row copies, saved state, cross-fitting by group and
time, and bad input."""

import pickle

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.calibration import CalibratedClassifierCV, _TemperatureScaling
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

import calibrisk as cr
from calibrisk.exceptions import InvalidInputError, InvalidParamsError, ModelFormatError


def _data(n=1500, k=4, seed=0):
    X, y = make_classification(n_samples=n, n_features=8, n_informative=6, n_redundant=0,
                               n_classes=k, n_clusters_per_class=1, class_sep=1.0,
                               random_state=seed)
    return X, y


def _scores(k=4, n=1200, seed=0, scale=2.5):
    """Over-confident logits of a K-class problem and labels drawn from the true softmax."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 1.5
    y = np.array([rng.choice(k, p=p) for p in softmax(z, axis=1)])
    return z * scale, y


# ----------------------------------------------------------------------------- temperature
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("probabilities", [False, True])
def test_temperature_equals_sklearn_temperature_scaling(weighted, probabilities):
    z, y = _scores(k=5, seed=1)
    w = np.random.default_rng(2).exponential(size=len(y)) if weighted else None
    s = softmax(z, axis=1) if probabilities else z
    ref = _TemperatureScaling().fit(s, y, sample_weight=w)
    ours = cr.TemperatureScaling().fit(s, y, sample_weight=w)
    assert ours.input_ == ("probability" if probabilities else "margin")
    # scikit-learn's bounded Brent stops at |d log beta| ~ 1.5e-8 |log beta|: 1e-6 is ample.
    assert ours.beta_ == pytest.approx(float(ref.beta_), rel=1e-6)
    np.testing.assert_allclose(ours.predict_proba(s), ref.predict(s), atol=1e-7)


def test_temperature_known_answer_two_logit_patterns():
    # Logits (-1, 1) on every row, 3 rows of class 1 and 1 of class 0: q1 = sigmoid(2 beta) must
    # equal 3/4, so beta = ln(3) / 2 exactly.
    z = np.tile([[-1.0, 1.0]], (4, 1))
    y = np.array([1, 1, 1, 0])
    t = cr.TemperatureScaling().fit(z, y)
    assert t.beta_ == pytest.approx(np.log(3) / 2, rel=1e-14)
    assert t.temperature_ == pytest.approx(2 / np.log(3), rel=1e-14)


def test_temperature_recovers_the_true_temperature():
    # Labels from softmax(z / 1) and logits multiplied by 2.5: the fitted T is 2.5 (n = 40 000).
    z, y = _scores(k=4, n=40000, seed=3, scale=2.5)
    t = cr.TemperatureScaling().fit(z, y)
    assert t.temperature_ == pytest.approx(2.5, rel=0.03)


def test_temperature_keeps_the_argmax():
    z, y = _scores(seed=4)
    t = cr.TemperatureScaling().fit(z, y)
    np.testing.assert_array_equal(np.argmax(t.predict_proba(z), axis=1), np.argmax(z, axis=1))


def test_calibrated_classifier_temperature_equals_sklearn_on_the_same_folds():
    X, y = _data(k=4, seed=5)
    ref = CalibratedClassifierCV(LogisticRegression(max_iter=1000), method="temperature",
                                 cv=3).fit(X, y)
    ours = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="temperature",
                                   cv=3).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


# ----------------------------------------------------------------------------- one-vs-rest
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("k", [3, 5])
def test_one_vs_rest_equals_sklearn_multiclass_calibration(method, k):
    X, y = _data(n=1200, k=k, seed=6 + k)
    labels = np.array(["c%d" % v for v in y])  # string labels: classes_ order must match
    ref = CalibratedClassifierCV(LogisticRegression(max_iter=1000), method=method,
                                 cv=3).fit(X, labels)
    ours = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method=method,
                                   cv=3).fit(X, labels)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    # scikit-learn fits the sigmoid by L-BFGS (gtol 1e-6 on the summed loss); ours is exact.
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_one_vs_rest_all_zero_row_becomes_uniform_as_sklearn():
    # Isotonic on margins: class k's map is 0 below its lowest positive score; a row scored
    # below every class's positives gets zeros everywhere, then 1/K (scikit-learn's rule).
    s = 5.0 * np.eye(3)
    y = np.array([0, 1, 2])
    cal = cr.OneVsRestCalibrator(method="isotonic", input="margin").fit(s, y)
    p = cal.predict_proba(np.array([[-1.0, -1.0, -1.0]]))
    np.testing.assert_allclose(p, [[1 / 3, 1 / 3, 1 / 3]], rtol=0, atol=0)


def test_one_vs_rest_rows_sum_to_one_and_beta_needs_probabilities():
    z, y = _scores(k=4, seed=8)
    P = softmax(z, axis=1)
    for method in ("sigmoid", "isotonic", "beta"):
        q = cr.OneVsRestCalibrator(method=method).fit(P, y).predict_proba(P)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    with pytest.raises(InvalidParamsError, match="beta calibrates probabilities"):
        cr.OneVsRestCalibrator(method="beta", input="margin").fit(z, y)


def test_one_vs_rest_class_absent_from_calibration_rows_is_an_error_naming_it():
    z, y = _scores(k=4, seed=9)
    keep = y != 2
    with pytest.raises(InvalidInputError, match="class 2 has no calibration rows"):
        cr.OneVsRestCalibrator().fit(z[keep], y[keep])


# ----------------------------------------------------------------------------- Dirichlet
def _odir_reference(P, y, lam, mu, w=None):
    """The ODIR objective minimised by scipy's BFGS from W = I, b = 0 (independent code)."""
    n, k = P.shape
    L = np.log(np.clip(P, 1e-12, 1.0))
    Y = np.eye(k)[y]
    w = np.ones(n) if w is None else w
    w = w / w.sum()
    off = ~np.eye(k, dtype=bool)

    def f(theta):
        T = theta.reshape(k, k + 1)
        W, b = T[:, :k], T[:, k]
        Z = L @ W.T + b
        loss = -(w * np.sum(Y * log_softmax(Z, axis=1), axis=1)).sum()
        reg = lam / (k * (k - 1)) * np.sum(W[off] ** 2) + mu / k * np.sum(b ** 2)
        R = (softmax(Z, axis=1) - Y) * w[:, None]
        G = np.hstack([R.T @ L, R.sum(axis=0)[:, None]])
        G[:, :k][off] += 2 * lam / (k * (k - 1)) * W[off]
        G[:, k] += 2 * mu / k * b
        return loss + reg, G.ravel()

    theta0 = np.hstack([np.eye(k), np.zeros((k, 1))]).ravel()
    r = minimize(f, theta0, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 10000})
    T = r.x.reshape(k, k + 1)
    return T[:, :k], T[:, k], r.fun


@pytest.mark.parametrize("lam,mu", [(1e-3, 1e-3), (0.1, 0.01), (1.0, 1.0)])
def test_dirichlet_equals_an_independent_solve_of_the_odir_objective(lam, mu):
    z, y = _scores(k=4, n=800, seed=10)
    P = softmax(z, axis=1)
    w = np.random.default_rng(11).exponential(size=len(y))
    W, b, fun = _odir_reference(P, y, lam, mu, w)
    d = cr.DirichletCalibrator(reg_lambda=lam, reg_mu=mu).fit(P, y, sample_weight=w)
    assert d.objective_ == pytest.approx(fun, rel=1e-9)
    # Strictly convex: the minimiser is unique, so the parameters agree too.
    np.testing.assert_allclose(d.coef_, W, atol=1e-5)
    np.testing.assert_allclose(d.intercept_, b, atol=1e-5)


def test_dirichlet_without_regularisation_is_multinomial_lr_on_log_probabilities():
    z, y = _scores(k=3, n=2000, seed=12)
    P = softmax(z, axis=1)
    L = np.log(P)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(L, y)
    d = cr.DirichletCalibrator(reg_lambda=0.0, reg_mu=0.0).fit(P, y)
    np.testing.assert_allclose(d.predict_proba(P), ref.predict_proba(L), atol=1e-6)


def test_dirichlet_saturated_fit_reproduces_pattern_frequencies():
    # K + 1 = 4 distinct probability vectors with affinely independent log p: the unpenalised
    # model can match any class frequencies per pattern, so the MLE equals them exactly.
    patterns = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    counts = np.array([[5, 3, 2], [1, 6, 3], [2, 2, 6], [4, 1, 5]])
    P, y = [], []
    for p, c in zip(patterns, counts):
        for cls, m in enumerate(c):
            P += [p] * m
            y += [cls] * m
    d = cr.DirichletCalibrator(reg_lambda=0.0, reg_mu=0.0).fit(np.array(P), np.array(y))
    np.testing.assert_allclose(d.predict_proba(patterns), counts / counts.sum(1, keepdims=True),
                               atol=1e-8)


def test_dirichlet_beats_temperature_on_class_specific_miscalibration():
    # Truth: class 0 over-predicted, class 2 under-predicted, plus over-confidence. Temperature
    # scaling has one parameter and cannot fix a per-class bias; Dirichlet can.
    rng = np.random.default_rng(13)
    k, n = 4, 6000
    z = rng.normal(size=(n, k)) * 1.5
    y = np.array([rng.choice(k, p=p) for p in softmax(z, axis=1)])
    shown = softmax(2.0 * z + np.array([1.0, 0.0, -1.0, 0.0]), axis=1)
    half = n // 2
    t = cr.TemperatureScaling().fit(shown[:half], y[:half])
    d = cr.DirichletCalibrator().fit(shown[:half], y[:half])
    pt, pd_ = t.predict_proba(shown[half:]), d.predict_proba(shown[half:])
    yt = y[half:]
    assert cr.metrics.log_loss(yt, pd_) < cr.metrics.log_loss(yt, pt) - 0.01
    assert cr.metrics.classwise_ece(yt, pd_) < cr.metrics.classwise_ece(yt, pt)


def test_absent_class_dirichlet_and_one_vs_rest_refuse_temperature_allows():
    z, y = _scores(k=4, seed=14)
    P = softmax(z, axis=1)
    keep = y != 3
    with pytest.raises(InvalidInputError, match="class 3 of 4 has no calibration rows"):
        cr.DirichletCalibrator().fit(P[keep], y[keep])
    q = cr.TemperatureScaling().fit(P[keep], y[keep]).predict_proba(P)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)


def test_dirichlet_rejects_too_many_classes():
    k = cr._core.MAX_DIRICHLET_CLASSES + 1
    P = np.full((2 * k, k), 1.0 / k)
    y = np.arange(2 * k) % k
    with pytest.raises(InvalidInputError, match="at most 32 classes"):
        cr.DirichletCalibrator().fit(P, y)


# ----------------------------------------------------------------------------- shared contracts
_CALIBRATORS = [
    lambda: cr.TemperatureScaling(),
    lambda: cr.OneVsRestCalibrator(method="sigmoid"),
    lambda: cr.OneVsRestCalibrator(method="isotonic"),
    lambda: cr.OneVsRestCalibrator(method="beta"),
    lambda: cr.DirichletCalibrator(),
]


@pytest.mark.parametrize("make", _CALIBRATORS)
def test_integer_weights_equal_repeated_rows(make):
    z, y = _scores(k=3, n=300, seed=15)
    P = softmax(z, axis=1)
    w = np.random.default_rng(16).integers(0, 3, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    a = make().fit(P, y, sample_weight=w).predict_proba(P)
    b = make().fit(P[rows], y[rows]).predict_proba(P)
    np.testing.assert_allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("make", _CALIBRATORS)
def test_pickle_and_bytes_round_trip_bit_identically(make):
    z, y = _scores(k=3, n=300, seed=17)
    P = softmax(z, axis=1)
    c = make().fit(P, y)
    again = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(again.predict_proba(P), c.predict_proba(P))
    raw = c._cal.to_bytes()
    assert type(c._cal).from_bytes(raw).to_bytes() == raw
    assert make().fit(P, y)._cal.to_bytes() == raw  # deterministic fit


def test_edited_bytes_are_rejected_with_the_path():
    z, y = _scores(k=3, n=200, seed=18)
    c = cr.DirichletCalibrator().fit(softmax(z, axis=1), y)
    raw = c._cal.to_bytes().replace(b'"n_classes":3', b'"n_classes":4')
    with pytest.raises(ModelFormatError, match="/calibrator/state"):
        type(c._cal).from_bytes(raw)
    with pytest.raises(ModelFormatError, match="/calibrator/type is \"platt\" but a multiclass"):
        type(c._cal).from_bytes(c._cal.to_bytes().replace(b'"dirichlet"', b'"platt"'))
    t = cr.TemperatureScaling().fit(z, y)
    with pytest.raises(ModelFormatError, match="belong to another multiclass calibrator"):
        type(c._cal).from_bytes(t._cal.to_bytes())


@pytest.mark.parametrize("make", _CALIBRATORS)
def test_bad_input_gets_clear_errors(make):
    z, y = _scores(k=3, n=100, seed=19)
    P = softmax(z, axis=1)
    with pytest.raises(InvalidInputError, match="only class 0"):
        make().fit(P, np.zeros(len(y), dtype=int))
    bad = P.copy()
    bad[5, 1] = np.nan
    with pytest.raises(InvalidInputError, match=r"scores\[5, 1\] is nan"):
        make().fit(bad, y)
    with pytest.raises(InvalidInputError, match="labels must be class indices 0..2"):
        make().fit(P, np.where(y == 2, 7, y))
    c = make().fit(P, y)
    with pytest.raises(InvalidInputError, match="fitted on 3 classes"):
        c.predict_proba(np.full((2, 4), 0.25))


def test_probability_rows_not_summing_to_one_are_rejected():
    z, y = _scores(k=3, n=100, seed=20)
    P = softmax(z, axis=1)
    P[3] *= 0.9
    with pytest.raises(InvalidInputError, match="row 3 of the probabilities sums to"):
        cr.DirichletCalibrator(input="probability").fit(P, y)


# ----------------------------------------------------------------------------- cross-fitting
def test_grouped_multiclass_cross_fitting_never_splits_a_group():
    X, y = _data(n=900, k=3, seed=21)
    groups = np.arange(len(y)) // 3
    clf = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="dirichlet",
                                  cv=3).fit(X, y, groups=groups)
    for g in np.unique(groups):
        assert len(np.unique(clf.split_[groups == g])) == 1
    p = clf.predict_proba(X)
    assert p.shape == (len(y), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("method", ["temperature", "dirichlet", "isotonic"])
def test_time_ordered_multiclass_calibrates_on_the_latest_rows(method):
    X, y = _data(n=900, k=3, seed=22)
    t = np.arange(len(y), dtype=float)
    clf = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method=method, cv="time",
                                  calibration_fraction=0.3).fit(X, y, time=t)
    late = clf.split_ == 1
    assert 0.25 * len(y) <= late.sum() <= 0.35 * len(y)
    assert t[late].min() > t[~late].max()
    # the member's calibrator equals one fitted on the later rows only
    m = clf.calibrated_classifiers_[0]
    expected = type(m.calibrator)(**m.calibrator.get_params()).fit(
        m.estimator.decision_function(X[late]) if m.score_kind == "margin"
        else m.estimator.predict_proba(X[late]), y[late])
    np.testing.assert_allclose(clf.predict_proba(X), expected.predict_proba(
        m.estimator.decision_function(X) if m.score_kind == "margin"
        else m.estimator.predict_proba(X)), atol=1e-12)


def test_multiclass_ensemble_false_fits_one_calibrator_on_out_of_fold_scores():
    X, y = _data(n=900, k=3, seed=23)
    clf = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="temperature", cv=3,
                                  ensemble=False).fit(X, y)
    ref = CalibratedClassifierCV(LogisticRegression(max_iter=1000), method="temperature", cv=3,
                                 ensemble=False).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_one_vs_rest_fold_without_a_class_names_it():
    X, y = _data(n=600, k=3, seed=24)
    # the calibration part holds classes 0 and 1 only; the fitting part has every class
    ca = np.concatenate([np.flatnonzero(y == 0)[:50], np.flatnonzero(y == 1)[:50]])
    folds = [(np.setdiff1d(np.arange(len(y)), ca), ca)]
    with pytest.raises(InvalidInputError, match="calibration part of fold 0 has no row of class"):
        cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="isotonic",
                                cv=folds).fit(X, y)
    # temperature scaling has one parameter for all classes: the same folds are fine
    p = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="temperature",
                                cv=folds).fit(X, y).predict_proba(X)
    assert p.shape == (len(y), 3)


def test_venn_abers_is_binary_only():
    X, y = _data(n=300, k=3, seed=25)
    with pytest.raises(InvalidParamsError, match="venn_abers' is binary only"):
        cr.CalibratedClassifier(LogisticRegression(), method="venn_abers").fit(X, y)


def test_stratified_folds_equal_sklearns_for_multiclass():
    X, y = _data(n=600, k=4, seed=26)
    clf = cr.CalibratedClassifier(LogisticRegression(max_iter=1000), method="temperature",
                                  cv=3).fit(X, y)
    for f, (_, test) in enumerate(StratifiedKFold(3).split(X, y)):
        assert (clf.split_[test] == f).all()
