# SPDX-License-Identifier: Apache-2.0
"""Writes the format-1.6 golden multiclass tree model (a model section, as to_bytes() gives it),
the rows it is scored on and their probabilities (17 significant digits, exact as doubles).
Run once from the worktree: /work/wt/py tests/golden/format-1.6/make_multiclass.py"""

import os

import numpy as np

from calibrisk import _core

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(16)
    n, K = 3000, 4
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 6, n)  # categorical codes 0..5
    score = np.column_stack([X[:, 0], -X[:, 1], X[:, 2] * X[:, 0], (X[:, 3] % 4 == 1) * 1.5])
    p = np.exp(score - score.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=row) for row in p], dtype=np.float64)
    numeric = X[:, :3]  # a view
    numeric[rng.random((n, 3)) < 0.05] = np.nan  # NaN in the numeric columns only
    params = _core.GBDTParams()
    params.n_estimators = 12
    params.max_leaf_nodes = 8
    params.categorical_features = [3]
    params.n_threads = 1
    model = _core.GradientBoostedTrees(params)
    model.fit(np.ascontiguousarray(X), y, n_classes=K)
    with open(os.path.join(HERE, "gbdt_multiclass.model"), "wb") as f:
        f.write(model.to_bytes())
    rows = np.ascontiguousarray(X[:40].copy())
    rows[0, :] = np.nan           # every feature missing
    rows[1, 3] = 9.0              # a code never seen in training: routed as missing
    rows[2, 0] = 1e30             # far outside the training range
    P = model.predict_proba_matrix(rows)
    fmt = lambda v: "" if np.isnan(v) else repr(float(v))  # noqa: E731
    with open(os.path.join(HERE, "rows_multiclass.csv"), "w") as f:
        f.write("x0,x1,x2,code\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")
    with open(os.path.join(HERE, "gbdt_multiclass.proba.csv"), "w") as f:
        f.write("p0,p1,p2,p3\n")
        for r in P:
            f.write(",".join(repr(float(v)) for v in r) + "\n")


if __name__ == "__main__":
    main()
