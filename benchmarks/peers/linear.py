# SPDX-License-Identifier: Apache-2.0
"""Logistic regression: calibrisk vs scikit-learn (lbfgs, liblinear) on the same data.

Every library's solution is scored with the same numpy objective,
    f(beta, b) = sum_i logloss(y_i, sigmoid(b + x_i . beta)) + ||beta||^2 / (2 C),
so "objective" and "rel_gap" (relative to the best objective of the case) compare like with like.
liblinear penalises the intercept, so it solves a slightly different problem and its gap is
expected to be larger. Full size: 1M x 100 float64 (C-ordered), C = 1, tol = 1e-6;
--quick: 20k x 20.
"""

import warnings

import numpy as np

from compare import timed


def make_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, size=p) + rng.normal(size=p)
    beta = rng.normal(size=p) / np.sqrt(p)
    z = X @ beta - 0.5
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return np.ascontiguousarray(X), y


def objective(X, y, coef, intercept, C):
    z = X @ coef + intercept
    # logloss summed: log(1 + exp(z)) - y z, computed stably.
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.dot(coef, coef) / C)


def run(quick):
    import calibrisk
    from sklearn.linear_model import LogisticRegression as SkLR

    n, p = (20_000, 20) if quick else (1_000_000, 100)
    C, tol = 1.0, 1e-6
    X, y = make_data(n, p)
    case = f"fit {n}x{p} float64 C={C:g} tol={tol:g}"
    rows = []

    fits = {
        "calibrisk": lambda: calibrisk.LogisticRegression(C=C, tol=tol).fit(X, y),
        "sklearn-lbfgs": lambda: SkLR(C=C, tol=tol, solver="lbfgs", max_iter=10_000).fit(X, y),
        "sklearn-liblinear": lambda: SkLR(C=C, tol=tol, solver="liblinear", max_iter=10_000).fit(X, y),
    }
    results = {}
    for name, fn in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, est = timed(fn, repeat=1)
        obj = objective(X, y, est.coef_.ravel(), float(est.intercept_[0]), C)
        results[name] = (seconds, obj, int(np.max(est.n_iter_)))
    best = min(obj for _, obj, _ in results.values())
    for name, (seconds, obj, n_iter) in results.items():
        rows.append({"area": "linear", "case": case, "library": name, "seconds": seconds,
                     "objective": obj, "rel_gap": (obj - best) / abs(best), "n_iter": n_iter})

    # predict_proba throughput against a plain numpy dot product.
    est = calibrisk.LogisticRegression(C=C, max_iter=3).fit(X[:20_000], y[:20_000])
    sk = SkLR(C=C, max_iter=3).fit(X[:20_000], y[:20_000])
    coef = est.coef_.ravel().copy()
    pcase = f"predict_proba {n}x{p} float64"
    reps = 5 if quick else 3
    for name, fn in {
        "calibrisk": lambda: est.predict_proba(X),
        "sklearn": lambda: sk.predict_proba(X),
        "numpy-dot": lambda: X @ coef,
    }.items():
        seconds, _ = timed(fn, repeat=reps)
        rows.append({"area": "linear", "case": pcase, "library": name, "seconds": seconds,
                     "rows_per_second": n / seconds})
    return rows
