# SPDX-License-Identifier: Apache-2.0
"""LogisticRegression(penalty_scale="standardized"): the L2 penalty of coefficient j times the
(sample-weighted) training variance of column j.

Oracle: scikit-learn's LogisticRegression (newton-cg, tol 1e-10) fitted on StandardScaler output
(the scaler fitted with the same sample weights; with_mean=False without an intercept), its
coefficients mapped back to the raw scale (coef / scale, intercept - sum(coef * mean / scale)).
The comparison is made on the standardized scale (ours times the scaler's scale against
scikit-learn's), where both are of order one, and on the probabilities. The default
penalty_scale="raw" stays scikit-learn's objective on X as given."""

import json
import pickle

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.preprocessing import StandardScaler

import calibrisk
from calibrisk import LogisticRegression
from calibrisk.exceptions import InvalidParamsError

ATOL = 1e-6


def _data(n=1200, p=6, seed=0, K=2):
    """Columns in very different units (scale 1e-3 .. 1e3) and offsets: the raw and the
    standardized penalty give clearly different models."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, p))
    W = rng.normal(size=(p, K)) * 0.8
    logits = Z @ W
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=row) for row in P])
    units = 10.0 ** np.linspace(-3, 3, p)
    X = Z * units + rng.normal(size=p) * units * 3
    return X, y


def _oracle(X, y, C, sample_weight=None, class_weight=None, fit_intercept=True):
    """scikit-learn on StandardScaler(X) (weighted); returns (scaler, fitted LR)."""
    sc = StandardScaler(with_mean=fit_intercept).fit(X, sample_weight=sample_weight)
    sk = SkLR(C=C, tol=1e-10, solver="newton-cg", max_iter=1000, class_weight=class_weight,
              fit_intercept=fit_intercept)
    sk.fit(sc.transform(X), y, sample_weight=sample_weight)
    return sc, sk


def _back(sc, sk):
    """The oracle's coefficients and intercepts on the raw scale."""
    coef = sk.coef_ / sc.scale_
    mean = sc.mean_ if sc.mean_ is not None else np.zeros_like(sc.scale_)
    return coef, sk.intercept_ - coef @ mean


def _assert_oracle(ours, sc, sk, X, Xs=None):
    """ours (fitted on X, or on its sparse form Xs) against the standardized-scale oracle."""
    coef, intercept = _back(sc, sk)
    np.testing.assert_allclose(ours.coef_ * sc.scale_, sk.coef_, rtol=0, atol=ATOL)
    if coef.shape[0] > 1:  # softmax: intercepts up to a common shift (ours sum to 0)
        intercept = intercept - intercept.mean()
    np.testing.assert_allclose(ours.intercept_, intercept, rtol=0, atol=ATOL)
    P = sk.predict_proba(sc.transform(X))
    np.testing.assert_allclose(ours.predict_proba(X if Xs is None else Xs), P, rtol=0, atol=1e-7)


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_dense_binary_matches_sklearn_on_standardized_X(C):
    X, y = _data()
    ours = LogisticRegression(C=C, tol=1e-10, penalty_scale="standardized").fit(X, y)
    assert ours.converged_
    _assert_oracle(ours, *_oracle(X, y, C), X)
    # The raw penalty gives a different model on these units (the option changes something).
    raw = LogisticRegression(C=C, tol=1e-10).fit(X, y)
    assert np.abs(raw.coef_ - ours.coef_).max() > 1e-3 * np.abs(ours.coef_).max()


def test_binary_with_sample_weight_and_class_weight():
    X, y = _data(seed=1)
    w = np.random.default_rng(5).uniform(0.1, 3.0, size=len(y))
    ours = LogisticRegression(C=0.3, tol=1e-10, penalty_scale="standardized",
                              class_weight="balanced").fit(X, y, sample_weight=w)
    _assert_oracle(ours, *_oracle(X, y, 0.3, sample_weight=w, class_weight="balanced"), X)
    cw = {0: 1.0, 1: 4.0}
    ours = LogisticRegression(C=2.0, tol=1e-10, penalty_scale="standardized",
                              class_weight=cw).fit(X, y, sample_weight=w)
    _assert_oracle(ours, *_oracle(X, y, 2.0, sample_weight=w, class_weight=cw), X)


def test_tall_data_subsampled_hessian_newton():
    # 80k rows: the Newton iterations use a subsampled Hessian; the optimum is the same.
    X, y = _data(n=80_000, p=5, seed=2)
    ours = LogisticRegression(C=0.05, tol=1e-10, penalty_scale="standardized").fit(X, y)
    _assert_oracle(ours, *_oracle(X, y, 0.05), X)


def test_no_intercept_uses_the_scale_without_centring():
    # Without an intercept the oracle scales without centring (centring would add one); a
    # constant column keeps factor 1 (StandardScaler's scale 1 for zero variance).
    X, y = _data(seed=3)
    X = np.column_stack([X, np.full(len(y), 3.0)])
    ours = LogisticRegression(C=0.5, tol=1e-10, penalty_scale="standardized",
                              fit_intercept=False).fit(X, y)
    sc, sk = _oracle(X, y, 0.5, fit_intercept=False)
    assert sc.scale_[-1] == 1.0
    np.testing.assert_allclose(ours.coef_ * sc.scale_, sk.coef_, rtol=0, atol=ATOL)
    assert ours.intercept_[0] == 0.0
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(sc.transform(X)),
                               rtol=0, atol=1e-7)


def test_constant_column_with_intercept_has_coefficient_zero():
    X, y = _data(seed=4)
    X = np.column_stack([X, np.full(len(y), -7.5)])
    with pytest.warns(UserWarning, match="constant"):
        ours = LogisticRegression(C=1.0, tol=1e-10, penalty_scale="standardized").fit(X, y)
    sc, sk = _oracle(X[:, :-1], y, 1.0)
    assert ours.coef_[0, -1] == 0.0
    np.testing.assert_allclose(ours.coef_[:, :-1] * sc.scale_, sk.coef_, rtol=0, atol=ATOL)


@pytest.mark.parametrize("missing, indicator", [("mean", False), ("mean_with_indicator", True)])
def test_missing_values_imputed_then_standardized(missing, indicator):
    # The oracle imputes with SimpleImputer (indicators too), then standardizes every column,
    # indicators included.
    X, y = _data(seed=6)
    X[np.random.default_rng(7).uniform(size=X.shape) < 0.15] = np.nan
    ours = LogisticRegression(C=0.2, tol=1e-10, penalty_scale="standardized",
                              missing=missing).fit(X, y)
    Xi = SimpleImputer(strategy="mean", add_indicator=indicator).fit_transform(X)
    sc, sk = _oracle(Xi, y, 0.2)
    np.testing.assert_allclose(ours.coef_ * sc.scale_, sk.coef_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(sc.transform(Xi)),
                               rtol=0, atol=1e-7)


def test_weighted_missing_values_use_weighted_mean_and_variance():
    X, y = _data(seed=8)
    X[np.random.default_rng(9).uniform(size=X.shape) < 0.1] = np.nan
    w = np.random.default_rng(10).uniform(0.2, 2.0, size=len(y))
    ours = LogisticRegression(C=0.7, tol=1e-10, penalty_scale="standardized").fit(
        X, y, sample_weight=w)
    obs = ~np.isnan(X)
    means = np.array([np.average(X[obs[:, j], j], weights=w[obs[:, j]])
                      for j in range(X.shape[1])])
    Xi = np.where(obs, X, means)
    sc, sk = _oracle(Xi, y, 0.7, sample_weight=w)
    np.testing.assert_allclose(ours.coef_ * sc.scale_, sk.coef_, rtol=0, atol=ATOL)


def test_categorical_levels_keep_the_raw_penalty():
    # Levels are one-hot indicators against the most frequent code, penalised on the raw scale;
    # the numeric columns are standardized. Oracle: the numeric columns through StandardScaler,
    # the indicators as they are.
    X, y = _data(n=2000, seed=11)
    rng = np.random.default_rng(12)
    codes = rng.choice(4, size=len(y), p=[0.5, 0.25, 0.15, 0.1]).astype(float)
    y = np.where(rng.uniform(size=len(y)) < 0.2 * codes / 3, 1 - y, y)
    Xc = np.column_stack([X, codes])
    ours = LogisticRegression(C=0.3, tol=1e-10, penalty_scale="standardized",
                              categorical_features=[X.shape[1]]).fit(Xc, y)
    sc = StandardScaler().fit(X)
    onehot = np.column_stack([(codes == k).astype(float) for k in (1, 2, 3)])
    sk = SkLR(C=0.3, tol=1e-10, solver="newton-cg", max_iter=1000).fit(
        np.column_stack([sc.transform(X), onehot]), y)
    p = X.shape[1]
    np.testing.assert_allclose(ours.coef_[0, :p] * sc.scale_, sk.coef_[0, :p], rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.coef_[0, p:], sk.coef_[0, p:], rtol=0, atol=ATOL)


@pytest.mark.parametrize("C", [0.05, 3.0])
def test_multinomial_three_classes(C):
    X, y = _data(n=1500, seed=13, K=3)
    w = np.random.default_rng(14).uniform(0.5, 1.5, size=len(y))
    ours = LogisticRegression(C=C, tol=1e-10, penalty_scale="standardized").fit(
        X, y, sample_weight=w)
    assert ours.coef_.shape == (3, X.shape[1])
    _assert_oracle(ours, *_oracle(X, y, C, sample_weight=w), X)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_the_densified_oracle(K, fmt):
    rng = np.random.default_rng(15 + K)
    n, p = 1500, 40
    X = scipy.sparse.random(n, p, density=0.1, format="csr", random_state=16,
                            data_rvs=lambda k: rng.exponential(size=k))
    X = X @ scipy.sparse.diags(10.0 ** rng.uniform(-2, 2, size=p))  # columns in different units
    X = scipy.sparse.csr_matrix(X)
    Z = X.toarray() / X.toarray().std(axis=0)
    y = (Z @ rng.normal(size=(p, K))).argmax(axis=1)
    y = np.where(rng.uniform(size=n) < 0.2, rng.integers(0, K, size=n), y)
    w = rng.uniform(0.5, 2.0, size=n)
    ours = LogisticRegression(C=0.4, tol=1e-10, penalty_scale="standardized").fit(
        X.asformat(fmt), y, sample_weight=w)
    # StandardScaler cannot centre sparse input: the oracle is computed on the dense matrix.
    _assert_oracle(ours, *_oracle(X.toarray(), y, 0.4, sample_weight=w), X.toarray(),
                   X.asformat(fmt))


def test_wide_data_through_the_gradient_solver():
    # More model columns than newton_max_columns: the binary fit runs L-BFGS (no Hessian), the
    # multinomial one Newton-CG; both minimise the standardized objective.
    X, y = _data(n=600, p=30, seed=17)
    ours = LogisticRegression(C=0.5, tol=1e-9, max_iter=2000, penalty_scale="standardized",
                              newton_max_columns=8).fit(X, y)
    assert any("L-BFGS" in n or "newton_max_columns" in n for n in ours._model.notes)
    sc, sk = _oracle(X, y, 0.5)
    np.testing.assert_allclose(ours.coef_ * sc.scale_, sk.coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(sc.transform(X)),
                               rtol=0, atol=1e-6)


def test_raw_default_is_sklearn_on_raw_X():
    X, y = _data(seed=18)
    X = X[:, 1:5]  # moderate units so that scikit-learn converges on raw X
    assert LogisticRegression().penalty_scale == "raw"
    ours = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    sk = SkLR(C=0.5, tol=1e-10, solver="newton-cg", max_iter=1000).fit(X, y)
    scale = np.abs(sk.coef_).max()
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-7)
    explicit = LogisticRegression(C=0.5, tol=1e-10, penalty_scale="raw").fit(X, y)
    np.testing.assert_array_equal(explicit.coef_, ours.coef_)  # the same fit, bit for bit


def test_unknown_value_is_a_clear_error():
    X, y = _data()
    with pytest.raises(InvalidParamsError, match="penalty_scale.*raw.*standardized"):
        LogisticRegression(penalty_scale="scaled").fit(X, y)


def test_params_clone_pickle():
    est = LogisticRegression(C=0.3, penalty_scale="standardized")
    assert est.get_params()["penalty_scale"] == "standardized"
    assert clone(est).penalty_scale == "standardized"
    assert est.set_params(penalty_scale="raw").penalty_scale == "raw"
    X, y = _data(seed=19)
    est.set_params(penalty_scale="standardized").fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert back.penalty_scale == "standardized"
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def _version(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["format_version"], doc["model"]["params"]


def test_model_file_is_format_1_8_only_when_standardized(tmp_path):
    X, y = _data(seed=20)
    std = LogisticRegression(C=0.3, penalty_scale="standardized").fit(X, y)
    raw = LogisticRegression(C=0.3).fit(X, y)
    for name, est in (("std", std), ("raw", raw)):
        calibrisk.Pipeline.from_estimators(est, X_train=X, y_train=y).save(
            str(tmp_path / f"{name}.json"))
    version, params = _version(tmp_path / "std.json")
    assert version == "1.8" and params["penalty_scale"] == "standardized"
    version, params = _version(tmp_path / "raw.json")
    assert tuple(map(int, version.split("."))) < (1, 8) and "penalty_scale" not in params
    # The file round trip keeps the scores, bit for bit.
    loaded = calibrisk.load(str(tmp_path / "std.json"))
    pipe = calibrisk.Pipeline.from_estimators(std, X_train=X, y_train=y)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
