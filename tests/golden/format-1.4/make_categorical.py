# SPDX-License-Identifier: Apache-2.0
"""Writes the format-1.4 golden file with native categorical splits (issue 12), once, when the
format gained them; never regenerate it: later releases must load it and score it bit-identically
to the frozen scores beside it (tests/unit/artifact/test_golden.cpp scores every py_* file on
rows_numeric.csv; tests/python/test_trees_categorical.py also re-derives every score by walking
the JSON trees with the documented routing rule).

Column 0 holds integer codes of a 40-level Zipf-like category (NaN = missing; code 7 never
occurs in training, codes 33..39 are rare and pooled), columns 1-2 are numeric. The scoring rows
include unseen codes (40, 1000, -1, 2.5, the absent code 7) and NaN.

Usage: PYTHONPATH=build/python python tests/golden/format-1.4/make_categorical.py OUT_DIR
"""
import csv
import pathlib
import sys

import numpy as np

import calibrisk as cr


def main(out):
    rng = np.random.default_rng(14)
    n, levels = 3000, 40
    p = 1.0 / np.arange(1, levels + 1) ** 1.1
    codes = rng.choice(levels, size=n, p=p / p.sum()).astype(float)
    codes[codes == 7] = 8
    codes[rng.random(n) < 0.05] = np.nan
    effect = rng.normal(size=levels)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    z = np.where(np.isnan(codes), 0.5, effect[np.nan_to_num(codes).astype(int)]) + 0.8 * x1 - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X = np.column_stack([codes, x1, x2])
    gb = cr.GradientBoostingClassifier(n_estimators=15, max_leaf_nodes=8, random_state=2,
                                       categorical_features=[0], min_data_per_category=15,
                                       n_threads=1).fit(X, y)
    pipe = cr.Pipeline.from_estimators(gb, X_train=X, y_train=y)
    X_new = np.column_stack([rng.choice(levels, size=60).astype(float), rng.normal(size=60),
                             rng.normal(size=60)])
    X_new[:8, 0] = [np.nan, 40, 1000, -1, 2.5, 7, 36, 0]
    with open(out / "rows_numeric.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dx", "x1", "x2"])
        for row in X_new:
            w.writerow(["" if np.isnan(v) else repr(float(v)) for v in row])
    pipe.save(str(out / "py_gbdt_categorical.json"))
    with open(out / "py_gbdt_categorical.scores.csv", "w") as f:
        f.write("risk\n")
        for row in X_new:
            f.write(repr(float(pipe.predict_proba_row(row))) + "\n")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
