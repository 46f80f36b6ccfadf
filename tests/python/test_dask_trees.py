# SPDX-License-Identifier: Apache-2.0
"""calibrisk.dask.DaskGradientBoostingClassifier (issue 14 items 3 and 5): the saved model's
SHA-256 equals the single-process GradientBoostingClassifier's on the same rows (the oracle) for
LocalClusters of 1, 2 and 3 workers (threads and processes) and partitionings with uneven sizes,
a partition without positives and an empty partition; with sample and class weights, row and
column subsampling, early stopping on a distributed eval_set. Bad input: non-binary labels, a
class on one worker only, mismatched partitions, undeclared text columns, a lost worker or failed
task, unsupported parameters, and the ImportError without the extra."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import calibrisk as cr  # noqa: E402
import calibrisk._dask_trees as dtrees  # noqa: E402
from calibrisk.dask import DaskGradientBoostingClassifier  # noqa: E402
from calibrisk.exceptions import InvalidInputError, InvalidParamsError  # noqa: E402

BASE = dict(n_estimators=6, max_leaf_nodes=6, min_samples_leaf=10, n_threads=1, random_state=7)


def _data(n=900, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.05] = np.nan
    X[:, 3] = np.round(X[:, 3], 1)  # few distinct values
    z = X[:, 0] - 0.7 * np.nan_to_num(X[:, 1]) + 0.3 * np.nan_to_num(X[:, 2]) + rng.normal(size=n)
    y = (z > 0.3).astype(np.int64)
    w = rng.uniform(0.2, 3.0, size=n)
    # The first 120 rows are all negative: a leading partition of them has no positives.
    neg = np.flatnonzero(y == 0)[:120]
    order = np.concatenate([neg, np.setdiff1d(np.arange(n), neg)])
    return X[order], y[order], w[order]


X, Y, W = _data()
XV, YV, _ = _data(n=400, seed=1)


def _sha(model_bytes):
    return hashlib.sha256(model_bytes).hexdigest()


def _local(params, w=None, eval_set=None):
    est = cr.GradientBoostingClassifier(**params).fit(X, Y, sample_weight=w, eval_set=eval_set)
    return est, _sha(est._model.to_bytes())


def _dask(params, chunks, w=None, eval_chunks=None):
    Xd = da.from_array(X, chunks=(chunks, -1))
    yd = da.from_array(Y, chunks=(chunks,))
    wd = None if w is None else da.from_array(w, chunks=(chunks,))
    ev = None
    if eval_chunks is not None:
        ev = (da.from_array(XV, chunks=(eval_chunks, -1)), da.from_array(YV, chunks=(eval_chunks,)))
    est = DaskGradientBoostingClassifier(**params).fit(Xd, yd, sample_weight=wd, eval_set=ev)
    return est, _sha(est.to_bytes())


# uneven; a first partition of 120 negatives (no positives); an empty partition in the middle
PARTITIONINGS = [(300, 100, 500), (120, 380, 0, 400), (900,)]


@pytest.fixture(scope="module", params=[1, 2, 3])
def cluster(request):
    with LocalCluster(n_workers=request.param, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as c, Client(c) as client:
        yield client


@pytest.fixture(scope="module")
def client2():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as c, Client(c) as client:
        yield client


def test_same_model_bytes_for_any_cluster_and_partitioning(cluster):
    est, ref = _local(BASE)
    assert est.n_iter_ == BASE["n_estimators"]
    for chunks in PARTITIONINGS:
        dist, sha = _dask(BASE, chunks)
        assert sha == ref, chunks
        np.testing.assert_array_equal(dist.predict_proba(X), est.predict_proba(X))


def test_weights_subsampling_and_early_stopping(client2):
    cases = [
        (dict(BASE, class_weight="balanced"), W, None),
        (dict(BASE, subsample=0.6, colsample_bytree=0.6), None, None),
        # bin edges from a 200-row sample merged from the partitions' bottom-k rows
        (dict(BASE, bin_subsample=200, max_bins=16), None, None),
        # an empty row bag everywhere: the row with the smallest bag key, on one worker
        (dict(BASE, subsample=1e-9), None, None),
        (dict(BASE, n_estimators=40, learning_rate=0.8, early_stopping=True, n_iter_no_change=2,
              monotonic_cst=[1, 0, 0, 0, 0], max_delta_step=0.7), W, 150),
    ]
    for params, w, ev in cases:
        est, ref = _local(params, w, None if ev is None else (XV, YV))
        dist, sha = _dask(params, (120, 380, 0, 400), w, ev)
        assert sha == ref, params
        assert dist.best_iteration_ == est.best_iteration_
        np.testing.assert_array_equal(dist.validation_loss_, est.validation_loss_)
    # early stopping really stopped before n_estimators, and kept fewer trees than it ran
    assert est.n_iter_ < 40 and est.best_iteration_ < est.n_iter_


def test_early_stopping_without_eval_set_holds_out_the_same_rows(cluster):
    # the single-process hold-out is a hash of (seed, global row): any partitioning draws it
    params = dict(BASE, n_estimators=60, learning_rate=0.9, early_stopping=True,
                  n_iter_no_change=2, validation_fraction=0.2, subsample=0.8)
    for w in (None, W):
        est, ref = _local(params, w)
        assert est.best_iteration_ < est.n_iter_ < 60  # it stopped early
        for chunks in PARTITIONINGS:
            dist, sha = _dask(params, chunks, w)
            assert sha == ref, chunks
            assert (dist.n_iter_, dist.best_iteration_) == (est.n_iter_, est.best_iteration_)
            np.testing.assert_array_equal(dist.validation_loss_, est.validation_loss_)


def test_subsample_draw_depends_only_on_the_global_row():
    # The row bag of a round is a hash of (seed, round, row): a Bernoulli(subsample) draw whose
    # rate matches, the same for any thread count.
    p = dict(BASE, subsample=0.5, n_estimators=3)
    a = cr.GradientBoostingClassifier(**dict(p, n_threads=1)).fit(X, Y)
    b = cr.GradientBoostingClassifier(**dict(p, n_threads=2)).fit(X, Y)
    assert a._model.to_bytes() == b._model.to_bytes()
    # The first tree's root cover is the hessian sum of the bag: about half of the full data's.
    full = cr.GradientBoostingClassifier(**dict(p, subsample=1.0)).fit(X, Y)
    root = [json.loads(m._model.to_bytes())["state"]["trees"][0]["cover"][0] for m in (a, full)]
    ratio = float(root[0]) / float(root[1])
    assert 0.4 < ratio < 0.6


def test_processes_cluster_and_dataframe_input():
    est, ref = _local(BASE)
    cols = [f"c{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    ref_df = cr.GradientBoostingClassifier(**BASE).fit(df, Y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as c, Client(c):
        ddf = dd.from_pandas(df, npartitions=3)
        ys = dd.from_pandas(pd.Series(Y), npartitions=3)
        dist = DaskGradientBoostingClassifier(**BASE).fit(ddf, ys)
        assert _sha(dist.to_bytes()) == _sha(ref_df._model.to_bytes()) == ref
        assert list(dist.feature_names_in_) == cols
        p = dist.predict_proba(ddf).compute()
        np.testing.assert_array_equal(p, est.predict_proba(X))
        local = dist.to_local()
        assert isinstance(local, cr.GradientBoostingClassifier)
        np.testing.assert_array_equal(local.predict(df), ref_df.predict(df))


# ---- bad input ---------------------------------------------------------------------------------


def test_a_class_on_one_worker_only(client2):
    # partition 0 holds only negatives, partition 1 only positives: still the single-process model
    order = np.argsort(Y, kind="stable")
    Xs, ys = X[order], Y[order]
    n0 = int((Y == 0).sum())
    ref = cr.GradientBoostingClassifier(**BASE).fit(Xs, ys)
    chunks = (n0, len(ys) - n0)
    dist = DaskGradientBoostingClassifier(**BASE).fit(da.from_array(Xs, chunks=(chunks, -1)),
                                                      da.from_array(ys, chunks=(chunks,)))
    assert dist.to_bytes() == ref._model.to_bytes()


def test_labels_must_be_binary(client2):
    y3 = Y + (X[:, 0] > 1.5)
    with pytest.raises(InvalidInputError, match="3 classes"):
        DaskGradientBoostingClassifier(**BASE).fit(da.from_array(X, chunks=(300, -1)),
                                                   da.from_array(y3, chunks=300))
    with pytest.raises(InvalidInputError, match="only one class"):
        DaskGradientBoostingClassifier(**BASE).fit(da.from_array(X, chunks=(300, -1)),
                                                   da.from_array(np.zeros(len(Y)), chunks=300))


def test_mismatched_and_non_numeric_partitions(client2):
    with pytest.raises(InvalidInputError, match="rows"):
        DaskGradientBoostingClassifier(**BASE).fit(da.from_array(X, chunks=(300, -1)),
                                                   da.from_array(Y[:-5], chunks=300))
    a = pd.DataFrame(X[:400, :3], columns=["a", "b", "c"])
    b = pd.DataFrame(X[400:, :2], columns=["a", "b"])
    ddf = dd.from_delayed([dask.delayed(a), dask.delayed(b)], meta=a, verify_meta=False)
    ys = dd.from_delayed([dask.delayed(pd.Series(Y[:400])), dask.delayed(pd.Series(Y[400:]))],
                         meta=pd.Series(Y[:1]), verify_meta=False)
    with pytest.raises(InvalidInputError, match="different numbers of columns"):
        DaskGradientBoostingClassifier(**BASE).fit(ddf, ys)
    # a text column left out of categorical_features (label columns: test_dask_trees_categorical)
    text = pd.DataFrame({"a": X[:, 0], "code": np.where(Y == 1, "x", "y")})
    with pytest.raises(InvalidInputError, match="non-numeric columns"):
        DaskGradientBoostingClassifier(**BASE, categorical_features=[]).fit(
            dd.from_pandas(text, npartitions=2), dd.from_pandas(pd.Series(Y), npartitions=2))
    with pytest.raises(InvalidInputError, match="dask.array or dask.dataframe"):
        DaskGradientBoostingClassifier(**BASE).fit(X, Y)


def test_float32_partitions_are_binned_as_they_are(client2):
    # float32 partitions are binned without a float64 copy: the model is still the single-process
    # fit's on the same (float32) values, for arrays and dataframes, with sample weights too
    X32 = X.astype(np.float32)
    for w in (None, W):
        ref = _sha(cr.GradientBoostingClassifier(**BASE).fit(X32, Y, sample_weight=w)
                   ._model.to_bytes())
        assert ref == _sha(cr.GradientBoostingClassifier(**BASE).fit(
            X32.astype(np.float64), Y, sample_weight=w)._model.to_bytes())
        wd = None if w is None else da.from_array(w, chunks=(300,))
        dist = DaskGradientBoostingClassifier(**BASE).fit(
            da.from_array(X32, chunks=(300, -1)), da.from_array(Y, chunks=(300,)),
            sample_weight=wd)
        assert _sha(dist.to_bytes()) == ref
    frame = pd.DataFrame(X32, columns=[f"c{j}" for j in range(X32.shape[1])])
    dist = DaskGradientBoostingClassifier(**BASE).fit(
        dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(Y), npartitions=3))
    assert _sha(dist.to_bytes()) == _sha(
        cr.GradientBoostingClassifier(**BASE).fit(frame, Y)._model.to_bytes())


def test_infinite_value_found_chunk_by_chunk(client2, monkeypatch):
    # the partition is checked a chunk of rows at a time: an inf in a later chunk is still found,
    # with its row within the partition and its column
    monkeypatch.setattr(dtrees, "_CHUNK", 16)
    for dtype in (np.float64, np.float32):
        Xi = X.astype(dtype)
        Xi[437, 2] = -np.inf
        with pytest.raises(InvalidInputError, match="partition 1, row 137 of the partition, "
                                                    "column 2"):
            DaskGradientBoostingClassifier(**BASE).fit(da.from_array(Xi, chunks=(300, -1)),
                                                       da.from_array(Y, chunks=(300,)))


def test_unsupported_parameters_name_the_alternative(client2):
    Xd, yd = da.from_array(X, chunks=(300, -1)), da.from_array(Y, chunks=300)
    with pytest.raises(InvalidParamsError, match="code_hierarchy"):
        DaskGradientBoostingClassifier(**BASE, code_hierarchy={0: None}).fit(Xd, yd)


def _spy_peers(monkeypatch):
    """Records, per _Peers a fit's driver opens: (hosts in process, peer addresses of its comms,
    per peer whether it runs the calls on its event loop)."""
    seen = []
    original = dtrees._Peers.__init__

    def spy(self, *args):
        original(self, *args)
        seen.append((len(self.local), [c.peer_address for c in self.comms], list(self.inline)))

    monkeypatch.setattr(dtrees._Peers, "__init__", spy)
    return seen


def test_a_worker_drives_the_fit(client2, monkeypatch):
    # The first worker's actor runs the boosting loop: its own partitions in process, the other
    # worker's over one comm; the client only waits (its location costs no round trip per step).
    _, ref = _local(BASE)
    seen = _spy_peers(monkeypatch)
    assert _dask(BASE, (120, 380, 0, 400))[1] == ref
    assert len(seen) == 1 and seen[0][0] == 1 and len(seen[0][1]) == 1
    assert seen[0][2] == [True]  # small shards: on the peer's event loop
    # with an eval_set: the validation shards are driven the same way
    seen.clear()
    assert _dask(BASE, 300, eval_chunks=250)[1] == _local(BASE, eval_set=(XV, YV))[1]
    assert len(seen) == 2 and all(local == 1 and len(peers) == 1 for local, peers, _ in seen)
    # shards above _INLINE_CELLS values: the peer runs the calls on its actor's thread
    seen.clear()
    monkeypatch.setattr(dtrees, "_INLINE_CELLS", -1)  # every shard counts as large
    assert _dask(BASE, (120, 380, 0, 400))[1] == ref
    assert len(seen) == 1 and seen[0][2] == [False]


def test_the_drivers_comms_use_the_clusters_tls(monkeypatch):
    # The driver's comms to the other workers are Dask comms opened with the worker's security:
    # on a TLS cluster they are TLS (a plaintext connection would be refused), and the model is
    # the single-process one.
    pytest.importorskip("cryptography")
    _, ref = _local(BASE)
    seen = _spy_peers(monkeypatch)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, security=True,
                      dashboard_address=":0") as c, Client(c):
        assert c.scheduler_address.startswith("tls://")
        assert _dask(BASE, (120, 380, 0, 400))[1] == ref
    assert seen and all(peers and all(a.startswith("tls://") for a in peers)
                        for _, peers, _ in seen)


def test_a_driver_waiting_on_a_hung_worker_stops_when_the_client_gives_up():
    # A worker that hangs (alive, not replying) keeps its comm open; the client sees it leave
    # the cluster only after the scheduler's timeout, gives up and sends _cancel to the driving
    # actor: the driver, waiting on the reply, must stop within its 2 s check, not stay behind.
    import asyncio
    import types

    loop = asyncio.new_event_loop()
    host = dtrees._Host()
    worker = types.SimpleNamespace(state=types.SimpleNamespace(actors={"driver-key": host}))
    peers = dtrees._Peers(worker, [], loop, host)  # no other worker: no comm opened
    never = loop.create_task(asyncio.sleep(3600))  # the read of the hung worker's reply
    assert not dtrees._cancel("other-key", dask_worker=worker) and not host.cancelled
    assert dtrees._cancel("driver-key", dask_worker=worker) and host.cancelled
    t0 = time.monotonic()
    with pytest.raises(dtrees.DistributedFitError, match="client stopped the fit during round 3"):
        peers._replies([never], 3)
    assert time.monotonic() - t0 < 3.0
    dtrees._close_loop(loop)
    assert never.cancelled() and loop.is_closed()


def test_max_model_nodes_is_checked_before_any_work(client2, monkeypatch):
    Xd, yd = da.from_array(X, chunks=(300, -1)), da.from_array(Y, chunks=300)
    # 6 trees of up to 6 leaves: up to 66 nodes; the single-process fit (the oracle) refuses 65
    params = dict(BASE, max_model_nodes=65)
    with pytest.raises(InvalidParamsError, match="max_model_nodes = 65"):
        cr.GradientBoostingClassifier(**params).fit(X, Y)

    def no_binning(*args, **kwargs):
        raise AssertionError("the bin sample was requested before the size check")

    monkeypatch.setattr(DaskGradientBoostingClassifier, "_bin_mapper", no_binning)
    with pytest.raises(InvalidParamsError, match="max_model_nodes = 65.*Lower n_estimators"):
        DaskGradientBoostingClassifier(**params).fit(Xd, yd)
    monkeypatch.undo()
    _, ref = _local(dict(BASE, max_model_nodes=66))
    assert _dask(dict(BASE, max_model_nodes=66), 300)[1] == ref


def test_lost_worker_state_or_failed_task_is_an_error(client2, monkeypatch):
    Xd, yd = da.from_array(X, chunks=(300, -1)), da.from_array(Y, chunks=300)
    original = dtrees._step

    def recomputed(shard, seq, *args):
        # What Dask does after losing a worker: the partition's shard is rebuilt from scratch
        # (here: partition 1's, a few steps into the fit; tasks run on copies of this function,
        # so the trigger is the step number, not a counter).
        if seq == 12 and shard.index == 1:
            shard.seq = 0
        return original(shard, seq, *args)

    monkeypatch.setattr(dtrees, "_step", recomputed)
    with pytest.raises(dtrees.DistributedFitError, match="lost its state"):
        DaskGradientBoostingClassifier(**BASE).fit(Xd, yd)

    def failing(shard, seq, *args):
        raise OSError("worker connection closed")

    monkeypatch.setattr(dtrees, "_step", failing)
    est = DaskGradientBoostingClassifier(**BASE)
    with pytest.raises(dtrees.DistributedFitError, match="no model was fitted"):
        est.fit(Xd, yd)
    assert not hasattr(est, "_model")


@pytest.mark.parametrize("victim", ["driver", "other"])
def test_killed_worker_process_is_an_error(monkeypatch, victim):
    # A worker process killed once the fit is running (300 rounds of 31 leaves: seconds of
    # steps): the driver's own worker (the client sees it leave) or the other one (its comm to
    # the driver closes). Either way an error, and no model.
    original = dtrees._Cluster._start_drive
    killed = []

    def start(actor, *args):
        fut = original(actor, *args)
        time.sleep(0.5)
        train_hosts = args[0]
        addr = train_hosts[0][0] if victim == "driver" else train_hosts[1][0]
        client = dtrees._client()
        pid = client.run(os.getpid, workers=[addr])[addr]
        os.kill(pid, signal.SIGKILL)
        killed.append(addr)
        return fut

    monkeypatch.setattr(dtrees._Cluster, "_start_drive", staticmethod(start))
    params = dict(BASE, n_estimators=300, max_leaf_nodes=31, learning_rate=0.05)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as c, Client(c):
        est = DaskGradientBoostingClassifier(**params)
        with pytest.raises(dtrees.DistributedFitError, match="no model was fitted|lost its state"):
            est.fit(da.from_array(X, chunks=(300, -1)), da.from_array(Y, chunks=300))
        assert killed and not hasattr(est, "_model")


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
        "    from calibrisk.dask import DaskGradientBoostingClassifier\n"
        "except ImportError as e:\n"
        "    print('MESSAGE', e)\n"
        "else:\n"
        "    print('IMPORTED')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert "MESSAGE" in out.stdout, out.stdout + out.stderr
    assert "pip install calibrisk[dask]" in out.stdout
