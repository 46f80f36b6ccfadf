# SPDX-License-Identifier: Apache-2.0
"""Calibration peers: isotonic fit + transform (calibrisk vs scikit-learn IsotonicRegression with
out_of_bounds="clip") and Platt scaling (calibrisk vs sklearn.calibration._sigmoid_calibration),
on model-like scores with ties. Quality columns: max |difference| from scikit-learn's output."""

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
    return rows
