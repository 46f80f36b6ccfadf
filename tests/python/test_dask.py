# SPDX-License-Identifier: Apache-2.0
"""calibrisk.dask: distributed logistic regression (same optimum as the single-process solver and
scikit-learn; the same bytes for any cluster size and partitioning), distributed scoring (bit for
bit the single-process scores) and evaluation (exact point metrics; the single-process report),
bad input, and the ImportError without the optional extra."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLR  # noqa: E402

import calibrisk  # noqa: E402
import calibrisk.dask as cdask  # noqa: E402
from calibrisk.exceptions import InvalidInputError  # noqa: E402


def _data(n=600, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 0.5, 10.0])[:d]
    z = 0.4 + X @ (np.array([0.8, -0.3, 1.5, 0.05])[:d]) + rng.normal(size=n)
    y = (z > 0.5).astype(np.int64)
    w = rng.uniform(0.5, 2.0, size=n)
    # Rows 0..59 all negative: a leading partition of them has no positives.
    order = np.concatenate([np.flatnonzero(y == 0)[:60],
                            np.setdiff1d(np.arange(n), np.flatnonzero(y == 0)[:60])])
    return X[order], y[order], w[order]


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _fit(X, y, w=None, chunks=(200, 200, 200), **params):
    Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
    yd = da.from_array(y, chunks=(chunks,))
    wd = None if w is None else da.from_array(w, chunks=(chunks,))
    return cdask.DaskLogisticRegression(**params).fit(Xd, yd, sample_weight=wd)


# ---- packaging ---------------------------------------------------------------------------------


def test_import_without_dask_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dask', 'distributed'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import calibrisk\n"
        "try:\n"
        "    import calibrisk.dask\n"
        "except ImportError as e:\n"
        "    print('MESSAGE', e)\n"
        "else:\n"
        "    print('IMPORTED')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert "MESSAGE" in out.stdout, out.stdout + out.stderr
    assert "pip install calibrisk[dask]" in out.stdout


# ---- distributed logistic regression -------------------------------------------------------------


@pytest.mark.parametrize("params,weighted", [
    ({"C": 1.0}, False),
    ({"C": 0.05, "class_weight": "balanced"}, True),
    ({"C": np.inf}, True),
    ({"C": 2.0, "class_weight": {0: 1.0, 1: 3.0}, "fit_intercept": False}, False),
])
def test_same_optimum_as_single_process_and_sklearn(client, params, weighted):
    X, y, w = _data()
    sw = w if weighted else None
    est = _fit(X, y, sw, tol=1e-10, max_iter=100, **params)
    assert est.converged_
    local = calibrisk.LogisticRegression(tol=1e-10, max_iter=100, **params).fit(X, y, sw)
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=1e-6, atol=1e-9)
    sk = SkLR(tol=1e-12, max_iter=10000, **params).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(est.intercept_, sk.intercept_, rtol=1e-6, atol=1e-8)
    # to_local(): the same model as a single-process estimator, into a Pipeline.
    loc = est.to_local()
    np.testing.assert_array_equal(loc.coef_, est.coef_)
    if params["C"] == np.inf and params.get("fit_intercept", True):  # Wald table of the MLE
        np.testing.assert_allclose(loc.summary(as_frame=False)["std_error"],
                                   local.summary(as_frame=False)["std_error"], rtol=1e-5)
    pipe = calibrisk.Pipeline.from_estimators(loc, None, 0.5)
    np.testing.assert_allclose(pipe.predict_risk(X), local.predict_proba(X)[:, 1], rtol=1e-6)


def test_missing_values_mean_imputation_matches_single_process(client):
    X, y, w = _data(seed=3)
    X = X.copy()
    rng = np.random.default_rng(1)
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    est = _fit(X, y, w, C=1.0, tol=1e-10)
    local = calibrisk.LogisticRegression(C=1.0, tol=1e-10).fit(X, y, w)
    np.testing.assert_allclose(est.impute_values_, local.get_state()["impute_values"],
                               rtol=1e-12)
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-6, atol=1e-9)
    Xt = X[:50]
    np.testing.assert_allclose(est.predict_proba(Xt), local.predict_proba(Xt), rtol=1e-6)


def _fingerprint(est):
    """Everything that must not depend on the cluster: the model bytes, the pipeline file and
    the pickled coefficients."""
    loc = est.to_local()
    return (loc._model.to_bytes(),
            calibrisk.Pipeline.from_estimators(loc, None, 0.3).to_string(),
            pickle.dumps((est.coef_, est.intercept_, est.impute_values_, est.n_iter_)))


def test_same_bytes_for_any_cluster_and_partitioning():
    X, y, w = _data(n=500, seed=5)
    X[7, 1] = np.nan
    partitionings = [(500,), (100, 150, 250), (60, 1, 439), (0, 250, 0, 250), (3,) * 166 + (2,)]
    seen = set()
    for n_workers in (1, 2, 3):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False,
                          dashboard_address=":0") as cluster, Client(cluster):
            for chunks in (partitionings if n_workers == 2 else partitionings[1:3]):
                est = _fit(X, y, w, chunks=chunks, C=0.7, class_weight="balanced", tol=1e-9)
                seen.add(_fingerprint(est))
            frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=4)
            ys = dd.from_pandas(pd.Series(y), npartitions=4)
            ws = dd.from_pandas(pd.Series(w), npartitions=4)
            est = cdask.DaskLogisticRegression(C=0.7, class_weight="balanced", tol=1e-9).fit(
                frame, ys, sample_weight=ws)
            assert list(est.feature_names_in_) == list("abcd")
            est.feature_names_in_ = None
            del est.feature_names_in_
            seen.add(_fingerprint(est))
    # (60, ...): the first partition holds negatives only; (0, ...): empty partitions.
    assert len(seen) == 1


def test_worker_lost_mid_fit_gives_the_same_model(monkeypatch):
    """A worker closed during the Newton iterations: Dask recomputes its prepared partitions
    from their graph and the fit ends with the same bytes as without the failure."""
    X, y, w = _data(n=300, seed=8)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        ref = _fingerprint(_fit(X, y, w, chunks=(100, 100, 100), C=1.0, tol=1e-9))
        calls = {"n": 0}
        tree_sum = cdask._tree_sum

        def failing_tree_sum(parts, fan_in=8):
            calls["n"] += 1
            if calls["n"] == 3:  # the second Newton pass: partitions are persisted by now
                name = sorted(cluster.workers)[0]
                c.sync(cluster.workers[name].close)
            return tree_sum(parts, fan_in)

        monkeypatch.setattr(cdask, "_tree_sum", failing_tree_sum)
        est = _fit(X, y, w, chunks=(100, 100, 100), C=1.0, tol=1e-9)
        assert calls["n"] > 3 and len(c.scheduler_info()["workers"]) == 1
        assert _fingerprint(est) == ref


def test_labels_only_in_some_partitions_and_text_labels(client):
    X, y, w = _data()
    labels = np.where(y == 1, "readmitted", "home")
    est = _fit(X, labels, chunks=(60, 540), C=1.0, tol=1e-10)
    ref = _fit(X, y, chunks=(600,), C=1.0, tol=1e-10)
    assert list(est.classes_) == ["home", "readmitted"]
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    assert set(est.predict(X[:20])) <= {"home", "readmitted"}
    frame = dd.from_pandas(pd.DataFrame(X[:50]), npartitions=2)
    np.testing.assert_array_equal(est.predict(frame).compute(), est.predict(X[:50]))
    np.testing.assert_array_equal(est.predict_proba(frame).compute(), est.predict_proba(X[:50]))
    np.testing.assert_array_equal(est.decision_function(da.from_array(X[:50], chunks=20)).compute(),
                                  est.to_local().decision_function(X[:50]))


# ---- bad input ----------------------------------------------------------------------------------


def test_bad_input_errors(client):
    X, y, w = _data(n=90)
    est = cdask.DaskLogisticRegression()
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=3)
    with pytest.raises(InvalidInputError, match="partitions but y has"):
        est.fit(frame, dd.from_pandas(pd.Series(y), npartitions=2))
    with pytest.raises(InvalidInputError, match="rows of X but"):
        est.fit(frame, dd.from_pandas(pd.Series(np.r_[y, y[:3]]), npartitions=3))
    text = pd.DataFrame({"a": X[:, 0], "b": ["x"] * len(X)})
    with pytest.raises(InvalidInputError, match="non-numeric columns"):
        est.fit(dd.from_pandas(text, npartitions=2), dd.from_pandas(pd.Series(y), npartitions=2))
    with pytest.raises(InvalidInputError, match="only one class"):
        _fit(X, np.zeros(90), chunks=(30, 30, 30))
    with pytest.raises(InvalidInputError, match="1001 classes, more than the limit"):
        _fit(np.zeros((1001, 4)), np.arange(1001), chunks=(1001,))
    with pytest.raises(InvalidInputError, match="numbers in some partitions and text"):
        ylab = np.array([0] * 45 + ["a"] * 45, dtype=object)
        est.fit(da.from_array(X, chunks=(45, 4)), da.from_array(ylab, chunks=45))
    with pytest.raises(InvalidInputError, match="numbers and text in partition 0"):
        est.fit(da.from_array(X, chunks=(90, 4)), da.from_array(ylab, chunks=90))
    with pytest.raises(InvalidInputError, match="no rows"):
        _fit(X[:0], y[:0], chunks=(0,))
    Xi = X.copy()
    Xi[5, 2] = np.inf
    with pytest.raises(InvalidInputError, match="infinite value"):
        _fit(Xi, y, chunks=(30, 30, 30))
    with pytest.raises(InvalidInputError, match="sample_weight"):
        _fit(X, y, -w, chunks=(30, 30, 30))
    with pytest.raises(InvalidInputError, match="dask.array or dask.dataframe"):
        est.fit(X, y)
    with pytest.raises(calibrisk.InvalidParamsError, match="missing"):
        cdask.DaskLogisticRegression(missing="mean_with_indicator").fit(
            da.from_array(X), da.from_array(y))


# ---- distributed scoring ------------------------------------------------------------------------


def _pipeline():
    X, y, _ = _data(n=800, seed=11)
    Xtr, ytr, Xcal, ycal = X[:500], y[:500], X[500:], y[500:]
    model = calibrisk.LogisticRegression(C=1.0).fit(Xtr, ytr)
    cal = calibrisk.PlattCalibrator().fit(model.decision_function(Xcal), ycal)
    pipe = calibrisk.Pipeline.from_estimators(model, cal, 0.4, feature_names=list("abcd"),
                                              calibrator_input="margin")
    return pipe, X


def test_scoring_equals_single_process_bit_for_bit(client):
    pipe, X = _pipeline()
    X = X.copy()
    X[3, 2] = np.nan
    Xd = da.from_array(X, chunks=((100, 0, 333, 367), (4,)))
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3)
    for data in (Xd, frame):
        for method in ("predict_risk", "predict_proba", "predict", "decision_function"):
            got = getattr(pipe, method)(data)
            assert isinstance(got, da.Array)
            np.testing.assert_array_equal(got.compute(), getattr(pipe, method)(X))
        ex = pipe.explain(data, k=2)
        ref = pipe.explain(X, k=2)
        got = ex.compute()
        np.testing.assert_array_equal(got.contributions, ref.contributions)
        assert got.baseline == ref.baseline and got.top == ref.top
        np.testing.assert_array_equal(ex.log_odds.compute(), ref.log_odds)
    with pytest.raises(InvalidInputError, match="columns"):
        pipe.predict_risk(dd.from_pandas(pd.DataFrame(X, columns=list("abce")), npartitions=2))
    with pytest.raises(InvalidInputError, match="columns"):
        pipe.predict_risk(da.from_array(X[:, :3]))


def test_k_class_pipeline_scoring_equals_single_process(client):
    X, _, _ = _data(n=450, seed=4)
    y = np.array(["denied", "paid", "pending"])[np.digitize(X[:, 0] + X[:, 2], [-0.7, 0.7])]
    model = calibrisk.LogisticRegression(C=1.0).fit(X, y)
    pipe = calibrisk.Pipeline.from_estimators(model, None)
    Xd = da.from_array(X, chunks=((200, 0, 250), (4,)))
    for method in ("predict_proba", "predict"):
        got = getattr(pipe, method)(Xd).compute()
        np.testing.assert_array_equal(got, getattr(pipe, method)(X))
    assert set(pipe.predict(Xd).compute()) <= {"denied", "paid", "pending"}


def test_scoring_ships_the_model_once_across_processes():
    pipe, X = _pipeline()
    text = pipe.to_string()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        Xd = c.persist(da.from_array(X, chunks=(100, 4)))
        risk = pipe.predict_risk(Xd)
        # The graph refers to one scattered copy of the file; no task carries the text.
        graph = dict(risk.__dask_graph__())
        tasks = [v for k, v in graph.items() if str(k[0]).startswith("_pipe_apply")]
        assert len(tasks) == 8
        assert all(len(pickle.dumps(t)) < len(text) / 2 for t in tasks)
        np.testing.assert_array_equal(risk.compute(), pipe.predict_risk(X))
        # Local DaskLogisticRegression scoring of dask input also runs on the workers.
        est = cdask.DaskLogisticRegression(C=1.0).fit(Xd, da.from_array(_data(n=800, seed=11)[1],
                                                                         chunks=100))
        np.testing.assert_array_equal(est.predict_proba(Xd).compute(),
                                      est.to_local().predict_proba(X))


# ---- distributed evaluation ---------------------------------------------------------------------


def _scores(n=1000, seed=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n).astype(np.float64)
    p = np.clip(0.3 * y + rng.uniform(size=n) * 0.7, 0, 1)
    p = np.round(p, 2)  # many ties across partitions
    w = rng.uniform(0.1, 3.0, size=n)
    return y, p, w


@pytest.mark.parametrize("chunks", [(1000,), (100, 0, 400, 500), (7,) * 142 + (6,)])
def test_point_metrics_exact(client, chunks):
    from calibrisk import metrics

    y, p, w = _scores()
    yd, pd_, wd = (da.from_array(v, chunks=(chunks,)) for v in (y, p, w))
    m = cdask.point_metrics(yd, pd_, threshold=0.5)
    assert m["roc_auc"] == metrics.roc_auc_score(y, p)
    assert m["average_precision"] == metrics.average_precision_score(y, p)
    assert m["log_loss"] == pytest.approx(metrics.log_loss(y, p), rel=1e-13)
    assert m["brier_score"] == pytest.approx(metrics.brier_score_loss(y, p), rel=1e-13)
    flag = p >= 0.5
    assert m["tp"] == np.sum(flag & (y == 1)) and m["fp"] == np.sum(flag & (y == 0))
    assert m["alert_rate"] == np.mean(flag)
    assert m["recall"] == np.sum(flag & (y == 1)) / np.sum(y == 1)
    assert m["n"] == 1000
    mw = cdask.point_metrics(yd, pd_, sample_weight=wd)
    assert mw["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p, sample_weight=w), rel=1e-13)
    assert mw["average_precision"] == pytest.approx(
        metrics.average_precision_score(y, p, sample_weight=w), rel=1e-13)
    assert mw["log_loss"] == pytest.approx(metrics.log_loss(y, p, sample_weight=w), rel=1e-13)


def test_evaluate_gathers_and_gives_the_single_process_report(client):
    y, p, _ = _scores(n=400)
    sex = np.where(np.arange(400) % 3 == 0, "F", "M")
    yd, pd_ = da.from_array(y, chunks=130), da.from_array(p, chunks=130)
    sexd = da.from_array(sex, chunks=130)
    rep = cdask.evaluate(yd, pd_, threshold=0.5, subgroups={"sex": sexd}, n_bootstrap=20)
    ref = calibrisk.evaluate(y, p, threshold=0.5, subgroups={"sex": sex}, n_bootstrap=20)
    assert rep.to_json() == ref.to_json()
    with pytest.raises(InvalidInputError, match="point_metrics"):
        cdask.evaluate(yd, pd_, max_rows=100)
    with pytest.raises(InvalidInputError, match="probabilities"):
        cdask.point_metrics(yd, pd_ * 2)
