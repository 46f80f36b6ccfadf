# SPDX-License-Identifier: Apache-2.0
"""calibrisk.dask.DaskLogisticRegression with K >= 3 classes (softmax) and scipy.sparse CSR
partitions: the single-process optimum (calibrisk.LogisticRegression, scikit-learn's multinomial
lbfgs at a tight tolerance), the same bytes for 1/2/3 workers and any partitioning (uneven and
empty partitions, classes living in some partitions only), and clear errors."""

import pickle

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
sp = pytest.importorskip("scipy.sparse")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLR  # noqa: E402

import calibrisk  # noqa: E402
import calibrisk.dask as cdask  # noqa: E402
from calibrisk.exceptions import InvalidInputError  # noqa: E402

LABELS = np.array(["home", "readmitted", "rehab", "transfer"])


def _data(n=600, d=4, K=3, seed=0):
    """Softmax data with known coefficients; rows sorted so that the last class appears only in
    the last 40 % of the rows (a leading partition holds a subset of the classes)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 0.5, 10.0, 2.0, 1.0])[:d]
    B = np.array([[0.8, -0.3, 1.5, 0.05, 0.2, -0.4], [-0.5, 0.2, -1.0, -0.08, 0.3, 0.1],
                  [0.1, 0.4, 0.6, 0.02, -0.6, 0.5], [0.3, -0.1, 0.2, 0.1, 0.1, -0.2]])[:K, :d]
    z = X @ B.T + np.array([0.3, -0.2, 0.1, 0.0])[:K] + rng.gumbel(size=(n, K))
    y = np.argmax(z, axis=1)
    w = rng.uniform(0.5, 2.0, size=n)
    last = y == K - 1
    order = np.concatenate([np.flatnonzero(~last), np.flatnonzero(last)])
    return X[order], y[order], w[order]


def _sparse(X, seed=1):
    """X with about 60 % of the entries made exactly 0, as CSR."""
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(np.where(rng.uniform(size=X.shape) < 0.6, 0.0, X))


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _dask_x(X, chunks):
    if sp.issparse(X):
        return da.from_array(X, chunks=(chunks, X.shape[1]), asarray=False)
    return da.from_array(X, chunks=(chunks, X.shape[1]))


def _fit(X, y, w=None, chunks=(200, 200, 200), **params):
    wd = None if w is None else da.from_array(w, chunks=(chunks,))
    return cdask.DaskLogisticRegression(**params).fit(
        _dask_x(X, chunks), da.from_array(y, chunks=(chunks,)), sample_weight=wd)


def _check_optimum(est, local, rtol=1e-6):
    """Same coefficients as the single-process fit and the same objective to 1e-8 relative."""
    assert est.converged_
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=rtol, atol=1e-8)
    assert abs(est.objective_ - local.objective_) <= 1e-8 * abs(local.objective_)


# ---- the single-process optimum ----------------------------------------------------------------


@pytest.mark.parametrize("params,weighted", [
    ({"C": 1.0}, False),
    ({"C": 0.05, "class_weight": "balanced"}, True),
    ({"C": 2.0, "class_weight": {"home": 1.0, "readmitted": 3.0, "rehab": 0.5}}, True),
    ({"C": 0.5, "fit_intercept": False}, False),
])
def test_multinomial_same_optimum_as_single_process_and_sklearn(client, params, weighted):
    X, yi, w = _data()
    y = LABELS[yi]
    sw = w if weighted else None
    est = _fit(X, y, sw, chunks=(150, 0, 250, 200), tol=1e-10, max_iter=100, **params)
    assert list(est.classes_) == ["home", "readmitted", "rehab"]
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    local = calibrisk.LogisticRegression(tol=1e-10, max_iter=100, **params).fit(X, y, sw)
    _check_optimum(est, local)
    sk = SkLR(tol=1e-12, max_iter=100000, **params).fit(X, y, sample_weight=sw)
    sk_b = sk.intercept_ - sk.intercept_.mean()  # scikit-learn does not centre the intercepts
    # lbfgs stops at its own precision (about 1e-7 here): a looser tolerance than above.
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.intercept_, sk_b, rtol=1e-5, atol=1e-6)
    # to_local(): the single-process model type (multinomial state), the same scores.
    loc = est.to_local()
    np.testing.assert_array_equal(loc.coef_, est.coef_)
    np.testing.assert_array_equal(loc.classes_, est.classes_)
    np.testing.assert_allclose(loc.predict_proba(X), local.predict_proba(X), rtol=1e-7)
    again = calibrisk.LogisticRegression()
    again.__setstate__(pickle.loads(pickle.dumps(loc)).__dict__)
    np.testing.assert_array_equal(again.predict_proba(X), loc.predict_proba(X))
    assert est.to_bytes() == loc._model.to_bytes()
    pipe = calibrisk.Pipeline.from_estimators(loc, None)
    np.testing.assert_allclose(pipe.predict_proba(X), local.predict_proba(X), rtol=1e-7)
    np.testing.assert_array_equal(est.predict(X), local.predict(X))


def test_multinomial_unpenalised_matches_single_process(client):
    X, y, _ = _data(n=900, seed=2)
    X = X + np.random.default_rng(3).normal(size=X.shape) * 4.0  # not separable
    est = _fit(X, y, chunks=(300, 300, 300), C=np.inf, tol=1e-10)
    local = calibrisk.LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    _check_optimum(est, local, rtol=1e-5)
    np.testing.assert_allclose(est.coef_.sum(axis=0), 0.0, atol=1e-12)  # the centred gauge
    sk = SkLR(C=np.inf, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X), atol=1e-6)


def test_multinomial_missing_values_mean_imputation(client):
    X, y, w = _data(seed=3)
    X = X.copy()
    X[np.random.default_rng(1).uniform(size=X.shape) < 0.1] = np.nan
    est = _fit(X, y, w, C=1.0, tol=1e-10, class_weight="balanced")
    local = calibrisk.LogisticRegression(C=1.0, tol=1e-10, class_weight="balanced").fit(X, y, w)
    np.testing.assert_allclose(est.impute_values_, local.get_state()["impute_values"],
                               rtol=1e-12)
    _check_optimum(est, local)


def test_binary_class_weights_do_not_move_the_imputation_means(client):
    """The single-process solver imputes with sample-weighted means (class weights only weigh
    the loss); the binary Dask path does too."""
    X, y, w = _data(K=2, seed=8)
    X = X.copy()
    X[np.random.default_rng(2).uniform(size=X.shape) < 0.15] = np.nan
    params = {"C": 1.0, "tol": 1e-10, "class_weight": {0: 1.0, 1: 4.0}}
    est = _fit(X, y, w, **params)
    local = calibrisk.LogisticRegression(**params).fit(X, y, w)
    np.testing.assert_allclose(est.impute_values_, local.get_state()["impute_values"],
                               rtol=1e-12)
    _check_optimum(est, local)


@pytest.mark.parametrize("K", [2, 3])
def test_sparse_partitions_same_optimum(client, K):
    X, y, w = _data(K=K, seed=4)
    Xs = _sparse(X)
    est = _fit(Xs, y, w, chunks=(250, 0, 350), C=0.3, tol=1e-10)
    local = calibrisk.LogisticRegression(C=0.3, tol=1e-10).fit(Xs, y, w)
    _check_optimum(est, local)
    sk = SkLR(C=0.3, tol=1e-12, max_iter=100000).fit(Xs, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-5, atol=1e-6)
    # Sparse dask input scored on the workers, CSR chunk by chunk.
    Xd = _dask_x(Xs, (100, 500))
    np.testing.assert_allclose(est.predict_proba(Xd).compute(), local.predict_proba(Xs),
                               rtol=1e-7)
    np.testing.assert_array_equal(est.predict(Xd).compute(), est.to_local().predict(Xs))
    assert est.to_local().get_state()["impute_values"] == [0.0] * X.shape[1]
    # The same rows dense give the same optimum (sparse zeros are values, not missing).
    dense = _fit(Xs.toarray(), y, w, C=0.3, tol=1e-10)
    np.testing.assert_allclose(dense.coef_, est.coef_, rtol=1e-7, atol=1e-10)


def test_wide_sparse_uses_newton_cg_and_reaches_the_optimum(client):
    """K * (d + 1) above NEWTON_MAX_COEFS: Newton-CG on exact gradient and Hessian-vector
    passes (no Hessian), still the same bytes for another partitioning."""
    rng = np.random.default_rng(5)
    n, d, K = 600, 200, 3
    Xs = sp.random(n, d, density=0.02, format="csr", random_state=6) * 3.0
    Xs = sp.hstack([Xs, sp.csr_matrix(rng.normal(size=(n, 2)))], format="csr")
    y = np.argmax(Xs[:, -2:].toarray() @ rng.normal(size=(2, K)) + rng.gumbel(size=(n, K)), axis=1)
    assert K * (d + 3) > cdask._dl.NEWTON_MAX_COEFS
    est = _fit(Xs, y, chunks=(300, 200, 100), C=1.0, tol=1e-10, max_iter=200)
    assert est._hessian is None and est.converged_
    local = calibrisk.LogisticRegression(C=1.0, tol=1e-10, max_iter=200).fit(Xs, y)
    _check_optimum(est, local)
    np.testing.assert_allclose(est.to_local().predict_proba(Xs), local.predict_proba(Xs),
                               atol=1e-9)
    other = _fit(Xs, y, chunks=(1, 0, 499, 100), C=1.0, tol=1e-10, max_iter=200)
    assert other.to_bytes() == est.to_bytes()


# ---- the same bytes on any cluster ------------------------------------------------------------


def _fingerprint(est):
    return (est.to_bytes(), pickle.dumps((est.coef_, est.intercept_, est.impute_values_,
                                          est.n_iter_, est.objective_)))


@pytest.mark.parametrize("kind", ["dense", "sparse", "sparse-binary"])
def test_same_bytes_for_any_cluster_and_partitioning(kind):
    X, y, w = _data(n=500, K=2 if kind == "sparse-binary" else 3, seed=7)
    if kind == "dense":
        X[7, 1] = np.nan
    else:
        X = _sparse(X)
    y = LABELS[y]
    # (60, ...) holds two classes only (the last class comes in the last rows); 0: empty.
    partitionings = [(500,), (60, 150, 290), (0, 250, 0, 250), (3,) * 166 + (2,)]
    seen = set()
    for n_workers in (1, 2, 3):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False,
                          dashboard_address=":0") as cluster, Client(cluster):
            for chunks in (partitionings if n_workers == 2 else partitionings[1:3]):
                est = _fit(X, y, w, chunks=chunks, C=0.7, class_weight="balanced", tol=1e-9)
                seen.add(_fingerprint(est))
            if kind == "dense":
                frame = dd.from_pandas(pd.DataFrame(X), npartitions=4)
                est = cdask.DaskLogisticRegression(C=0.7, class_weight="balanced", tol=1e-9).fit(
                    frame, dd.from_pandas(pd.Series(y), npartitions=4),
                    sample_weight=dd.from_pandas(pd.Series(w), npartitions=4))
                seen.add(_fingerprint(est))
    assert len(seen) == 1


# ---- bad input ----------------------------------------------------------------------------------


def test_errors(client):
    X, y, _ = _data(n=90)
    with pytest.raises(InvalidInputError, match="only one class"):
        _fit(X, np.full(90, "home"), chunks=(30, 30, 30))
    with pytest.raises(InvalidInputError, match="1001 classes, more than the limit of 1000"):
        Xb = np.random.default_rng(0).normal(size=(1001, 2))
        _fit(Xb, np.arange(1001), chunks=(501, 500))
    # Partitions with different column counts: the partition is named.
    import dask

    frame = dd.from_delayed([dask.delayed(pd.DataFrame)(b) for b in
                             (X[:30], X[30:60, :3], X[60:])], meta=pd.DataFrame(X[:0]),
                            verify_meta=False)
    with pytest.raises(InvalidInputError, match="partition 1 of X has 3 columns but partition 0 "
                                                "has 4"):
        cdask.DaskLogisticRegression().fit(frame, dd.from_pandas(pd.Series(y), npartitions=3))
    # A dense and a CSR partition in one collection.
    mixed = da.concatenate([da.from_array(X[:45]),
                            da.from_array(sp.csr_matrix(X[45:]), asarray=False)])
    with pytest.raises(InvalidInputError, match="partition 1 of X is scipy.sparse but partition"):
        cdask.DaskLogisticRegression().fit(mixed, da.from_array(y, chunks=45))
    Xs = _sparse(X)
    Xs.data[5] = np.nan
    row = int(np.searchsorted(Xs.indptr, 5, side="right") - 1)
    with pytest.raises(InvalidInputError, match=f"explicitly stored nan in partition {row // 30}"):
        _fit(Xs, y, chunks=(30, 30, 30))
    Xs.data[5] = np.inf
    with pytest.raises(InvalidInputError, match="sparse input has no missing values"):
        _fit(Xs, y, chunks=(30, 30, 30))
    with pytest.raises(InvalidInputError, match="zero total sample weight"):
        w = np.where(y == 2, 0.0, 1.0)
        _fit(X, y, w, chunks=(30, 30, 30), class_weight="balanced")
    with pytest.raises(calibrisk.InvalidParamsError, match="class_weight has key 'nope'"):
        _fit(X, LABELS[y], chunks=(30, 30, 30), class_weight={"nope": 2.0})
