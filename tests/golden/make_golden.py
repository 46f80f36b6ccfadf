# SPDX-License-Identifier: Apache-2.0
"""Writes the golden model files of one calibrisk release into tests/golden/v<version>/.

Run once per release, with that release installed, and commit the output; never regenerate the
files of an earlier release: they are what hospitals have on disk, and every later release must
load them and score them bit-identically to the scores stored beside them
(tests/python/test_golden.py).

Two kinds of file:
- CLI-trained (`calibrisk generate` + `calibrisk train`): {lr, gbdt} x {none, platt, isotonic,
  beta}, a categorical column (`site`) stored as labels in the schema, an operating point from each
  threshold policy family; expected scores are `calibrisk predict` on rows.csv.
- Python-assembled (`Pipeline.from_estimators`): no operating point (default threshold 0.5),
  numeric features only; expected scores are `predict_proba_row` on rows_numeric.csv.

Usage: python tests/golden/make_golden.py CALIBRISK_CLI OUT_DIR
"""
import csv
import pathlib
import subprocess
import sys

import numpy as np

import calibrisk as cr


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def cli_files(cli, out):
    run(cli, "generate", "--rows", 3000, "--seed", 7, "--out", out / "cohort.csv")
    run(cli, "generate", "--rows", 200, "--seed", 8, "--out", out / "rows.csv")
    common = ["--data", out / "cohort.csv", "--label", "readmitted", "--group-column",
              "patient_id", "--time-column", "encounter_date", "--drop", "encounter_id",
              "--drop", "true_risk", "--drop", "age_band", "--categorical", "site", "--quiet",
              "--seed", 3]
    policies = {"none": "min-recall=0.8", "platt": "min-recall=0.8",
                "isotonic": "max-alert-rate=0.2", "beta": "cost-fp=1,cost-fn=5"}
    for model in ("lr", "gbdt"):
        for cal, policy in policies.items():
            extra = []
            if model == "gbdt":
                extra = ["--param", "n_estimators=20", "--param", "max_leaf_nodes=8"]
            elif cal == "beta":
                extra = ["--param", "missing=mean_with_indicator"]
            name = f"{model}_{cal}"
            run(cli, "train", *common, "--model", model, "--calibration", cal, "--policy", policy,
                *extra, "--out", out / f"{name}.json")
            run(cli, "predict", "--model", out / f"{name}.json", "--data", out / "rows.csv",
                "--out", out / f"{name}.scores.csv", "--quiet")
    (out / "cohort.csv").unlink()  # reproducible from the command above; not needed to score


def python_files(out):
    rng = np.random.default_rng(11)
    n, p = 1500, 4
    X = rng.normal(size=(n, p))
    X[rng.random(n) < 0.1, 1] = np.nan
    z = -1.0 + X[:, 0] - 0.5 * np.nan_to_num(X[:, 1], nan=0.3) + 0.25 * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X_new = rng.normal(size=(50, p))
    X_new[::7, 1] = np.nan
    with open(out / "rows_numeric.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(p)])
        for row in X_new:
            w.writerow(["" if np.isnan(v) else repr(float(v)) for v in row])
    lr = cr.LogisticRegression(C=0.5).fit(X[:1000], y[:1000])
    gb = cr.GradientBoostingClassifier(n_estimators=15, max_leaf_nodes=6, random_state=2).fit(
        X[:1000], y[:1000])
    iso = cr.IsotonicCalibrator().fit(gb.predict_proba(X[1000:])[:, 1], y[1000:])
    pipes = {
        "py_lr_nocal_noop": cr.Pipeline.from_estimators(lr, X_train=X[:1000], y_train=y[:1000]),
        "py_gbdt_isotonic_noop": cr.Pipeline.from_estimators(
            gb, iso, X_train=X[:1000], y_train=y[:1000]),
    }
    for name, pipe in pipes.items():
        pipe.save(str(out / f"{name}.json"))
        with open(out / f"{name}.scores.csv", "w") as f:
            f.write("risk\n")
            for row in X_new:
                f.write(repr(float(pipe.predict_proba_row(row))) + "\n")


if __name__ == "__main__":
    cli, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    cli_files(cli, out)
    python_files(out)
    print(f"golden files of calibrisk {cr.__version__} written to {out}")
