# SPDX-License-Identifier: Apache-2.0
"""Multiclass trees (issue 13 target): calibrisk's GradientBoostingClassifier on a 5-class softmax
against LightGBM (objective multiclass), XGBoost (multi:softprob, hist + lossguide) and
scikit-learn's HistGradientBoostingClassifier, in one process, 2 threads, matched parameters
(31 leaves, 255 bins, >= 20 rows per leaf, L2 = 1, learning rate 0.1, 100 rounds = 500 trees).

Case: 500k x 50 float32 (make_classification, 5 classes, 5 % NaN in every fifth feature);
training timed from the raw float32 arrays to a fitted model (binning included), test log loss and
accuracy on 100k held-out rows; then batch prediction of the 500k training rows ((n, 5)
probabilities). Targets: fit <= 1.0x LightGBM, batch predict <= 0.5x the fastest peer.

Every row reports wall seconds, the CPU seconds of the process (all threads) and the 1-minute
load average at the end of the call: on a shared machine compare CPU seconds.

``--quick`` shrinks everything to seconds (CI smoke run).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from compare import timed  # noqa: E402

THREADS = 2
N_ROUNDS = 100
K = 5


def _data(n, d, seed):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=min(d // 2, 20), n_redundant=min(d // 5, 10),
        n_classes=K, n_clusters_per_class=1, flip_y=0.02, class_sep=0.8, random_state=seed,
    )
    X = X.astype(np.float32)
    rng = np.random.default_rng(seed)
    for j in range(0, d, 5):
        X[rng.random(n) < 0.05, j] = np.nan
    return X, y.astype(np.int64)


def _models(n_rounds, seed=0):
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier

    import calibrisk as cr

    return {
        "calibrisk": cr.GradientBoostingClassifier(
            n_estimators=n_rounds, learning_rate=0.1, max_leaf_nodes=31, max_bins=255,
            min_samples_leaf=20, l2_regularization=1.0, n_threads=THREADS, random_state=seed,
        ),
        "lightgbm": lgb.LGBMClassifier(
            objective="multiclass", n_estimators=n_rounds, learning_rate=0.1, num_leaves=31,
            max_bin=255, min_child_samples=20, reg_lambda=1.0, n_jobs=THREADS, verbose=-1,
            random_state=seed,
        ),
        "xgboost": xgb.XGBClassifier(
            objective="multi:softprob", n_estimators=n_rounds, learning_rate=0.1,
            tree_method="hist", grow_policy="lossguide", max_leaves=31, max_depth=0, max_bin=256,
            reg_lambda=1.0, n_jobs=THREADS, random_state=seed,
        ),
        "sklearn": HistGradientBoostingClassifier(
            max_iter=n_rounds, learning_rate=0.1, max_leaf_nodes=31, max_bins=255,
            min_samples_leaf=20, l2_regularization=1.0, early_stopping=False, random_state=seed,
        ),
    }


def _timed_cpu(fn, repeat=1):
    best = None
    for _ in range(repeat):
        c0 = time.process_time()
        wall, _ = timed(fn, 1)
        cpu = time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu, os.getloadavg()[0])
    return best


def _predict_fn(name, model, X):
    if name == "xgboost":
        booster = model.get_booster()
        return lambda: booster.inplace_predict(X)  # raw float32 in place, the fastest XGBoost path
    if name == "lightgbm":
        return lambda: model.booster_.predict(X, num_threads=THREADS)
    return lambda: model.predict_proba(X)


def run(quick: bool, libraries=None) -> list:
    """The case above; ``libraries`` (names of ``_models``) restricts the libraries run."""
    from sklearn.metrics import accuracy_score, log_loss

    if quick:
        n, d, n_te, rounds = 20_000, 20, 5_000, 10
    else:
        n, d, n_te, rounds = 500_000, 50, 100_000, N_ROUNDS
    X, y = _data(n + n_te, d, seed=0)
    Xtr, ytr, Xte, yte = X[:n], y[:n], X[n:], y[n:]
    rows, fitted = [], {}
    # scikit-learn reads OMP_NUM_THREADS only at import of its OpenMP runtime; it runs with the
    # threads it has (noted in the row).
    for name, model in _models(rounds).items():
        if libraries and name not in libraries:
            continue
        seconds, cpu, load = _timed_cpu(lambda m=model: m.fit(Xtr, ytr))
        P = model.predict_proba(Xte)
        rows.append({
            "area": "multiclass trees",
            "case": f"train {n}x{d}, {K} classes, {rounds} rounds",
            "library": name, "seconds": seconds, "cpu_seconds": cpu, "load_1min": load,
            "test_log_loss": float(log_loss(yte, P, labels=np.arange(K))),
            "test_accuracy": float(accuracy_score(yte, np.argmax(P, axis=1))),
        })
        print(f"  {rows[-1]}", flush=True)  # progress: the full case runs for minutes
        fitted[name] = model
    for name, model in fitted.items():
        seconds, cpu, load = _timed_cpu(_predict_fn(name, model, Xtr), repeat=2)
        rows.append({
            "area": "multiclass trees",
            "case": f"predict_proba {n}x{d} float32, {K} classes, {rounds} rounds",
            "library": name, "seconds": seconds, "cpu_seconds": cpu, "load_1min": load,
            "rows_per_second": n / seconds,
        })
        print(f"  {rows[-1]}", flush=True)
    return rows


if __name__ == "__main__":
    import argparse

    from compare import print_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--library", action="append",
                    choices=("calibrisk", "lightgbm", "xgboost", "sklearn"),
                    help="run only this library (repeatable; default: all)")
    args = ap.parse_args()
    print_table(run(args.quick, args.library))
