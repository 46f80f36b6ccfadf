# SPDX-License-Identifier: Apache-2.0
"""Calibration: parity with scikit-learn (isotonic, sigmoid internals, CalibratedClassifierCV,
unpenalised logistic regression for beta), brute-force Venn-ABERS, prior correction, cross-fitting
that never leaks a group or the future, scikit-learn's estimator checks, errors."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import calibrisk as cr


def _tied_data(n, seed, levels=60, zero_weights=True):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, levels, n) / 7.0 - 3.0
    y = (rng.random(n) < 1 / (1 + np.exp(-s))).astype(float)
    w = rng.exponential(1.0, n)
    if zero_weights:
        w[rng.random(n) < 0.05] = 0.0
    y[:2] = [0, 1]
    w[:2] = 1.0
    return s, y, w


def _iso_pair(s, y, w, grid):
    ours = cr.IsotonicCalibrator().fit(s, y, w)
    ref = IsotonicRegression(out_of_bounds="clip").fit(s, y, sample_weight=w)
    return ours, ref, ours.predict(grid), ref.predict(grid)


# ----------------------------------------------------------------------------- isotonic
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weighted", [False, True])
def test_isotonic_equals_sklearn_on_ties_and_weights(seed, weighted):
    s, y, w = _tied_data(2000 + 500 * seed, seed)
    w = w if weighted else None
    grid = np.concatenate([np.linspace(-5, 8, 3001), s])
    ours, ref, a, b = _iso_pair(s, y, w, grid)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.X_thresholds_, ref.X_thresholds_, rtol=0, atol=0)
    np.testing.assert_allclose(ours.y_thresholds_, ref.y_thresholds_, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["sorted", "reversed", "constant", "continuous", "large"])
def test_isotonic_equals_sklearn_on_special_inputs(case):
    rng = np.random.default_rng(1)
    n = 500
    if case == "sorted":
        s = np.sort(rng.random(n))
        y = (rng.random(n) < s).astype(float)
    elif case == "reversed":
        s = np.sort(rng.random(n))[::-1].copy()
        y = (rng.random(n) < s).astype(float)
    elif case == "constant":
        s = np.full(n, 0.3)
        y = (rng.random(n) < 0.4).astype(float)
    elif case == "continuous":
        s = rng.normal(size=n)
        y = (rng.random(n) < 1 / (1 + np.exp(-2 * s))).astype(float)
    else:  # radix-sort path, scores spanning many magnitudes and both signs
        n = 50000
        s = rng.standard_cauchy(n)
        s[::7] = np.round(s[::7], 1)
        y = (rng.random(n) < 1 / (1 + np.exp(-np.clip(s, -50, 50)))).astype(float)
    w = rng.exponential(size=n)
    grid = np.concatenate([np.linspace(s.min() - 1, s.max() + 1, 2001), s])
    for weights in (None, w):
        _, _, a, b = _iso_pair(s, y, weights, grid)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_isotonic_y_bounds_equal_sklearn():
    s, y, w = _tied_data(1500, 11)
    grid = np.linspace(-4, 6, 777)
    a = cr.IsotonicCalibrator(y_min=0.05, y_max=0.9).fit(s, y, w).predict(grid)
    b = IsotonicRegression(y_min=0.05, y_max=0.9, out_of_bounds="clip").fit(s, y, w).predict(grid)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- Platt
def _platt_objective(a, b, s, y, w):
    """Weighted log loss with Platt's targets (weighted counts) at p = sigmoid(a s + b)."""
    w = np.ones_like(s) if w is None else w
    n1, n0 = w[y == 1].sum(), w[y == 0].sum()
    t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    z = a * s + b
    return float(np.sum(w * (np.logaddexp(0, z) - t * z)))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale", [1.0, 80.0])
def test_platt_matches_sklearn_sigmoid_calibration(seed, weighted, scale):
    rng = np.random.default_rng(seed)
    n = 400 + 300 * seed
    s = rng.normal(size=n) * scale
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * s / scale - 0.7)))).astype(float)
    w = rng.exponential(size=n) if weighted else None
    ours = cr.PlattCalibrator().fit(s, y, w)
    A, B = _sigmoid_calibration(s, y, w)
    ref_a, ref_b = -A, -B  # scikit-learn: p = 1 / (1 + exp(A s + B))
    f_ours = _platt_objective(ours.a_, ours.b_, s, y, w)
    f_ref = _platt_objective(ref_a, ref_b, s, y, w)
    close = abs(ours.a_ - ref_a) <= 1e-6 * max(1.0, abs(ref_a)) and abs(ours.b_ - ref_b) <= 1e-6 * max(1.0, abs(ref_b))
    # Either the same parameters, or ours reach a lower (or equal to rounding) objective.
    print(f"seed={seed} w={weighted} scale={scale}: a {ours.a_:.9g} vs {ref_a:.9g}, "
          f"b {ours.b_:.9g} vs {ref_b:.9g}, objective {f_ours:.12g} vs {f_ref:.12g}")
    assert close or f_ours <= f_ref + 1e-12 * abs(f_ref)
    assert f_ours <= f_ref + 1e-9 * abs(f_ref)


def test_platt_probability_input_and_separable_data():
    s = np.array([-3.0, -2, -1, 1, 2, 3])
    y = np.array([0.0, 0, 0, 1, 1, 1])
    c = cr.PlattCalibrator().fit(s, y)
    assert np.isfinite(c.a_) and c.predict([3.0])[0] < 1.0
    with pytest.warns(RuntimeWarning, match="no finite optimum"):
        cr.PlattCalibrator(smoothed_targets=False, max_iter=25).fit(s, y)
    p = 1 / (1 + np.exp(-s))
    cp = cr.PlattCalibrator(input="probability").fit(p, y)
    np.testing.assert_allclose([cp.a_, cp.b_], [c.a_, c.b_], rtol=1e-8, atol=1e-12)
    with pytest.raises(cr.InvalidInputError, match=r"expects probabilities in \[0, 1\]"):
        cp.predict([0.2, 1.5])


# ----------------------------------------------------------------------------- Venn-ABERS
@pytest.mark.parametrize("seed", range(4))
def test_venn_abers_equals_two_isotonic_fits_per_test_score(seed):
    rng = np.random.default_rng(seed)
    n = 30 + 10 * seed
    s = rng.integers(0, 12, n).astype(float)  # ties
    y = (rng.random(n) < 0.1 + 0.07 * s).astype(float)
    y[:2] = [0, 1]
    w = rng.uniform(0.2, 2.0, n) if seed % 2 else None
    va = cr.VennAbersCalibrator().fit(s, y, w)
    tests = np.concatenate([np.arange(-1.0, 13.0, 0.5), rng.normal(6, 4, 20)])
    p0, p1 = va.predict_interval(tests)
    merged = va.predict(tests)
    for i, t in enumerate(tests):
        ref = []
        for label in (0.0, 1.0):
            ww = np.ones(n + 1) if w is None else np.append(w, 1.0)
            iso = IsotonicRegression(out_of_bounds="clip").fit(np.append(s, t), np.append(y, label), ww)
            ref.append(iso.predict([t])[0])
        assert p0[i] == pytest.approx(ref[0], abs=1e-12)
        assert p1[i] == pytest.approx(ref[1], abs=1e-12)
        assert merged[i] == pytest.approx(ref[1] / (1 - ref[0] + ref[1]), abs=1e-12)
    assert np.all(p1 >= p0)


# ----------------------------------------------------------------------------- beta
def test_beta_equals_unpenalised_logistic_regression_when_coefficients_are_positive():
    rng = np.random.default_rng(5)
    n = 5000
    p = rng.uniform(0.01, 0.99, n)
    z = 1.6 * np.log(p) - 0.7 * np.log1p(-p) + 0.2
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    w = rng.uniform(0.5, 1.5, n)
    ours = cr.BetaCalibrator().fit(p, y, w)
    F = np.column_stack([np.log(p), -np.log1p(-p)])
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(F, y, sample_weight=w)
    a, b = lr.coef_[0]
    assert a > 0 and b > 0
    np.testing.assert_allclose([ours.a_, ours.b_, ours.c_], [a, b, lr.intercept_[0]], rtol=1e-5, atol=1e-6)
    grid = np.linspace(0.001, 0.999, 200)
    np.testing.assert_allclose(ours.predict(grid), lr.predict_proba(np.column_stack([np.log(grid), -np.log1p(-grid)]))[:, 1], atol=1e-6)


def test_beta_refits_without_a_negative_coefficient():
    rng = np.random.default_rng(6)
    p = rng.uniform(0.01, 0.99, 20000)
    z = np.log(p) + 0.8 * np.log1p(-p) + 0.5  # b = -0.8 < 0
    y = (rng.random(p.size) < 1 / (1 + np.exp(-z))).astype(float)
    ours = cr.BetaCalibrator().fit(p, y)
    assert ours.b_ == 0.0 and ours.a_ > 0
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(np.log(p)[:, None], y)
    np.testing.assert_allclose([ours.a_, ours.c_], [lr.coef_[0, 0], lr.intercept_[0]], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- prior correction
def test_prior_correction_recovers_prevalence_of_class_weighted_model(capsys):
    rng = np.random.default_rng(7)
    n = 200000
    X = rng.normal(size=(n, 3))
    z = X @ np.array([1.0, -0.5, 0.3]) - 3.0
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    w0, w1 = 1.0, 9.0
    model = LogisticRegression(class_weight={0: w0, 1: w1}, C=1e6, max_iter=1000).fit(X, y)
    p_raw = model.predict_proba(X)[:, 1]
    p_cor = cr.prior_correction(p_raw, w0, w1)
    prevalence = y.mean()
    with capsys.disabled():
        print(f"\nprevalence {prevalence:.4f} | mean p uncorrected {p_raw.mean():.4f} | "
              f"mean p corrected {p_cor.mean():.4f}")
    assert abs(p_raw.mean() - prevalence) > 0.1  # class weights inflate the risk
    assert abs(p_cor.mean() - prevalence) < 0.005  # King & Zeng's shift restores it
    # The corrected model equals the unweighted fit's probabilities (correct specification).
    ref = LogisticRegression(C=1e6, max_iter=1000).fit(X, y).predict_proba(X)[:, 1]
    assert np.max(np.abs(p_cor - ref)) < 0.01
    with pytest.raises(cr.InvalidParamsError, match="finite and > 0"):
        cr.prior_correction(p_raw, 0.0, 1.0)


# ----------------------------------------------------------------------------- CalibratedClassifier
def _problem(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1])))).astype(int)
    return X, y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
@pytest.mark.parametrize("ensemble", [True, False])
def test_calibrated_classifier_equals_sklearn_calibrated_classifier_cv(method, ensemble):
    X, y = _problem()
    ours = cr.CalibratedClassifier(LogisticRegression(), method=method, cv=5, ensemble=ensemble).fit(X, y)
    ref = CalibratedClassifierCV(LogisticRegression(), method=method, cv=5, ensemble=ensemble).fit(X, y)
    tol = 1e-12 if method == "isotonic" else 1e-6
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=tol)
    # predict flags p >= 0.5 (calibrisk's convention); scikit-learn's argmax picks class 0 at a
    # tie, so compare off the exact tie (isotonic steps can land on 0.5).
    off_tie = np.abs(ref.predict_proba(X)[:, 1] - 0.5) > 1e-9
    np.testing.assert_array_equal(ours.predict(X)[off_tie], ref.predict(X)[off_tie])


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "beta", "venn_abers"])
def test_calibrated_classifier_wraps_calibrisk_logistic_regression(method):
    from sklearn.model_selection import StratifiedKFold

    X, y = _problem(800, 9)
    ours = cr.CalibratedClassifier(cr.LogisticRegression(), method=method, cv=4).fit(X, y)
    # Oracle: the same cross-fitting written out by hand (scikit-learn's unshuffled folds).
    cal_cls = {"isotonic": cr.IsotonicCalibrator, "sigmoid": cr.PlattCalibrator,
               "beta": cr.BetaCalibrator, "venn_abers": cr.VennAbersCalibrator}[method]
    expect = np.zeros(len(y))
    for tr, ca in StratifiedKFold(4).split(X, y):
        lr = cr.LogisticRegression().fit(X[tr], y[tr])
        score = (lambda Z: lr.predict_proba(Z)[:, 1]) if method == "beta" else lr.decision_function
        expect += cal_cls().fit(score(X[ca]), y[ca]).predict(score(X)) / 4
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1], expect, rtol=0, atol=1e-12)
    # And close to the same procedure around scikit-learn's LogisticRegression (same objective).
    if method in ("sigmoid", "beta"):
        ref = cr.CalibratedClassifier(LogisticRegression(), method=method, cv=4).fit(X, y)
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=2e-3)


class _Recorder(ClassifierMixin, BaseEstimator):
    """LogisticRegression on column 0 that remembers the values of column ``watch`` it was fitted on."""

    def __init__(self, watch=1):
        self.watch = watch

    def fit(self, X, y):
        X = np.asarray(X)
        self.seen_ = set(X[:, self.watch].tolist())
        self.lr_ = LogisticRegression().fit(X[:, :1], y)
        self.classes_ = self.lr_.classes_
        return self

    def decision_function(self, X):
        return self.lr_.decision_function(np.asarray(X)[:, :1])

    def predict_proba(self, X):
        return self.lr_.predict_proba(np.asarray(X)[:, :1])


def test_grouped_cross_fitting_never_leaks_a_group():
    rng = np.random.default_rng(2)
    n = 900
    groups = rng.integers(0, 60, n)
    X = np.column_stack([rng.normal(size=n), groups])
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    clf = cr.CalibratedClassifier(_Recorder(watch=1), method="isotonic", cv=4, random_state=3)
    clf.fit(X, y, groups=groups)
    assert len(clf.calibrated_classifiers_) == 4
    for f, member in enumerate(clf.calibrated_classifiers_):
        calibrated_groups = set(groups[clf.split_ == f].tolist())
        assert calibrated_groups
        assert member.estimator.seen_.isdisjoint(calibrated_groups)
    # Every group lives in exactly one fold.
    for g in np.unique(groups):
        assert len(np.unique(clf.split_[groups == g])) == 1
    with pytest.raises(cr.InvalidInputError, match="groups"):
        cr.CalibratedClassifier(_Recorder(), cv=4).fit(X, y, groups=groups[:10])


def test_time_split_calibrates_on_the_later_part_only():
    rng = np.random.default_rng(4)
    n = 1001
    t = np.repeat(np.arange(n // 3 + 1), 3)[:n].astype(float)
    rng.shuffle(t)
    X = np.column_stack([rng.normal(size=n), t])
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    clf = cr.CalibratedClassifier(_Recorder(watch=1), method="sigmoid", cv="time", time_key=1,
                                  calibration_fraction=0.3).fit(X, y)
    (member,) = clf.calibrated_classifiers_
    later = clf.split_ == 1
    assert 0.29 * n <= later.sum() <= 0.31 * n
    assert max(member.estimator.seen_) < t[later].min()  # the model saw the past only
    # The calibrator is exactly the one fitted on the later part's scores.
    ref = cr.PlattCalibrator().fit(member.estimator.decision_function(X[later]), y[later])
    np.testing.assert_allclose([member.calibrator.a_, member.calibrator.b_], [ref.a_, ref.b_])
    # Explicit time argument equals time_key.
    clf2 = cr.CalibratedClassifier(_Recorder(watch=1), method="sigmoid", cv="time",
                                   calibration_fraction=0.3).fit(X, y, time=t)
    np.testing.assert_array_equal(clf2.split_, clf.split_)
    with pytest.raises(cr.InvalidInputError, match="time stamps"):
        cr.CalibratedClassifier(_Recorder(), cv="time").fit(X, y)


def test_prefit_beta_and_venn_abers_members():
    X, y = _problem(800, 3)
    lr = LogisticRegression().fit(X[:400], y[:400])
    clf = cr.CalibratedClassifier(lr, method="beta", cv="prefit").fit(X[400:], y[400:])
    ref = cr.BetaCalibrator().fit(lr.predict_proba(X[400:])[:, 1], y[400:])
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], ref.predict(lr.predict_proba(X)[:, 1]))
    va = cr.CalibratedClassifier(LogisticRegression(), method="venn_abers", cv=3).fit(X, y)
    p0, p1 = va.predict_interval(X)
    assert np.all(p0 <= p1) and np.all((p1 - p0) < 0.5)
    with pytest.raises(cr.InvalidParamsError, match="venn_abers"):
        clf.predict_interval(X)


def test_string_labels_and_pickle():
    X, y = _problem(300, 5)
    labels = np.where(y == 1, "sick", "well")
    clf = cr.CalibratedClassifier(LogisticRegression(), cv=3).fit(X, labels)
    assert list(clf.classes_) == ["sick", "well"]
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 0],
        cr.CalibratedClassifier(LogisticRegression(), cv=3).fit(X, (labels == "well").astype(int)).predict_proba(X)[:, 0],
    )
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    for cal in (cr.IsotonicCalibrator(), cr.PlattCalibrator(), cr.VennAbersCalibrator(), cr.BetaCalibrator()):
        p = 1 / (1 + np.exp(-X[:, 0]))
        cal.fit(p, y)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(cal)).predict(p), cal.predict(p))


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cls", [cr.PlattCalibrator, cr.IsotonicCalibrator, cr.BetaCalibrator, cr.VennAbersCalibrator])
def test_calibrators_reject_bad_input(cls):
    s = np.array([0.1, 0.4, 0.6, 0.9])
    y = np.array([0, 0, 1, 1])
    with pytest.raises(cr.InvalidInputError, match=r"scores\[1\] is nan"):
        cls().fit([0.1, np.nan, 0.6, 0.9], y)
    with pytest.raises(cr.InvalidInputError, match="only class 1"):
        cls().fit(s, [1, 1, 1, 1])
    with pytest.raises(cr.InvalidInputError, match="one label per score"):
        cls().fit(s, [0, 1, 1])
    with pytest.raises(cr.InvalidInputError, match=r"sample_weight\[2\] is -1"):
        cls().fit(s, y, [1, 1, -1, 1])
    with pytest.raises(cr.InvalidInputError, match="labels must be 0 or 1"):
        cls().fit(s, [0, 2, 1, 1])
    with pytest.raises(cr.NotFittedError):
        cls().predict(s)
    fitted = cls().fit(s, y)
    with pytest.raises(cr.InvalidInputError, match=r"scores\[0\] is inf"):
        fitted.predict([np.inf])


def test_calibrated_classifier_errors():
    X, y = _problem(200, 1)
    with pytest.raises(cr.InvalidParamsError, match="method must be one of"):
        cr.CalibratedClassifier(method="spline").fit(X, y)
    with pytest.raises(ValueError, match="at least two classes"):
        cr.CalibratedClassifier().fit(X, np.zeros(200))
    # three classes are one-vs-rest (tests/python/test_multiclass_calibration.py)
    assert cr.CalibratedClassifier().fit(X, np.arange(200) % 3).predict_proba(X).shape == (200, 3)
    with pytest.raises(cr.InvalidParamsError, match="cv must be"):
        cr.CalibratedClassifier(cv="nope").fit(X, y)
    y_rare = np.zeros(200, dtype=int)
    y_rare[:3] = 1
    with pytest.raises(cr.InvalidInputError, match="lower cv"):
        cr.CalibratedClassifier(cv=5).fit(X, y_rare)


# ----------------------------------------------------------------------------- estimator checks
# Checks expected to fail, by name, with the reason (none skipped silently).
EXPECTED_FAILED_CHECKS = {
    # As scikit-learn's own CalibratedClassifierCV (listed in sklearn/utils/_test_common/
    # instance_generator.py): k-fold splits depend on the number of rows, so repeating a row is
    # not the same as doubling its weight.
    "check_sample_weight_equivalence_on_dense_data": (
        "cross-validation folds depend on row counts, so weight 2 is not a repeated row"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "cross-validation folds depend on row counts, so weight 2 is not a repeated row"
    ),
}


@parametrize_with_checks(
    [
        cr.CalibratedClassifier(),  # default arguments (issue 11: check_fit2d_1feature)
        cr.CalibratedClassifier(LogisticRegression(), cv=3),
        cr.CalibratedClassifier(LogisticRegression(), method="sigmoid", cv=3, ensemble=False),
        cr.CalibratedClassifier(cr.LogisticRegression(), method="beta", cv=3),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


class _GroupRecorder(ClassifierMixin, BaseEstimator):
    """A logistic model that records the groups its fit received."""

    def fit(self, X, y, groups=None):
        self.seen_groups_ = None if groups is None else np.asarray(groups).copy()
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_groups_reach_an_estimator_whose_fit_takes_them():
    # The trees fold their target statistics by patient: CalibratedClassifier hands each member
    # the patient ids of its own training rows (as codes: equal ids, equal codes), and the refit
    # on all rows gets all of them.
    rng = np.random.default_rng(5)
    n = 300
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    patients = np.array([f"p{i // 3}" for i in range(n)])
    clf = cr.CalibratedClassifier(_GroupRecorder(), method="sigmoid", cv=3,
                                  ensemble=True).fit(X, y, groups=patients)
    for member, f in zip(clf.calibrated_classifiers_, range(3)):
        train = np.flatnonzero(clf.split_ != f)
        g = member.estimator.seen_groups_
        assert len(g) == len(train)
        # same patient <-> same code, on exactly the training rows of the fold
        _, expected = np.unique(patients[train], return_inverse=True)
        _, got = np.unique(g, return_inverse=True)
        np.testing.assert_array_equal(got, expected)
    refit = cr.CalibratedClassifier(_GroupRecorder(), method="sigmoid", cv=3,
                                    ensemble=False).fit(X, y, groups=patients)
    assert len(refit.calibrated_classifiers_[0].estimator.seen_groups_) == n
