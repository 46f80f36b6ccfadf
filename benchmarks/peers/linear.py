# SPDX-License-Identifier: Apache-2.0
"""Logistic regression: calibrisk vs scikit-learn (lbfgs, liblinear) on the same data.

Every library's solution is scored with the same numpy objective,
    f(beta, b) = sum_i logloss(y_i, sigmoid(b + x_i . beta)) + ||beta||^2 / (2 C),
so "objective" and "rel_gap" (relative to the best objective of the case) compare like with like.
liblinear penalises the intercept, so it solves a slightly different problem and its gap is
expected to be larger. Full size: 1M x 100 float64 (C-ordered), C = 1, tol = 1e-6;
--quick: 20k x 20.

Categorical case: 75k rows x (10 numeric + 5 categorical code columns with 10-300 Zipf-distributed
levels); calibrisk fits the codes (categorical_features), scikit-learn's lbfgs the one-hot design
built by hand with the same rule (most frequent level dropped, levels under min_category_count
pooled), dense and CSR. Each solution is scored by the same objective on that design; "cpu_seconds"
is process CPU time (both libraries may use 2 threads).
"""

import time
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


def make_categorical_data(n, p_num=10, levels=(10, 30, 80, 150, 300), seed=0):
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, p_num)) * rng.uniform(0.5, 2.0, size=p_num)
    z = num @ (rng.normal(size=p_num) / np.sqrt(p_num)) - 0.5
    cats = []
    for k in levels:
        code = np.minimum(k - 1, np.floor(k * rng.uniform(size=n) ** 2))
        z += rng.normal(size=k)[code.astype(int)] * 0.5
        code[rng.uniform(size=n) < 0.02] = np.nan
        cats.append(code)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return np.ascontiguousarray(np.column_stack([num] + cats)), y


def expand_one_hot(X, cat_cols, min_count):
    """Reference (most frequent) dropped, rare levels pooled, NaN as its own column."""
    cols = [X[:, [j for j in range(X.shape[1]) if j not in cat_cols]]]
    for j in cat_cols:
        v = X[:, j]
        codes, counts = np.unique(v[~np.isnan(v)], return_counts=True)
        ref = codes[np.argmax(counts)]  # first maximum = smallest code among ties
        kept = [c for c, m in zip(codes, counts) if m >= min_count and c != ref]
        pooled = [c for c, m in zip(codes, counts) if m < min_count and c != ref]
        block = [(v == c) for c in kept]
        if pooled:
            block.append(np.isin(v, pooled))
        if np.isnan(v).any():
            block.append(np.isnan(v))
        cols.append(np.column_stack(block).astype(np.float64))
    return np.ascontiguousarray(np.hstack(cols))


def run_categorical(quick):
    import calibrisk
    import scipy.sparse
    from sklearn.linear_model import LogisticRegression as SkLR

    n = 20_000 if quick else 75_000
    C, tol, min_count = 1.0, 1e-6, 10
    X, y = make_categorical_data(n)
    cat_cols = list(range(10, 15))
    E = expand_one_hot(X, cat_cols, min_count)
    Es = scipy.sparse.csr_matrix(E)
    case = f"fit {n}x(10 numeric + 5 categorical, {E.shape[1]} one-hot columns) C={C:g}"
    fits = {
        "calibrisk": lambda: calibrisk.LogisticRegression(
            C=C, tol=tol, categorical_features=cat_cols, min_category_count=min_count).fit(X, y),
        "sklearn-lbfgs-dense": lambda: SkLR(C=C, tol=tol, max_iter=10_000).fit(E, y),
        "sklearn-lbfgs-sparse": lambda: SkLR(C=C, tol=tol, max_iter=10_000).fit(Es, y),
    }
    results = {}
    for name, fn in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c0 = time.process_time()
            seconds, est = timed(fn, repeat=1)
            cpu = time.process_time() - c0
        obj = objective(E, y, est.coef_.ravel(), float(est.intercept_[0]), C)
        results[name] = (seconds, cpu, obj)
    best = min(obj for _, _, obj in results.values())
    return [{"area": "linear", "case": case, "library": name, "seconds": seconds,
             "cpu_seconds": cpu, "objective": obj, "rel_gap": (obj - best) / abs(best)}
            for name, (seconds, cpu, obj) in results.items()]


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
    rows.extend(run_categorical(quick))
    return rows
