# SPDX-License-Identifier: Apache-2.0
"""Calibration peers: isotonic fit + transform (calibrisk vs scikit-learn IsotonicRegression with
out_of_bounds="clip") and Platt scaling (calibrisk vs sklearn.calibration._sigmoid_calibration),
on model-like scores with ties; multiclass temperature scaling and one-vs-rest sigmoid
(calibrisk vs scikit-learn's _TemperatureScaling / CalibratedClassifierCV internals). Quality
columns: max |difference| from scikit-learn's output.

Run as a script (`python benchmarks/peers/calibration.py --multiclass-quality`) it prints the
multiclass calibration comparison reported in docs/calibration.md: classwise / top-label ECE,
log loss and Brier of an uncalibrated 5-class model and of temperature, one-vs-rest and
Dirichlet calibration on held-out rows, with bootstrap intervals."""

import numpy as np

from compare import timed


def _scores(n, seed=42):
    rng = np.random.default_rng(seed)
    z = 1.5 * rng.standard_normal(n) - 1.0
    p = 1.0 / (1.0 + np.exp(-z))
    s = np.round(p * 1e6) / 1e6  # ties, as the scores of a tree model
    y = (rng.random(n) < p).astype(np.float64)
    return s, y


def run(quick):
    import calibrisk as cr
    from sklearn.calibration import _sigmoid_calibration
    from sklearn.isotonic import IsotonicRegression

    rows = []
    n = 200_000 if quick else 10_000_000
    s, y = _scores(n)
    repeat = 3 if quick else 1

    def ours_iso():
        return cr.IsotonicCalibrator().fit(s, y).predict(s)

    def sk_iso():
        return IsotonicRegression(out_of_bounds="clip").fit(s, y).predict(s)

    t_ours, p_ours = timed(ours_iso, repeat)
    t_sk, p_sk = timed(sk_iso, repeat)
    case = f"isotonic fit+transform n={n:,}"
    diff = float(np.max(np.abs(p_ours - p_sk)))
    rows.append({"area": "calibration", "case": case, "library": "calibrisk", "seconds": t_ours,
                 "max_abs_diff_vs_sklearn": diff})
    rows.append({"area": "calibration", "case": case, "library": "scikit-learn", "seconds": t_sk,
                 "max_abs_diff_vs_sklearn": 0.0})

    n_platt = 200_000 if quick else 1_000_000
    m = np.log(s[:n_platt].clip(1e-12, 1 - 1e-12) / (1 - s[:n_platt].clip(1e-12, 1 - 1e-12)))
    yp = y[:n_platt]

    def ours_platt():
        c = cr.PlattCalibrator().fit(m, yp)
        return c.a_, c.b_

    def sk_platt():
        A, B = _sigmoid_calibration(m, yp)
        return -A, -B

    t_ours, (a1, b1) = timed(ours_platt, repeat)
    t_sk, (a2, b2) = timed(sk_platt, repeat)
    case = f"Platt (sigmoid) fit n={n_platt:,}"
    d = float(max(abs(a1 - a2), abs(b1 - b2)))
    rows.append({"area": "calibration", "case": case, "library": "calibrisk", "seconds": t_ours,
                 "max_param_diff_vs_sklearn": d})
    rows.append({"area": "calibration", "case": case, "library": "scikit-learn", "seconds": t_sk,
                 "max_param_diff_vs_sklearn": 0.0})

    def ours_va():
        return cr.VennAbersCalibrator().fit(s[:n_platt], yp).predict_interval(s[:n_platt])

    t_va, _ = timed(ours_va, repeat)
    rows.append({"area": "calibration", "case": f"Venn-ABERS fit+predict n={n_platt:,}",
                 "library": "calibrisk", "seconds": t_va})
    rows += _multiclass_rows(quick, repeat)
    return rows


def _multiclass_scores(n, k, seed=7):
    """Over-confident logits of a K-class problem and labels from the true softmax."""
    rng = np.random.default_rng(seed)
    z = 1.5 * rng.standard_normal((n, k))
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    y = (q.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    return 2.5 * z, y


def _multiclass_rows(quick, repeat):
    import calibrisk as cr
    from sklearn.calibration import _TemperatureScaling

    n, k = (200_000 if quick else 1_000_000), 5
    z, y = _multiclass_scores(n, k)
    t_ours, p_ours = timed(lambda: cr.TemperatureScaling().fit(z, y).predict_proba(z), repeat)
    t_sk, p_sk = timed(lambda: _TemperatureScaling().fit(z, y).predict(z), repeat)
    case = f"temperature fit+predict n={n:,} K={k}"
    diff = float(np.max(np.abs(p_ours - p_sk)))
    rows = [{"area": "calibration", "case": case, "library": "calibrisk", "seconds": t_ours,
             "max_abs_diff_vs_sklearn": diff},
            {"area": "calibration", "case": case, "library": "scikit-learn", "seconds": t_sk,
             "max_abs_diff_vs_sklearn": 0.0}]
    t_dir, _ = timed(lambda: cr.DirichletCalibrator(input="margin").fit(z, y), repeat)
    rows.append({"area": "calibration", "case": f"Dirichlet fit n={n:,} K={k}",
                 "library": "calibrisk", "seconds": t_dir})
    return rows


def multiclass_quality(n=30_000, k=5, seed=0, n_replicates=200):
    """Held-out calibration of a miscalibrated 5-class model (Gaussian naive Bayes on correlated
    make_classification features): train / calibrate / test thirds. Returns rows of metrics."""
    import calibrisk as cr
    from calibrisk import metrics as M
    from sklearn.datasets import make_classification
    from sklearn.naive_bayes import GaussianNB

    X, y = make_classification(n_samples=n, n_features=20, n_informative=8, n_redundant=8,
                               n_classes=k, n_clusters_per_class=2, class_sep=1.0,
                               weights=[0.4, 0.25, 0.15, 0.12, 0.08], random_state=seed)
    third = n // 3
    tr, ca, te = slice(0, third), slice(third, 2 * third), slice(2 * third, n)
    model = GaussianNB().fit(X[tr], y[tr])
    P_ca, P_te = model.predict_proba(X[ca]), model.predict_proba(X[te])
    out = {"uncalibrated": P_te}
    for name, cal in [("temperature", cr.TemperatureScaling()),
                      ("one-vs-rest sigmoid", cr.OneVsRestCalibrator(method="sigmoid")),
                      ("one-vs-rest isotonic", cr.OneVsRestCalibrator(method="isotonic")),
                      ("Dirichlet (default ODIR)", cr.DirichletCalibrator())]:
        out[name] = cal.fit(P_ca, y[ca]).predict_proba(P_te)
    rows = []
    for name, P in out.items():
        P = np.clip(P, 0, 1)
        P /= P.sum(axis=1, keepdims=True)
        b = M.multiclass_bootstrap(y[te], P, ["classwise_ece", "top_label_ece"],
                                   n_replicates=n_replicates, random_state=seed)
        rows.append({"method": name,
                     "classwise_ece": b["classwise_ece"].point,
                     "classwise_ece_ci": (b["classwise_ece"].lower, b["classwise_ece"].upper),
                     "top_label_ece": b["top_label_ece"].point,
                     "log_loss": M.log_loss(y[te], P, labels=np.arange(k)),
                     "brier": M.brier_score_loss(y[te], P, labels=np.arange(k)),
                     "accuracy": float(np.mean(P.argmax(axis=1) == y[te]))})
    return rows


if __name__ == "__main__":
    import sys
    import time

    if "--multiclass-quality" in sys.argv:
        start = time.process_time()
        for r in multiclass_quality():
            lo, hi = r["classwise_ece_ci"]
            print(f"{r['method']:<26} classwise-ECE {r['classwise_ece']:.4f} [{lo:.4f}, {hi:.4f}]"
                  f"  top-label-ECE {r['top_label_ece']:.4f}  log-loss {r['log_loss']:.4f}"
                  f"  Brier {r['brier']:.4f}  accuracy {r['accuracy']:.4f}")
        print(f"CPU seconds: {time.process_time() - start:.1f}")
