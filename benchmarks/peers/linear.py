# SPDX-License-Identifier: Apache-2.0
"""Logistic regression: calibrisk vs scikit-learn (lbfgs, liblinear) on the same data.

Every library's solution is scored with the same numpy objective,
    f(beta, b) = sum_i logloss(y_i, sigmoid(b + x_i . beta)) + ||beta||^2 / (2 C),
so "objective" and "rel_gap" (relative to the best objective of the case) compare like with like.
liblinear penalises the intercept, so it solves a slightly different problem and its gap is
expected to be larger. Full size: 1M x 100 float64 (C-ordered), C = 1, tol = 1e-6;
--quick: 20k x 20.

Issue 13 shapes (each: calibrisk vs scikit-learn lbfgs, wall and process-CPU seconds, objective
by the same numpy formula, "rel_gap" to the best objective of the case):
- dense 300k x 100 well-conditioned (`make_data`);
- dense 300k x 100 correlated, unscaled columns (`make_correlated_data`: a random correlation
  with condition number ~1e3, column scales 1e-2..1e3, offsets);
- the one-hot clinical shape below (75k rows);
- sparse TF-IDF 100k documents x 50k terms (`make_tfidf`: Zipf vocabulary, class-specific word
  distributions, scikit-learn's TfidfTransformer), binary and 10-class multinomial, CSR input.
--quick shrinks every case. Wall time of the issue-13 cases: the best of up to 5 fits when a fit
takes under a second (one fit otherwise), the same rule for every library (`_time_fit`).

Categorical case: 75k rows x (10 numeric + 5 categorical code columns with 10-300 Zipf-distributed
levels); calibrisk fits the codes (categorical_features), scikit-learn's lbfgs the one-hot design
built by hand with the same rule (most frequent level dropped, levels under min_category_count
pooled), dense and CSR. Each solution is scored by the same objective on that design; "cpu_seconds"
is process CPU time (both libraries may use 2 threads).
"""

import os
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


def make_correlated_data(n, p, seed=1):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p)) * np.geomspace(1.0, 1e-3, p)  # correlated columns
    Z = rng.normal(size=(n, p)) @ A
    Z /= Z.std(axis=0)
    scale = np.geomspace(1e-2, 1e3, p)
    rng.shuffle(scale)
    X = Z * scale + rng.normal(size=p) * 3.0 * scale
    beta = rng.normal(size=p) / np.sqrt(p) / scale
    z = (X - X.mean(axis=0)) @ beta - 0.3
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return np.ascontiguousarray(X), y


def make_tfidf(n_docs, n_terms, n_classes, seed=2, mean_len=60):
    """A TF-IDF matrix (CSR) of synthetic documents: each class has its own Zipf word ranking
    (a permutation of a shared vocabulary, 30% of tokens), the rest from a common Zipf law."""
    import scipy.sparse
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_docs)
    lengths = rng.poisson(mean_len, size=n_docs) + 5
    doc = np.repeat(np.arange(n_docs), lengths)
    m = doc.size
    ranks = np.minimum(rng.zipf(1.3, size=m) - 1, n_terms - 1)
    perms = np.stack([rng.permutation(n_terms) for _ in range(n_classes)])
    own = rng.uniform(size=m) < 0.3
    tok = np.where(own, perms[y[doc], ranks], ranks)
    counts = scipy.sparse.csr_matrix((np.ones(m), (doc, tok)), shape=(n_docs, n_terms))
    counts.sum_duplicates()
    X = TfidfTransformer().fit_transform(counts).tocsr()
    X.sort_indices()
    return X, y


def softmax_objective(X, y, coef, intercept, C):
    """sum_i [logsumexp(z_i) - z_i,y_i] + ||coef||^2 / (2 C), z = X coef^T + intercept."""
    Z = np.asarray(X @ coef.T) + intercept
    m = Z.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(Z - m).sum(axis=1)))
    return float(np.sum(lse - Z[np.arange(Z.shape[0]), y]) + 0.5 * np.sum(coef * coef) / C)


def _time_fit(fn):
    """Best wall time and mean process-CPU time of a fit: one call, and for a fit under a second up
    to four more (the same rule for every library), since one sub-second call mostly measures the
    machine's noise."""
    c0, reps = time.process_time(), 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, est = timed(fn, repeat=1)
        while seconds < 1.0 and reps < 5:
            more, est = timed(fn, repeat=1)
            seconds, reps = min(seconds, more), reps + 1
    return seconds, (time.process_time() - c0) / reps, est


def run_case(case, X, y, fits, objective_fn):
    """Times each fit; returns rows with seconds, cpu_seconds, objective and rel_gap."""
    results = {}
    for name, fn in fits.items():
        seconds, cpu, est = _time_fit(fn)
        results[name] = (seconds, cpu, objective_fn(est), int(np.max(est.n_iter_)))
    best = min(r[2] for r in results.values())
    return [{"area": "linear", "case": case, "library": name, "seconds": sec,
             "cpu_seconds": cpu, "objective": obj, "rel_gap": (obj - best) / abs(best),
             "n_iter": it}
            for name, (sec, cpu, obj, it) in results.items()]


def _one_thread(fits):
    """With CALIBRISK_LINEAR_THREADS=1: calibrisk on 1 thread and scikit-learn's BLAS/OpenMP pools
    limited to 1 thread (threadpoolctl). Without the limit an idle BLAS pool spins and inflates
    scikit-learn's process CPU time several-fold, so CPU ratios need this setting."""
    if os.environ.get("CALIBRISK_LINEAR_THREADS") != "1":
        return fits
    from threadpoolctl import threadpool_limits

    def limited(fn):
        def run():
            with threadpool_limits(limits=1):
                return fn()
        return run

    return {name: limited(fn) for name, fn in fits.items()}


def _lr_threads():
    return {"n_threads": 1} if os.environ.get("CALIBRISK_LINEAR_THREADS") == "1" else {}


def run_issue13(quick, which=("dense", "tfidf")):
    """The issue-13 shapes: dense well-conditioned, dense correlated/unscaled, TF-IDF sparse
    binary and 10-class (`which` selects the dense and/or the TF-IDF ones)."""
    import calibrisk
    from sklearn.linear_model import LogisticRegression as SkLR

    C, tol = 1.0, 1e-6
    n = 30_000 if quick else 300_000
    rows = []
    dense = (("well-conditioned", make_data), ("correlated unscaled", make_correlated_data))
    for label, maker in dense if "dense" in which else ():
        X, y = maker(n, 100)
        fits = _one_thread({
            "calibrisk": lambda: calibrisk.LogisticRegression(C=C, tol=tol, **_lr_threads()).fit(X, y),
            "sklearn-lbfgs": lambda: SkLR(C=C, tol=tol, max_iter=10_000).fit(X, y),
        })
        rows += run_case(f"fit dense {n}x100 {label} C={C:g}", X, y, fits,
                         lambda est: objective(X, y, est.coef_.ravel(), float(est.intercept_[0]), C))
    n_docs, n_terms = (10_000, 5_000) if quick else (100_000, 50_000)
    for K in (2, 10) if "tfidf" in which else ():
        X, y = make_tfidf(n_docs, n_terms, K)
        if K == 2:
            obj = lambda est: objective(X, y, est.coef_.ravel(), float(est.intercept_[0]), C)
        else:
            obj = lambda est: softmax_objective(X, np.searchsorted(est.classes_, y), est.coef_,
                                                est.intercept_, C)
        fits = _one_thread({
            "calibrisk": lambda: calibrisk.LogisticRegression(C=C, tol=tol, **_lr_threads()).fit(X, y),
            "sklearn-lbfgs": lambda: SkLR(C=C, tol=tol, max_iter=10_000).fit(X, y),
        })
        rows += run_case(f"fit sparse TF-IDF {n_docs}x{n_terms} nnz={X.nnz} K={K} C={C:g}", X, y,
                         fits, obj)
    return rows


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
    """All cases; CALIBRISK_LINEAR_CASES=issue13 (or categorical, tfidf, issue13-dense, or a comma
    list) runs a subset; CALIBRISK_LINEAR_THREADS=1 times the issue-13 cases on one thread."""
    wanted = set(os.environ.get("CALIBRISK_LINEAR_CASES", "all").split(","))
    if "all" not in wanted:
        rows = run_categorical(quick) if "categorical" in wanted else []
        which = {"dense", "tfidf"} if "issue13" in wanted else set()
        which |= {"tfidf"} if "tfidf" in wanted else set()
        which |= {"dense"} if "issue13-dense" in wanted else set()
        return rows + (run_issue13(quick, which) if which else [])
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
    rows.extend(run_issue13(quick))
    return rows
