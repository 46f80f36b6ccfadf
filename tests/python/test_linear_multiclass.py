# SPDX-License-Identifier: Apache-2.0
"""calibrisk.LogisticRegression with K >= 3 classes and with scipy.sparse input.

Oracle: scikit-learn's LogisticRegression (same objective: multinomial softmax with L2 on the
coefficients, unpenalised intercepts) solved to tol=1e-10 with newton-cg / lbfgs; intercepts are
compared after centring (softmax is invariant to a common shift)."""

import pickle

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SkLR

import calibrisk
from calibrisk import LogisticRegression


def _data(n=1500, p=8, K=4, seed=0):
    X, y = make_classification(n_samples=n, n_features=p, n_informative=5, n_redundant=1,
                               n_classes=K, n_clusters_per_class=1, random_state=seed)
    X = X * np.arange(1, p + 1) + np.arange(p)  # unscaled, offset columns
    return X, y


def _sparse_data(n=2000, p=300, K=3, seed=1, density=0.03):
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, p, density=density, format="csr", random_state=seed,
                            data_rvs=lambda k: rng.exponential(size=k))
    W = rng.normal(size=(p, K)) * 2.0
    Z = X @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=row) for row in P])
    return X, y


def _oracle(X, y, C, **kw):
    return SkLR(C=C, tol=1e-10, solver="newton-cg", max_iter=1000, **kw).fit(X, y)


def _assert_same(ours, sk, X, atol=1e-6):
    scale = max(1.0, np.abs(sk.coef_).max())
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=atol * scale)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_ - sk.intercept_.mean(), rtol=0,
                               atol=atol * scale)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=0, atol=atol)


@pytest.mark.parametrize("C", [0.05, 1.0, 30.0])
def test_multinomial_matches_sklearn(C):
    X, y = _data()
    ours = LogisticRegression(C=C, tol=1e-10).fit(X, y)
    sk = _oracle(X, y, C)
    assert ours.coef_.shape == (4, X.shape[1]) and ours.intercept_.shape == (4,)
    _assert_same(ours, sk, X)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert abs(ours.intercept_.sum()) < 1e-10


def test_string_labels_classes_and_predict():
    X, y = _data(K=3)
    names = np.array(["lab result", "referral", "insurance form"])[y]
    est = LogisticRegression(tol=1e-10).fit(X, names)
    assert est.classes_.tolist() == ["insurance form", "lab result", "referral"]
    P = est.predict_proba(X)
    assert P.shape == (X.shape[0], 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[P.argmax(axis=1)])
    assert est.decision_function(X).shape == (X.shape[0], 3)
    sk = _oracle(X, names, 1.0)
    _assert_same(est, sk, X)


def test_class_and_sample_weights_match_sklearn():
    X, y = _data(K=3, seed=3)
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=y.size)
    for cw in ("balanced", {0: 0.5, 2: 3.0}):
        ours = LogisticRegression(tol=1e-10, class_weight=cw).fit(X, y, sample_weight=w)
        sk = SkLR(C=1.0, tol=1e-10, solver="newton-cg", max_iter=1000, class_weight=cw)
        sk.fit(X, y, sample_weight=w)
        _assert_same(ours, sk, X)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_multinomial_matches_sklearn_and_dense(fmt):
    X, y = _sparse_data()
    Xs = X.asformat(fmt)
    ours = LogisticRegression(C=2.0, tol=1e-10).fit(Xs, y)
    sk = _oracle(X, y, 2.0)
    _assert_same(ours, sk, X)
    dense = LogisticRegression(C=2.0, tol=1e-10).fit(X.toarray(), y)
    np.testing.assert_allclose(ours.predict_proba(Xs), dense.predict_proba(X.toarray()),
                               rtol=0, atol=1e-7)


def test_sparse_binary_matches_sklearn_and_keeps_binary_api():
    X, y = _sparse_data(K=2, seed=4)
    labels = np.where(y == 1, "deny", "pay")
    ours = LogisticRegression(C=0.7, tol=1e-10).fit(X, labels)
    sk = _oracle(X, labels, 0.7)
    assert ours.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-8)
    assert ours.decision_function(X).shape == (X.shape[0],)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    # Same model as the dense exact-Newton fit of the densified matrix.
    dense = LogisticRegression(C=0.7, tol=1e-10).fit(X.toarray(), labels)
    np.testing.assert_allclose(ours.coef_, dense.coef_, rtol=0, atol=1e-7)


def test_sparse_input_is_not_densified():
    X, y = _sparse_data(n=3000, p=200_000, K=3, density=0.0002)
    est = LogisticRegression(C=1.0).fit(X, y)  # dense would be 4.8 GB
    assert est.predict_proba(X[:10]).shape == (10, 3)


def test_pickle_and_model_bytes_roundtrip():
    X, y = _data(K=5, seed=5)
    est = LogisticRegression().fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    state = est.get_state()
    assert len(state["class_intercept"]) == 5 and len(state["class_coef"]) == 5 * X.shape[1]


def test_bad_input_errors():
    X, y = _data(K=3)
    with pytest.raises(calibrisk.InvalidInputError, match="only one class"):
        LogisticRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(calibrisk.InvalidInputError, match="more than the limit"):
        LogisticRegression().fit(np.ones((1500, 1)), np.arange(1500))
    Xs, ys = _sparse_data()
    Xs = Xs.copy()
    Xs.data[7] = np.nan
    row = int(np.searchsorted(Xs.indptr, 7, side="right") - 1)
    col = int(Xs.indices[7])
    with pytest.raises(calibrisk.InvalidInputError, match=rf"X\[{row}, {col}\] is nan"):
        LogisticRegression().fit(Xs, ys)
    with pytest.raises(calibrisk.InvalidParamsError, match="categorical_features"):
        LogisticRegression(categorical_features=[0]).fit(X, y)
    est = LogisticRegression().fit(X, y)
    with pytest.raises(calibrisk.InvalidInputError, match="features"):
        est.predict_proba(X[:, :3])
    with pytest.raises(calibrisk.InvalidInputError, match="binary models only"):
        est.summary()


def test_text_levels_are_named_by_their_labels():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 3000
    src = rng.choice(["Emergency", "Referral", "Transfer"], size=n, p=[0.5, 0.3, 0.2])
    age = rng.normal(60, 10, size=n)
    z = 0.03 * (age - 60) + np.select([src == "Emergency", src == "Referral"], [0.8, -0.4], 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    df = pd.DataFrame({"age": age, "admission_source": src})
    est = LogisticRegression(C=np.inf).fit(df, y)
    names = list(est.get_feature_names_out())
    # Emergency is the most frequent level: the reference; the others are named by label.
    assert names == ["age", "admission_source=Referral", "admission_source=Transfer"]
    assert list(est.summary().index) == ["(intercept)"] + names
