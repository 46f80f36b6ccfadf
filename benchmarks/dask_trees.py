# SPDX-License-Identifier: Apache-2.0
"""Distributed gradient-boosted trees on a LocalCluster: calibrisk.dask's
DaskGradientBoostingClassifier vs the single-process calibrisk.GradientBoostingClassifier,
xgboost.dask.DaskXGBClassifier and lightgbm.dask.DaskLGBMClassifier on the same cluster and data,
in one run. A standalone script, not a compare.py area: it starts its own clusters
(docs/distributed.md, "Distributed trees: measurements").

    PYTHONPATH=build/python python benchmarks/dask_trees.py [--rows N] [--features D]
        [--partitions P] [--libraries calibrisk,xgboost,lightgbm] [--quick] [--json out.json]

What it measures (every figure is wall time on this machine; report `uptime` with it — the script
records the load average before and after):

1. Fit time. Single-process fits at 2 threads (calibrisk, and the peers' own single-process
   estimators for context) and Dask fits on ``LocalCluster(n_workers=2, threads_per_worker=1)``
   with the data persisted on the workers in P row partitions (chunk i on worker i mod W)
   before the clock starts. Each library's Dask fit runs on a fresh cluster (so one library's
   memory does not inflate the next one's peak); ``--quick`` shares one cluster per phase.
   Ratios: calibrisk Dask / calibrisk single-process (target <= 1.5) and calibrisk Dask /
   xgboost.dask (target <= 1.0). Log loss and ROC AUC on a held-out set show the settings are
   comparable.
2. Determinism across clusters. On the first ``--det-rows`` rows, each library is fitted single
   process (2 threads; calibrisk also 1 thread) and on clusters of 1, 2 and 3 workers
   (``--no-three`` drops 3) with even and uneven row partitions (one of them empty). The model
   bytes are hashed
   (SHA-256): calibrisk's saved model (``to_bytes()``, the pipeline file's model section),
   XGBoost's ``Booster.save_raw("json")``, LightGBM's ``model_to_string()`` without its
   ``parameters:`` block (which records machine lists, ports and thread counts, not the model);
   the largest and mean |difference| of predicted probabilities on the held-out rows are
   reported against the first Dask fit (1 worker).
3. Peak memory per worker during the Dask fit: each worker process resets its peak-RSS counter
   (``/proc/self/clear_refs`` <- 5) after the data are persisted and the library is imported, and
   reads ``VmHWM`` after the fit. ``excess`` = peak - RSS before the fit (the persisted float32
   partitions are in both); it is compared with the worker's share of the binned data
   (its rows x features bytes, uint8 bins) — the rest is the "bounded constant".
4. Communication. Measured during the fit: bytes Dask moved out of each worker
   (``Worker.transfer_outgoing_bytes_total``: task results to other workers and the client) and
   the bytes sent over the loopback interface (``/proc/net/dev``, ``lo``: every process of the
   LocalCluster, including XGBoost's and LightGBM's own collective sockets, scheduler messages and
   anything else on this machine using ``lo`` at the time). Computed: the histogram bytes a worker
   sends per split and per tree for calibrisk's int64 histograms.
5. A cost model extrapolated to 1e8 rows x 200 features on 16-64 workers from the measured
   per-row-feature cost of a single-thread calibrisk fit and the measured LocalCluster reduction
   round trip, with the bandwidth and fan-in given on the command line.

Data (deterministic, independent of the partitioning and of --rows except where it stops): rows
come in blocks of 65,536, block b drawn from ``numpy.random.default_rng([seed, b])``: a latent
standard normal Z (block x D); feature j is, by j mod 5, Z (normal), exp(0.75 Z) (skewed, like a
cost), 1 / (1 + exp(-1.7 Z)) (bounded, like a proportion), floor(exp(0.5 Z + 0.5)) (small
counts) or Z > 0.5 (a flag); columns with j mod 7 == 3 are 10 % missing (NaN, at random). The
label is Bernoulli(sigmoid(Z @ beta + 0.6 Z_0 Z_1 + 0.8 [Z_2 > 1] - 1.2)) with
beta_j = +-0.9 / sqrt(1 + j/3) (sign alternating). X is float32 (n x D C-ordered), y float64
0/1. Held-out rows for quality and prediction differences use seed + 1.

Settings (same for every library): 100 rounds, 31 leaves (leaf-wise growth; XGBoost
grow_policy="lossguide", max_depth=0), learning rate 0.1, 255 value bins per feature (each library
adds its own missing-value handling), at least 20 rows per leaf where the library has the option
(calibrisk min_samples_leaf, LightGBM min_child_samples; XGBoost has none), min hessian sum 1e-3,
no L2 penalty, no row or column subsampling, no early stopping, seed 0; LightGBM with
deterministic=True and force_row_wise=True, XGBoost tree_method="hist".
"""

import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

BLOCK = 1 << 16
HIST_SLOT_BYTES = 24  # calibrisk HistBin: int64 g, h and row count (padding not sent)
LIBRARIES = ("calibrisk", "xgboost", "lightgbm")


# ------------------------------------------------------------------------------------------------
# data


def make_data(n, d, seed=0):
    """The first n rows of the synthetic data set (module docstring): X float32 (n, d), y 0/1."""
    beta = np.array([(0.9 if j % 2 == 0 else -0.9) / math.sqrt(1 + j / 3) for j in range(d)])
    X = np.empty((n, d), dtype=np.float32)
    y = np.empty(n, dtype=np.float64)
    kind = np.arange(d) % 5
    missing_cols = np.flatnonzero(np.arange(d) % 7 == 3)
    for b in range(-(-n // BLOCK)):
        rng = np.random.default_rng([seed, b])
        Z = rng.standard_normal((BLOCK, d))
        u = rng.random(BLOCK)
        miss = rng.random((BLOCK, len(missing_cols))) < 0.1
        logit = Z @ beta - 1.2
        if d >= 2:
            logit += 0.6 * Z[:, 0] * Z[:, 1]
        if d >= 3:
            logit += 0.8 * (Z[:, 2] > 1.0)
        F = np.empty_like(Z)
        F[:, kind == 0] = Z[:, kind == 0]
        F[:, kind == 1] = np.exp(0.75 * Z[:, kind == 1])
        F[:, kind == 2] = 1.0 / (1.0 + np.exp(-1.7 * Z[:, kind == 2]))
        F[:, kind == 3] = np.floor(np.exp(0.5 * Z[:, kind == 3] + 0.5))
        F[:, kind == 4] = Z[:, kind == 4] > 0.5
        sub = F[:, missing_cols]
        sub[miss] = np.nan
        F[:, missing_cols] = sub
        lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
        X[lo:hi] = F[: hi - lo]
        y[lo:hi] = u[: hi - lo] < 1.0 / (1.0 + np.exp(-logit[: hi - lo]))
    return X, y


# ------------------------------------------------------------------------------------------------
# the estimators, with the same settings


def settings(rounds):
    return {"rounds": rounds, "leaves": 31, "learning_rate": 0.1, "max_bins": 255,
            "min_rows_per_leaf": 20, "min_hessian": 1e-3, "l2": 0.0, "seed": 0}


def estimator(lib, s, dask, threads=None):
    """A classifier of library `lib` (single-process with `threads`, or its Dask estimator)."""
    if lib == "calibrisk":
        import calibrisk
        kw = dict(n_estimators=s["rounds"], learning_rate=s["learning_rate"],
                  max_leaf_nodes=s["leaves"], max_bins=s["max_bins"],
                  min_samples_leaf=s["min_rows_per_leaf"], min_child_weight=s["min_hessian"],
                  l2_regularization=s["l2"], early_stopping=False, random_state=s["seed"])
        if not dask:
            return calibrisk.GradientBoostingClassifier(n_threads=threads, **kw)
        import calibrisk.dask as cd
        cls = cd.DaskGradientBoostingClassifier
        accepted = cls().get_params() if hasattr(cls, "get_params") else kw
        return cls(**{k: v for k, v in kw.items() if k in accepted})
    if lib == "xgboost":
        import xgboost
        kw = dict(n_estimators=s["rounds"], learning_rate=s["learning_rate"], tree_method="hist",
                  grow_policy="lossguide", max_leaves=s["leaves"], max_depth=0,
                  max_bin=s["max_bins"], min_child_weight=s["min_hessian"],
                  reg_lambda=s["l2"], random_state=s["seed"])
        if not dask:
            return xgboost.XGBClassifier(n_jobs=threads, **kw)
        import xgboost.dask
        return xgboost.dask.DaskXGBClassifier(**kw)
    if lib == "lightgbm":
        import lightgbm
        kw = dict(n_estimators=s["rounds"], learning_rate=s["learning_rate"],
                  num_leaves=s["leaves"], max_bin=s["max_bins"],
                  min_child_samples=s["min_rows_per_leaf"], min_child_weight=s["min_hessian"],
                  reg_lambda=s["l2"], random_state=s["seed"], deterministic=True,
                  force_row_wise=True, verbose=-1)
        if not dask:
            return lightgbm.LGBMClassifier(n_jobs=threads, **kw)
        import lightgbm.dask
        return lightgbm.dask.DaskLGBMClassifier(**kw)  # num_threads = the worker's threads
    raise ValueError(lib)


def model_bytes(lib, m):
    """The bytes that define the fitted model (module docstring, item 2)."""
    if lib == "calibrisk":
        if hasattr(m, "to_bytes"):
            return bytes(m.to_bytes())
        local = m.to_local() if hasattr(m, "to_local") else m
        return bytes(local._model.to_bytes())
    if lib == "xgboost":
        return bytes(m.get_booster().save_raw("json"))
    text = (m.to_local() if hasattr(m, "to_local") else m).booster_.model_to_string()
    head, sep, rest = text.partition("\nparameters:\n")
    if sep:
        rest = rest.partition("end of parameters\n")[2]
    return (head + "\n" + rest).encode()


def predict1(lib, m, X):
    """P(y = 1) for numpy rows, computed in this process."""
    if lib == "xgboost":
        return np.asarray(m.get_booster().inplace_predict(X), dtype=np.float64).reshape(-1)
    local = m.to_local() if hasattr(m, "to_local") else m
    return np.asarray(local.predict_proba(X))[:, 1].astype(np.float64)


def available(lib):
    """None when `lib`'s Dask estimator can run, else why not."""
    try:
        if lib == "calibrisk":
            import calibrisk.dask as cd
            if not hasattr(cd, "DaskGradientBoostingClassifier"):
                return ("calibrisk.dask has no DaskGradientBoostingClassifier in this build "
                        "(distributed trees not merged)")
        elif lib == "xgboost":
            import xgboost.dask  # noqa: F401
        else:
            import lightgbm.dask  # noqa: F401
    except ImportError as e:
        return f"not installed ({e})"
    return None


def version(module):
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
        return None


# ------------------------------------------------------------------------------------------------
# process measurements (run inside the worker processes through client.run)


def _proc_field(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return None


def worker_reset(dask_worker=None):
    """Reset the peak-RSS counter; return the counters the fit's deltas start from."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    return {"rss": _proc_field("/proc/self/status", "VmRSS:") * 1024, "hwm_reset": reset,
            "dask_out": getattr(dask_worker, "transfer_outgoing_bytes_total", 0)}


def worker_read(dask_worker=None):
    return {"peak": _proc_field("/proc/self/status", "VmHWM:") * 1024,
            "rss": _proc_field("/proc/self/status", "VmRSS:") * 1024,
            "dask_out": getattr(dask_worker, "transfer_outgoing_bytes_total", 0)}


def worker_import(name):
    __import__(name)
    if name == "calibrisk":
        __import__("calibrisk.dask")
    return True


def loopback_sent():
    """Bytes sent over the loopback interface so far (machine-wide), or None."""
    try:
        with open("/proc/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == "lo":
                    return int(rest.split()[8])
    except (OSError, ValueError, IndexError):
        pass
    return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


# ------------------------------------------------------------------------------------------------
# clusters


_SHARED = {}  # --quick: one cluster per size for the whole run, closed by main
_SHARED_STACK = contextlib.ExitStack()


@contextlib.contextmanager
def _new_cluster(n_workers):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as c, \
            Client(c) as client:
        yield client


@contextlib.contextmanager
def cluster(n_workers, shared=False):
    """A Client of a LocalCluster(n_workers x 1 thread, processes); `shared` (a phase name): the
    phase's cluster of that size is reused (--quick) instead of a fresh one. The timing and the
    determinism phases do not share a cluster (a compute on a cluster that had held the timing
    phase's released data failed with "lost dependencies" in development)."""
    if not shared:
        with _new_cluster(n_workers) as client:
            yield client
        return
    if (shared, n_workers) not in _SHARED:
        _SHARED[shared, n_workers] = _SHARED_STACK.enter_context(_new_cluster(n_workers))
    yield _SHARED[shared, n_workers]


def persist(client, X, y, chunks):
    """X, y as dask.arrays with row chunks `chunks`, chunk i held by worker i mod W (scattered,
    not embedded in the graph) and persisted; also the rows each worker holds."""
    import dask.array as da
    from distributed import wait

    workers = sorted(client.scheduler_info()["workers"])
    futures, parts_X, parts_y, rows, lo = [], [], [], {}, 0
    for i, size in enumerate(chunks):
        w = workers[i % len(workers)]
        fx, fy = client.scatter([X[lo: lo + size], y[lo: lo + size]], workers=[w], hash=False)
        futures += [fx, fy]  # alive until the persisted chunks exist
        parts_X.append(da.from_delayed(fx, shape=(size, X.shape[1]), dtype=X.dtype))
        parts_y.append(da.from_delayed(fy, shape=(size,), dtype=y.dtype))
        rows[w] = rows.get(w, 0) + size
        lo += size
    # concatenate drops empty chunks; the rechunk puts them back (no data moves)
    Xd = da.concatenate(parts_X).rechunk({0: tuple(chunks)})
    yd = da.concatenate(parts_y).rechunk({0: tuple(chunks)})
    Xd, yd = client.persist([Xd, yd])
    wait([Xd, yd])
    return Xd, yd, rows


def even_chunks(n, parts):
    base, extra = divmod(n, parts)
    return [base + (i < extra) for i in range(parts)]


def uneven_chunks(n):
    """50 / 20 / 0 / 20 / 10 % of the rows (one empty partition)."""
    a, b = n // 2, n // 5
    return [a, b, 0, b, n - a - 2 * b]


# ------------------------------------------------------------------------------------------------
# 1. fit time, memory and communication


def holdout_quality(lib, m, Xh, yh):
    from sklearn.metrics import log_loss, roc_auc_score

    p = predict1(lib, m, Xh)
    return {"log_loss": float(log_loss(yh, np.clip(p, 1e-15, 1 - 1e-15))),
            "roc_auc": float(roc_auc_score(yh, p))}


def reset_self_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _proc_field("/proc/self/status", "VmRSS:") * 1024


def fit_single(lib, s, X, y, Xh, yh, threads):
    before = reset_self_peak()
    m = estimator(lib, s, dask=False, threads=threads)
    t0 = time.perf_counter()
    m.fit(X, y)
    seconds = time.perf_counter() - t0
    peak = _proc_field("/proc/self/status", "VmHWM:") * 1024
    return m, {"seconds": seconds, "peak_excess_bytes": peak - before,
               **holdout_quality(lib, m, Xh, yh)}


def fit_dask(client, lib, s, Xd, yd, rows, d, Xh, yh):
    client.run(worker_import, lib)
    start = client.run(worker_reset)
    m = estimator(lib, s, dask=True)
    if lib == "lightgbm":
        m.set_params(client=client)
    lo0 = loopback_sent()
    t0 = time.perf_counter()
    m.fit(Xd, yd)
    seconds = time.perf_counter() - t0
    lo1 = loopback_sent()
    end = client.run(worker_read)
    workers = []
    for w in sorted(end):
        r = rows.get(w, 0)
        excess = end[w]["peak"] - start[w]["rss"]
        workers.append({
            "worker": w, "rows": r, "rss_before_fit": start[w]["rss"], "peak_rss": end[w]["peak"],
            "peak_counter_reset": start[w]["hwm_reset"], "excess_bytes": excess,
            "binned_share_bytes": r * d, "excess_minus_binned_bytes": excess - r * d,
            "dask_transfer_out_bytes": end[w]["dask_out"] - start[w]["dask_out"]})
    out = {"seconds": seconds, "workers": workers, **holdout_quality(lib, m, Xh, yh)}
    if lo0 is not None and lo1 is not None:
        out["loopback_bytes"] = lo1 - lo0
        out["loopback_bytes_per_round"] = (lo1 - lo0) / s["rounds"]
    if lib == "calibrisk":  # the estimator's own accounting, when it keeps one (n_..._ names)
        out["reported"] = {k: _plain(v) for k, v in vars(m).items()
                           if k.startswith("n_") and k.endswith("_")}
    return m, out


def _plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, (int, float, str, bool, list, dict, type(None))) else repr(v)


def run_timing(args, s, libs, X, y, Xh, yh):
    out = {}
    chunks = even_chunks(len(y), args.partitions)
    for lib in LIBRARIES:
        if lib not in libs:
            continue
        r = out[lib] = {}
        print(f"[fit] {lib}: single process, 2 threads ...", flush=True)
        try:
            _, r["single_2_threads"] = fit_single(lib, s, X, y, Xh, yh, threads=2)
        except ImportError as e:
            r["single_2_threads"] = {"skipped": f"not installed ({e})"}
        why = available(lib)
        if why:
            r["dask_2x1"] = {"skipped": why}
            print(f"[fit] {lib} Dask: skipped, {why}", flush=True)
            continue
        print(f"[fit] {lib}: Dask LocalCluster(2 workers x 1 thread) ...", flush=True)
        with cluster(2, shared=args.quick and "timing") as client:
            Xd, yd, rows = persist(client, X, y, chunks)
            try:
                _, r["dask_2x1"] = fit_dask(client, lib, s, Xd, yd, rows, X.shape[1], Xh, yh)
            except Exception as e:  # noqa: BLE001 - a failed peer is reported, the run goes on
                r["dask_2x1"] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
                print(f"[fit] {lib} Dask failed: {r['dask_2x1']['error']}", flush=True)
            del Xd, yd
    return out


# ------------------------------------------------------------------------------------------------
# 2. determinism across worker counts and partitionings


def run_determinism(args, s, libs, X, y, Xh, on_two_workers=None):
    """Model hashes and prediction differences per library and cluster; `on_two_workers(client)`
    is called once on the 2-worker cluster."""
    n = len(y)
    plans = [(1, "1 worker, 4 even partitions", even_chunks(n, 4)),
             (2, "2 workers, 4 even partitions", even_chunks(n, 4)),
             (2, "2 workers, uneven partitions 50/20/0/20/10 %", uneven_chunks(n)),
             (2, "2 workers, 7 even partitions", even_chunks(n, 7))]
    if not args.no_three:
        plans.append((3, "3 workers, 6 even partitions", even_chunks(n, 6)))
    if args.quick:  # one fit per cluster size
        plans = [p for p in plans if "4 even" not in p[1] or p[0] == 1]
        plans = [p for p in plans if "7 even" not in p[1]]
    runs = {lib: [] for lib in libs}
    for lib in libs:
        for threads in ((1, 2) if lib == "calibrisk" else (2,)):
            try:
                t0 = time.perf_counter()
                m = estimator(lib, s, dask=False, threads=threads).fit(X, y)
                seconds = time.perf_counter() - t0
            except ImportError as e:
                runs[lib].append({"config": "single process", "skipped": str(e)})
                break
            runs[lib].append({"config": f"single process, {threads} thread(s)", "dask": False,
                              "threads": threads, "seconds": seconds,
                              "sha256": hashlib.sha256(model_bytes(lib, m)).hexdigest(),
                              "p": predict1(lib, m, Xh)})
    dask_libs = [lib for lib in libs if available(lib) is None]
    for workers in sorted({p[0] for p in plans}):
        if not dask_libs and workers != 2:
            continue  # nothing to fit on this cluster size
        with cluster(workers, shared=args.quick and "determinism") as client:
            if workers == 2 and on_two_workers is not None:
                on_two_workers(client)
            for _, label, chunks in (p for p in plans if p[0] == workers):
                if not dask_libs:
                    break
                Xd, yd, _ = persist(client, X, y, chunks)
                for lib in dask_libs:
                    print(f"[determinism] {lib}: {label} ...", flush=True)
                    m = estimator(lib, s, dask=True)
                    if lib == "lightgbm":
                        m.set_params(client=client)
                    try:
                        m.fit(Xd, yd)
                    except Exception as e:  # noqa: BLE001 - reported, the run goes on
                        runs[lib].append({"config": label, "dask": True,
                                          "error": f"{type(e).__name__}: {str(e)[:300]}"})
                        print(f"[determinism] {lib} failed: {runs[lib][-1]['error']}", flush=True)
                        continue
                    runs[lib].append({"config": label, "dask": True,
                                      "sha256": hashlib.sha256(model_bytes(lib, m)).hexdigest(),
                                      "p": predict1(lib, m, Xh)})
                del Xd, yd
    return {lib: summarise_determinism(runs[lib], available(lib)) for lib in libs}


def summarise_determinism(runs, why_not_dask):
    dask_runs = [r for r in runs if r.get("dask") and "sha256" in r]
    out = {"runs": []}
    ref = dask_runs[0] if dask_runs else None
    for r in runs:
        row = {k: v for k, v in r.items() if k != "p"}
        if ref is not None and "p" in r:
            row["max_abs_dprob_vs_1_worker"] = float(np.max(np.abs(r["p"] - ref["p"])))
            row["mean_abs_dprob_vs_1_worker"] = float(np.mean(np.abs(r["p"] - ref["p"])))
        out["runs"].append(row)
    if why_not_dask:
        out["skipped"] = why_not_dask
        return out
    hashes = {r["sha256"] for r in dask_runs}
    out["identical_across_clusters"] = len(hashes) == 1
    out["distinct_models_across_clusters"] = len(hashes)
    out["failed_fits"] = sum(1 for r in runs if "error" in r)
    single = [r["sha256"] for r in runs if not r.get("dask") and "sha256" in r]
    out["identical_to_single_process"] = bool(single) and set(single) == hashes
    return out


# ------------------------------------------------------------------------------------------------
# 3. communication and the cost model


def total_bins(X, max_bins, sample=200_000):
    """Histogram slots per tree node: per feature min(max_bins, distinct values) + 1 missing bin
    (distinct values counted on the first `sample` rows, as the bin sample)."""
    part = X[:sample]
    return int(sum(min(max_bins, len(np.unique(c[~np.isnan(c)]))) + 1 for c in part.T))


def _hist_part(n_slots, seed):
    return np.full((n_slots, 3), seed, dtype=np.int64)


def _hist_sum(*parts):
    return np.sum(parts, axis=0)


def measure_round_trip(client, n_slots, repeats):
    """Median seconds of one split's reduction on the cluster: each worker makes a histogram of
    `n_slots` int64 (g, h, n) slots, one task adds them, the client receives the sum."""
    workers = sorted(client.scheduler_info()["workers"])
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        parts = [client.submit(_hist_part, n_slots, i, workers=[w], pure=False) for w in workers]
        client.submit(_hist_sum, *parts, pure=False).result()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def communication(s, bins, workers=2):
    """Histogram bytes per worker: one node's histogram per split (the smaller child; the other is
    the parent minus it) plus the root, so `leaves` node histograms per tree."""
    per_node = bins * HIST_SLOT_BYTES
    return {"total_bins": bins, "slot_bytes": HIST_SLOT_BYTES,
            "bytes_per_split_per_worker": per_node,
            "node_histograms_per_tree": s["leaves"],
            "bytes_per_tree_per_worker": per_node * s["leaves"],
            "bytes_per_tree_all_workers": per_node * s["leaves"] * workers}


def cost_model(args, s, sec_per_row_feature_tree, round_trip_s):
    """Time and network volume per tree for 1e8 rows x 200 features on 16-64 workers."""
    n, d, leaves = 100_000_000, 200, s["leaves"]
    bins = d * (s["max_bins"] + 1)
    node_bytes = bins * HIST_SLOT_BYTES
    bw = args.bandwidth_gbit * 1e9 / 8
    latency = max(round_trip_s, args.min_latency_ms / 1000)
    rows = []
    for w in (16, 32, 64):
        levels = max(1, math.ceil(math.log(w, args.fan_in)))
        compute = sec_per_row_feature_tree * (n / w) * d
        # per split: `levels` reduction steps, each receiving fan_in node histograms at one node
        transfer = leaves * levels * args.fan_in * node_bytes / bw
        lat = leaves * latency
        rows.append({"workers": w, "rows_per_worker": n // w, "compute_s": compute,
                     "network_s": transfer, "latency_s": lat,
                     "time_per_tree_s": compute + transfer + lat,
                     "network_bytes_per_tree": leaves * node_bytes * (w - 1),
                     "binned_bytes_per_worker": n // w * d})
    return {"rows": n, "features": d, "bins_per_feature": s["max_bins"] + 1,
            "bytes_per_split_per_worker": node_bytes, "bandwidth_gbit": args.bandwidth_gbit,
            "fan_in": args.fan_in, "round_trip_s_used": latency,
            "sec_per_row_feature_tree": sec_per_row_feature_tree, "table": rows}


# ------------------------------------------------------------------------------------------------
# main


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--partitions", type=int, default=8, help="row partitions of the timed fits")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--det-rows", type=int, default=200_000,
                    help="rows of the determinism fits (the first rows of the data set)")
    ap.add_argument("--holdout-rows", type=int, default=20_000)
    ap.add_argument("--no-three", action="store_true", help="no 3-worker determinism fits")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--skip-determinism", action="store_true")
    ap.add_argument("--libraries", default=",".join(LIBRARIES))
    ap.add_argument("--bandwidth-gbit", type=float, default=10.0)
    ap.add_argument("--fan-in", type=int, default=8)
    ap.add_argument("--min-latency-ms", type=float, default=2.0,
                    help="floor of the per-split round trip used by the cost model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="20,000 x 10, 10 rounds, 4 partitions, one shared timing cluster, one "
                    "determinism fit per cluster size (a smoke check)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.features = min(args.rows, 20_000), min(args.features, 10)
        args.rounds, args.partitions = min(args.rounds, 10), min(args.partitions, 4)
        args.holdout_rows = min(args.holdout_rows, 5_000)
    args.det_rows = min(args.det_rows, args.rows)
    libs = [x.strip() for x in args.libraries.split(",") if x.strip()]
    bad = [x for x in libs if x not in LIBRARIES]
    if bad or not libs:
        ap.error(f"--libraries takes a comma list of {', '.join(LIBRARIES)}; got {bad or libs}")
    args.libs = libs
    return args


def environment():
    return {"loadavg_start": loadavg(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "versions": {m: version(m) for m in ("calibrisk", "numpy", "dask", "distributed",
                                                  "xgboost", "lightgbm")}}


def main(argv=None):
    args = parse(argv)
    t_start = time.perf_counter()
    s = settings(args.rounds)
    X, y = make_data(args.rows, args.features, args.seed)
    Xh, yh = make_data(args.holdout_rows, args.features, args.seed + 1)
    result = {"config": {k: v for k, v in vars(args).items() if k != "libs"},
              "libraries": args.libs, "settings": s, "environment": environment(),
              "data": {"rows": len(y), "features": X.shape[1], "prevalence": float(y.mean()),
                       "generator": "benchmarks/dask_trees.py make_data (module docstring)"}}
    for lib in args.libs:
        why = available(lib)
        print(f"{lib}: {'Dask estimator available' if why is None else 'Dask fit skipped: ' + why}")

    bins = total_bins(X, s["max_bins"])
    result["communication"] = communication(s, bins)
    if not args.skip_timing:
        result["fit"] = run_timing(args, s, args.libs, X, y, Xh, yh)
    comm = result["communication"]

    def round_trip(client):
        comm["measured_split_round_trip_s"] = measure_round_trip(client, bins,
                                                                 5 if args.quick else 20)

    if not args.skip_determinism:
        result["determinism"] = run_determinism(args, s, args.libs, X[: args.det_rows],
                                                y[: args.det_rows], Xh, round_trip)
    if "measured_split_round_trip_s" not in comm:
        with cluster(2, shared=args.quick and "determinism") as client:
            round_trip(client)
    _SHARED_STACK.close()
    # per-row-feature cost of a single-thread calibrisk fit on the determinism rows (all of the
    # fit: binning, gradients, histograms, split search, partitioning)
    one = [r["seconds"] for r in result.get("determinism", {}).get("calibrisk", {}).get("runs", [])
           if r.get("threads") == 1]
    if not one:
        one = [fit_single("calibrisk", s, X[: args.det_rows], y[: args.det_rows], Xh, yh, 1)[1][
            "seconds"]]
    per = one[0] / (s["rounds"] * args.det_rows * X.shape[1])
    result["cost_model"] = cost_model(args, s, per,
                                      result["communication"]["measured_split_round_trip_s"])
    result["targets"] = targets(result)
    result["environment"]["loadavg_end"] = loadavg()
    result["seconds_total"] = time.perf_counter() - t_start
    report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=_plain)
    return result


def targets(result):
    fit = result.get("fit", {})
    cr = fit.get("calibrisk", {})
    t = {}
    dask_s = cr.get("dask_2x1", {}).get("seconds")
    single_s = cr.get("single_2_threads", {}).get("seconds")
    xgb_s = fit.get("xgboost", {}).get("dask_2x1", {}).get("seconds")
    t["calibrisk_dask_over_single_2_threads"] = dask_s / single_s if dask_s and single_s else None
    t["calibrisk_dask_over_xgboost_dask"] = dask_s / xgb_s if dask_s and xgb_s else None
    t["target_over_single"], t["target_over_xgboost_dask"] = 1.5, 1.0
    return t


def _mb(b):
    return f"{b / 2**20:8.1f} MB"


def report(r):
    c, env = r["config"], r["environment"]
    print(f"\nrows={r['data']['rows']} features={r['data']['features']} "
          f"prevalence={r['data']['prevalence']:.3f} rounds={r['settings']['rounds']} "
          f"partitions={c['partitions']} load average {env['loadavg_start']} -> "
          f"{env['loadavg_end']} ({env['cpus']} cpus)")
    for lib, f in r.get("fit", {}).items():
        for key, label in (("single_2_threads", "single process, 2 threads"),
                           ("dask_2x1", "Dask LocalCluster 2x1")):
            v = f.get(key, {})
            if "skipped" in v or "error" in v:
                print(f"  {lib:9s} {label:26s} {v.get('skipped') or 'failed: ' + v['error']}")
                continue
            print(f"  {lib:9s} {label:26s} {v['seconds']:8.2f} s  log loss {v['log_loss']:.5f}  "
                  f"AUC {v['roc_auc']:.5f}")
            for w in v.get("workers", []):
                print(f"      {w['worker']}: rows {w['rows']}, peak excess {_mb(w['excess_bytes'])}"
                      f" (binned share {_mb(w['binned_share_bytes'])}), Dask transfers out "
                      f"{w['dask_transfer_out_bytes'] / 1024:.1f} kB")
            if "loopback_bytes" in v:
                print(f"      loopback traffic during the fit {_mb(v['loopback_bytes'])}, "
                      f"{v['loopback_bytes_per_round'] / 1024:.1f} kB per round")
    t = r.get("targets", {})
    for key, target in (("calibrisk_dask_over_single_2_threads", "target_over_single"),
                        ("calibrisk_dask_over_xgboost_dask", "target_over_xgboost_dask")):
        if t.get(key) is not None:
            print(f"  {key}: {t[key]:.2f} (target <= {t[target]})")
    for lib, dset in r.get("determinism", {}).items():
        verdict = dset.get("skipped") or (
            "identical model bytes on every cluster" if dset["identical_across_clusters"] else
            f"{dset['distinct_models_across_clusters']} different models")
        print(f"  determinism {lib}: {verdict}")
        for run in dset["runs"]:
            dp = run.get("max_abs_dprob_vs_1_worker")
            mean = run.get("mean_abs_dprob_vs_1_worker")
            tag = run.get("sha256", "")[:16] or run.get("skipped") or "failed: " + run["error"]
            print(f"      {run['config']:48s} {tag}"
                  + (f"  max|dp| {dp:.2e} mean|dp| {mean:.2e}" if dp is not None else ""))
    comm = r["communication"]
    print(f"  histograms: {comm['total_bins']} slots x {comm['slot_bytes']} B = "
          f"{comm['bytes_per_split_per_worker']} B per split per worker, "
          f"{_mb(comm['bytes_per_tree_per_worker'])} per tree per worker; measured split round "
          f"trip {comm['measured_split_round_trip_s'] * 1000:.1f} ms")
    cm = r["cost_model"]
    print(f"  cost model (1e8 x 200, {cm['sec_per_row_feature_tree']:.2e} s per row-feature-tree, "
          f"{cm['bandwidth_gbit']} Gbit/s, fan-in {cm['fan_in']}):")
    for row in cm["table"]:
        print(f"      {row['workers']:3d} workers: {row['time_per_tree_s']:7.2f} s per tree "
              f"(compute {row['compute_s']:.2f}, network {row['network_s']:.2f}, latency "
              f"{row['latency_s']:.2f}), {row['network_bytes_per_tree'] / 1e9:.2f} GB per tree")
    print(f"  total {r['seconds_total']:.0f} s")


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
