# SPDX-License-Identifier: Apache-2.0
"""Multiclass GradientBoostingClassifier (softmax boosting) against scikit-learn's
HistGradientBoostingClassifier, and its invariants: probabilities, labels, TreeSHAP per class,
K = 2 against the binary model, thread determinism, pickling, class weights, bad input."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss

import calibrisk as cr
from calibrisk import _core
from calibrisk.exceptions import InvalidInputError, InvalidParamsError


def _data(n, k, seed=0, nan=True):
    X, y = make_classification(
        n_samples=n, n_features=10, n_informative=6, n_redundant=2, n_classes=k,
        n_clusters_per_class=1, class_sep=0.8, flip_y=0.03, random_state=seed,
    )
    if nan:
        rng = np.random.default_rng(seed)
        X[rng.random(X.shape) < 0.03] = np.nan
    return X, y


def test_first_round_raw_scores_match_scikit_learn_on_a_hand_checkable_case():
    # One feature with two values, three classes: each class tree splits it once. scikit-learn's
    # HGB uses the same baseline (centred log priors), gradient p - y, hessian p (1 - p) and leaf
    # -lr * G / (H + l2); gradients are float32 in both, so agreement is to ~1e-7.
    X = np.array([[0.0]] * 4 + [[1.0]] * 4)
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    common = dict(learning_rate=0.3, max_leaf_nodes=2, min_samples_leaf=1, l2_regularization=0.5)
    sk = HistGradientBoostingClassifier(max_iter=1, early_stopping=False, **common).fit(X, y)
    ours = cr.GradientBoostingClassifier(n_estimators=1, n_threads=1, **common).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), sk.decision_function(X), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_log_loss_and_accuracy_match_scikit_learn_with_matched_settings():
    X, y = _data(24000, 4, seed=1)
    Xtr, ytr, Xte, yte = X[:20000], y[:20000], X[20000:], y[20000:]
    common = dict(learning_rate=0.1, max_leaf_nodes=31, max_bins=255, min_samples_leaf=20,
                  l2_regularization=1.0)
    sk = HistGradientBoostingClassifier(max_iter=60, early_stopping=False, random_state=0,
                                        **common).fit(Xtr, ytr)
    ours = cr.GradientBoostingClassifier(n_estimators=60, bin_subsample=0, **common).fit(Xtr, ytr)
    P, Q = ours.predict_proba(Xte), sk.predict_proba(Xte)
    ll_ours, ll_sk = log_loss(yte, P), log_loss(yte, Q)
    # Same objective, same growth rules and quantile bins from every row: the two differ only in
    # bin-edge placement and tie-breaking of equal gains.
    assert ll_ours <= 1.02 * ll_sk, (ll_ours, ll_sk)
    assert abs(accuracy_score(yte, ours.predict(Xte)) - accuracy_score(yte, sk.predict(Xte))) < 0.01
    # Row by row the probabilities agree closely.
    assert np.mean(np.abs(P - Q)) < 0.02


def test_string_labels_probabilities_and_predictions():
    X, y = _data(3000, 3, seed=2)
    names = np.array(["lab result", "referral", "insurance form"])
    labels = names[y]
    clf = cr.GradientBoostingClassifier(n_estimators=20, n_threads=1).fit(X, labels)
    assert list(clf.classes_) == sorted(names)
    P = clf.predict_proba(X)
    assert P.shape == (len(X), 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    Z = clf.decision_function(X)
    assert Z.shape == (len(X), 3)
    softmax = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, softmax / softmax.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(P, axis=1)])
    assert clf.score(X, labels) > 0.7
    # The allocation-free C++ row path gives the same bits as the batch.
    for i in range(5):
        np.testing.assert_array_equal(clf._model.predict_proba_row(X[i]), P[i])


def test_contributions_per_class_sum_to_the_raw_scores():
    X, y = _data(2000, 3, seed=3)
    clf = cr.GradientBoostingClassifier(n_estimators=15, n_threads=1).fit(X, y)
    C = clf.contributions(X[:200])
    assert C.shape == (200, 3, X.shape[1] + 1)
    np.testing.assert_allclose(C.sum(axis=2), clf.decision_function(X[:200]), rtol=1e-9, atol=1e-9)
    # The bias is each class's expected raw score (same for every row).
    assert np.all(C[:, :, -1] == C[0, :, -1])


def test_two_classes_keep_the_binary_model():
    X, y = _data(2000, 2, seed=4)
    clf = cr.GradientBoostingClassifier(n_estimators=10, n_threads=1).fit(X, y)
    raw = _core.GradientBoostedTrees(clf._make_params(X.shape[1], X.shape[0]))
    raw.fit(X, y.astype(np.float64))
    assert clf._model.to_bytes() == raw.to_bytes()
    assert clf.decision_function(X).shape == (len(X),)


def test_model_bytes_do_not_depend_on_the_thread_count():
    X, y = _data(30000, 5, seed=5)
    kw = dict(n_estimators=6, subsample=0.8, early_stopping=True, random_state=3)
    a = cr.GradientBoostingClassifier(n_threads=1, **kw).fit(X, y)
    b = cr.GradientBoostingClassifier(n_threads=2, **kw).fit(X, y)
    assert a._model.to_bytes() == b._model.to_bytes()


def test_pickle_round_trip_is_bit_identical():
    X, y = _data(1500, 4, seed=6)
    clf = cr.GradientBoostingClassifier(n_estimators=8, n_threads=1).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert b'"n_classes":4' in clf._model.to_bytes()


def test_class_weight_dict_equals_sample_weights():
    X, y = _data(1500, 3, seed=7, nan=False)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a = cr.GradientBoostingClassifier(n_estimators=8, n_threads=1, class_weight=cw).fit(X, y)
    sw = np.array([cw[v] for v in y])
    b = cr.GradientBoostingClassifier(n_estimators=8, n_threads=1).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12)
    # balanced weights: the initial raw scores are equal (equal weighted priors).
    c = cr.GradientBoostingClassifier(n_estimators=1, n_threads=1, class_weight="balanced",
                                      learning_rate=1e-9).fit(X, y)
    np.testing.assert_allclose(c.predict_proba(X[:3]), 1.0 / 3.0, atol=1e-6)


def test_early_stopping_and_eval_set():
    X, y = _data(6000, 3, seed=8)
    clf = cr.GradientBoostingClassifier(n_estimators=500, learning_rate=0.5, early_stopping=True,
                                        n_iter_no_change=5, n_threads=1)
    clf.fit(X[:5000], y[:5000], eval_set=(X[5000:], y[5000:]))
    assert clf.n_iter_ < 500
    assert clf.best_iteration_ == clf.n_iter_ - 5
    P = clf.predict_proba(X[5000:])
    assert clf.validation_loss_[clf.best_iteration_ - 1] == pytest.approx(
        log_loss(y[5000:], P), rel=1e-10)


def test_bad_input():
    X, y = _data(600, 3, seed=9)
    with pytest.raises(ValueError, match="only one class"):
        cr.GradientBoostingClassifier(n_estimators=2).fit(X, np.zeros(len(y)))
    with pytest.raises(InvalidParamsError, match="binary models only"):
        cr.GradientBoostingClassifier(n_estimators=2, monotonic_cst=[1] + [0] * 9).fit(X, y)
    with pytest.raises(InvalidParamsError, match="between 2 and 1000"):
        cr.GradientBoostingClassifier(n_estimators=2).fit(np.zeros((1002, 1)), np.arange(1002))
    clf = cr.GradientBoostingClassifier(n_estimators=2).fit(X, y)
    with pytest.raises(InvalidInputError, match="not one of the training classes"):
        clf.fit(X, y, eval_set=(X[:10], np.full(10, 7)))
    with pytest.raises(InvalidParamsError, match="not a class"):
        cr.GradientBoostingClassifier(n_estimators=2, class_weight={5: 2.0}).fit(X, y)
